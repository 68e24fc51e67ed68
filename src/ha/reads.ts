import { classify, isTransient, ReadUnavailableError, refusesWrites } from './errors.ts';
import type { Link } from './links.ts';
import { pauseUntil, TimeoutError, withTimeout } from './timeouts.ts';

/** Between two last-chance reads on the master. */
const LAST_CHANCE_PAUSE_MS = 20;

export interface Read<T> {
  value: T;
  /**
   * True when a replica served the value: no master answered in time, or the master's connection
   * reached a replica (it answered READONLY).
   */
  fromReplica: boolean;
}

/**
 * A read: `readOnly` true means it must not write anything (no session renewal): it runs on a
 * replica, or on a master that refuses writes.
 */
export type ReadFn<C, T> = (r: C, readOnly: boolean) => Promise<T>;

export interface ReadOptions {
  /** How long the master may take before the read goes to a replica. */
  fallbackMs: number;
  /** How long a read waits for a master when no node answers now. */
  lastChanceMs: number;
  /** After a master refused a write inside a read, reads skip their writes for this long. */
  renewPauseMs: number;
  /** Called for each read a replica served (`redis_replica_reads_total`). */
  onReplicaRead?: () => void;
}

/**
 * Reads never fail while any Redis node answers them. The master serves them first; when it does
 * not answer within `fallbackMs` a replica does; a master that refuses writes (no replicas, full,
 * demoted) serves them without their write part. A write refused inside a read is never an error.
 */
export class FallbackReader<C> {
  private noWritesUntil = 0;

  constructor(
    private readonly master: Link<C>,
    private readonly replica: Link<C> | null,
    private readonly opts: ReadOptions,
    private readonly onError: (err: Error) => void = () => undefined,
  ) {}

  read<T>(fn: ReadFn<C, T>): Promise<Read<T>> {
    // The usual case, a ready master, without another async frame on every request.
    if (!this.master.ready()) return this.elsewhere(fn);
    const readOnly = this.noWritesUntil > Date.now();
    return this.on(this.master, fn, readOnly, this.opts.fallbackMs).then(
      (value) => ({ value, fromReplica: false }),
      (err: unknown) => this.afterMasterFailed(fn, err, readOnly),
    );
  }

  /** Skips the write part of reads for a while (the master refuses writes). */
  get writesSkipped(): boolean {
    return this.noWritesUntil > Date.now();
  }

  private async afterMasterFailed<T>(fn: ReadFn<C, T>, err: unknown, readOnly: boolean): Promise<Read<T>> {
    if (!readOnly && refusesWrites(err)) {
      // The master answers but refuses the renewal: read the same node without it, and keep doing
      // so for a while instead of paying a refused command on every request. READONLY is not a
      // master's refusal: the connection reached a replica (a node demoted, or started again as
      // a replica, before the connection moved on), whose answer is a replica's, possibly older
      // than the master's; the next read tries the write part again, and so finds out when the
      // connection reached the master.
      const replica = classify(err) === 'read-only';
      if (!replica) this.noWritesUntil = Date.now() + this.opts.renewPauseMs;
      try {
        return { value: await this.on(this.master, fn, true, this.opts.fallbackMs), fromReplica: replica };
      } catch (again) {
        err = again;
      }
    }
    if (!isTransient(err) && !(err instanceof TimeoutError)) throw err;
    this.onError(err as Error);
    return this.elsewhere(fn);
  }

  /** A read the master did not serve: a replica, or a master that answers again in time. */
  private async elsewhere<T>(fn: ReadFn<C, T>): Promise<Read<T>> {
    const replica = this.replica;
    if (replica?.ready()) {
      try {
        const value = await this.on(replica, fn, true, this.opts.fallbackMs * 2);
        this.opts.onReplicaRead?.();
        return { value, fromReplica: true };
      } catch (err) {
        if (!isTransient(err) && !(err instanceof TimeoutError)) throw err;
        this.onError(err as Error);
      }
    }
    // Neither answered: a last chance on the master (or what the connection finds as master next),
    // without the write part, which a new master without replicas yet would refuse. It lasts until
    // `lastChanceMs`, tried again while that allows: a request waits rather than fails while a
    // failover moves the connections (a planned one pauses the old master's writes first).
    const deadline = Date.now() + this.opts.lastChanceMs;
    while (await this.master.whenReady(deadline)) {
      const ms = Math.max(this.opts.fallbackMs, deadline - Date.now());
      try {
        return { value: await this.on(this.master, fn, true, ms), fromReplica: false };
      } catch (err) {
        if (!isTransient(err) && !(err instanceof TimeoutError)) throw err;
        this.onError(err as Error);
      }
      if (Date.now() >= deadline) break;
      await pauseUntil(LAST_CHANCE_PAUSE_MS, deadline);
    }
    throw new ReadUnavailableError('no Redis node answered the read');
  }

  private on<T>(link: Link<C>, fn: ReadFn<C, T>, readOnly: boolean, ms: number): Promise<T> {
    let attempt: Promise<T>;
    try {
      attempt = link.batch(() => fn(link.client, readOnly));
    } catch (err) {
      attempt = Promise.reject(err);
    }
    return withTimeout(attempt, ms);
  }
}
