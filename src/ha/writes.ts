import type { ClientGone } from './client-scope.ts';
import {
  classify,
  NoMasterError,
  NotConfirmedError,
  NotEnoughReplicasError,
  StoreFullError,
  UnavailableError,
} from './errors.ts';
import type { MasterLink } from './links.ts';
import { pauseUntil } from './timeouts.ts';

export interface WriteOptions {
  /** Replicas that must confirm a write (WAIT n); 0 acknowledges at once. */
  waitReplicas: number;
  waitTimeoutMs: number;
  /** How long a write may wait for a (new) master. */
  deadlineMs: number;
  /**
   * How long a master may refuse writes for want of replicas before the layer stops retrying:
   * a new master refuses them for a moment while its replicas attach; past this, the stack is in
   * its read-only mode and writes are answered at once.
   */
  noReplicaGraceMs: number;
}

/** The pause before attempt `n` + 1: quick for a while (a new master's replicas attach in milliseconds), then backing off. */
export function retryPause(attempt: number): number {
  return attempt < 20 ? 5 : Math.min(10 * (attempt - 19), 100);
}

/**
 * Durable writes: a write is acknowledged only once `waitReplicas` replicas confirmed it, with one
 * WAIT shared by every write of the same event-loop turn (a group commit: commands on one
 * connection run in order, so a WAIT sent after a write covers it). A write interrupted by a
 * failover is run again on the new master until its deadline.
 */
export class DurableWriter<C> {
  private pendingWait: Promise<{ acks: number; epoch: number }> | null = null;
  /** Since when (and in which epoch) the master has refused writes for want of replicas. */
  private refusing: { since: number; epoch: number } | null = null;

  constructor(
    private readonly master: MasterLink<C>,
    private readonly opts: WriteOptions,
    private readonly onError: (err: Error) => void = () => undefined,
  ) {}

  /** True while the master has been refusing writes for want of replicas for longer than the grace. */
  get refusingWrites(): boolean {
    const r = this.refusing;
    return r !== null && r.epoch === this.master.epoch() && Date.now() - r.since > this.opts.noReplicaGraceMs;
  }

  private groupWait(): Promise<{ acks: number; epoch: number }> {
    if (!this.pendingWait) {
      this.pendingWait = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
        this.pendingWait = null;
        const epoch = this.master.epoch();
        const acks = await this.master.wait(this.opts.waitReplicas, this.opts.waitTimeoutMs);
        return { acks, epoch };
      });
    }
    return this.pendingWait;
  }

  /**
   * Runs `fn` against the master and resolves once `waitReplicas` replicas confirmed it. `fn` must
   * be safe to run again (absolute values, or a check that recognises its own earlier write).
   */
  write<T>(fn: (r: C) => Promise<T>, deadlineMs = this.opts.deadlineMs, gone?: ClientGone): Promise<T> {
    return this.attempts(fn, deadlineMs, true, gone);
  }

  /** A write that needs no replica confirmation (counters whose loss is harmless), same deadline rules. */
  fastWrite<T>(fn: (r: C) => Promise<T>, deadlineMs = this.opts.deadlineMs): Promise<T> {
    return this.attempts(fn, deadlineMs, false);
  }

  private async attempts<T>(
    fn: (r: C) => Promise<T>,
    deadlineMs: number,
    durable: boolean,
    gone?: ClientGone,
  ): Promise<T> {
    const deadline = Date.now() + deadlineMs;
    let lastError: Error | undefined;
    for (let attempt = 0; ; attempt++) {
      if (!(await this.master.whenReady(deadline))) break;
      // A retry only while someone waits for it (client-scope.ts): never after its client left.
      if (attempt > 0 && gone?.())
        throw new NoMasterError(`the write was not run again: its client left (${lastError?.message})`, 1);
      const epoch = this.master.epoch();
      try {
        const value = await fn(this.master.client);
        this.refusing = null;
        if (!durable || this.opts.waitReplicas === 0) return value;
        const confirmed = await this.groupWait();
        if (confirmed.epoch === epoch && confirmed.acks >= this.opts.waitReplicas) return value;
        throw new NotConfirmedError(this.opts.waitReplicas);
      } catch (err) {
        lastError = this.judge(err, epoch);
      }
      this.onError(lastError);
      if (Date.now() >= deadline) break;
      await pauseUntil(retryPause(attempt), deadline);
    }
    if (this.refusingWrites) throw new NotEnoughReplicasError();
    throw new NoMasterError(
      `no durable write within ${deadlineMs} ms: ${lastError?.message ?? 'no master reachable'}`,
      1,
    );
  }

  /** Throws what must not be retried; returns what may be. */
  private judge(err: unknown, epoch: number): Error {
    const kind = classify(err);
    if (kind === 'full') throw new StoreFullError();
    if (kind === 'refused')
      throw new UnavailableError(`the store refuses writes: ${(err as Error).message}`, 5);
    if (kind === 'fatal') throw err;
    if (kind === 'late') throw new NoMasterError(`the write was not made: ${(err as Error).message}`, 1);
    if (kind === 'no-replicas') {
      // Each write still tries once (a refusal costs one round trip), so the first write after a
      // replica came back succeeds; past the grace a refusal is answered at once.
      if (this.refusing?.epoch !== epoch) this.refusing = { since: Date.now(), epoch };
      if (this.refusingWrites) throw new NotEnoughReplicasError();
    }
    return err instanceof Error ? err : new Error(String(err));
  }
}
