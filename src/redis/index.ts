import type { Redis } from 'ioredis';
import type { RedisConfig } from '../config/index.ts';
import { createClient, together } from './clients.ts';
import { isTransient, NoMasterError, ReadUnavailableError, StoreFullError } from './errors.ts';
import { type Switch, SwitchWatcher } from './switch.ts';

export type { Redis } from 'ioredis';
export { NoMasterError, ReadUnavailableError, StoreFullError } from './errors.ts';

export interface Read<T> {
  value: T;
  /** True when the value came from a replica because no master answered in time. */
  fromReplica: boolean;
}

export interface LayerEvents {
  onError?: (where: 'master' | 'replica' | 'write' | 'read', err: Error) => void;
  onMasterChange?: (addr: string) => void;
}

/**
 * The only place that knows about Sentinel, WAIT and replica reads.
 * Callers ask for a durable write or a read that may be served by a replica.
 */
export class RedisLayer {
  readonly master: Redis;
  readonly replica: Redis | null;
  /** Increases whenever the master connection closes or opens: a WAIT only confirms writes of its own epoch. */
  private epoch = 0;
  private pendingWait: Promise<{ acks: number; epoch: number }> | null = null;
  private closed = false;

  constructor(
    private readonly config: RedisConfig,
    name: string,
    private readonly events: LayerEvents = {},
  ) {
    this.master = createClient(config, 'master', `${name}:master`);
    this.replica =
      config.target.kind === 'sentinel' ? createClient(config, 'replica', `${name}:replica`) : null;
    const bump = () => {
      this.epoch++;
    };
    this.master.on('close', bump);
    this.master.on('ready', () => {
      bump();
      const peer = remoteOf(this.master);
      this.events.onMasterChange?.(`${peer.host ?? '?'}:${peer.port ?? '?'}`);
    });
    this.master.on('error', (err: Error) => this.events.onError?.('master', err));
    this.replica?.on('error', (err: Error) => this.events.onError?.('replica', err));
    for (const client of [this.master, this.replica]) if (client) this.keepConnecting(client);
    this.watcher = SwitchWatcher.forConfig(config, (to) => this.onSwitch(to));
  }

  private readonly watcher: SwitchWatcher;

  /**
   * Sentinel moved the master: leave a master connection that is already there and drop one to
   * elsewhere; move a replica connection off the node that was just promoted (degraded reads must
   * not depend on the master they stand in for).
   */
  private onSwitch(to: Switch): void {
    if (this.closed) return;
    const at = (client: Redis) => {
      const peer = remoteOf(client);
      return peer.port === to.port && peer.host === to.host;
    };
    // A client that is not ready is reconnecting and asks the Sentinels anyway.
    if (this.master.status === 'ready' && !at(this.master)) drop(this.master);
    if (this.replica?.status === 'ready' && at(this.replica)) drop(this.replica);
  }

  /**
   * ioredis gives up for good ('end') when its Sentinel connector is interrupted while it asks a
   * Sentinel for the master, which is what its failover detector does on +switch-master during
   * a reconnect. The layer never wants a client to give up while it is open: start it again.
   */
  private keepConnecting(client: Redis): void {
    client.on('end', () => {
      if (this.closed) return;
      // At once: this happens right when Sentinel has named the new master.
      setImmediate(() => {
        if (!this.closed && client.status === 'end') client.connect().catch(() => undefined);
      });
    });
  }

  get status(): { master: string; replica: string | null } {
    return { master: this.master.status, replica: this.replica?.status ?? null };
  }

  /** Resolves true once the master connection is ready, false at the deadline. */
  private masterReady(deadline: number): Promise<boolean> {
    if (this.master.status === 'ready') return Promise.resolve(true);
    const left = deadline - Date.now();
    if (left <= 0 || this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.master.off('ready', onReady);
        resolve(ok);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), left);
      this.master.on('ready', onReady);
    });
  }

  /**
   * One WAIT shared by every write that completed in the same event-loop turn (a group commit):
   * commands on one connection run in order, so a WAIT sent after a write covers it.
   */
  private groupWait(): Promise<{ acks: number; epoch: number }> {
    if (!this.pendingWait) {
      this.pendingWait = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
        this.pendingWait = null;
        const epoch = this.epoch;
        const acks = (await this.master.call(
          'WAIT',
          String(this.config.waitReplicas),
          String(this.config.waitTimeoutMs),
        )) as number;
        return { acks, epoch };
      });
    }
    return this.pendingWait;
  }

  /**
   * Runs `fn` against the master and acknowledges only once `waitReplicas` replicas confirmed it.
   * `fn` must be safe to run again (absolute values, or a check that recognises its own earlier write):
   * it is retried on the new master until the deadline when a failover interrupts it.
   */
  async write<T>(fn: (r: Redis) => Promise<T>, deadlineMs = this.config.writeDeadlineMs): Promise<T> {
    const deadline = Date.now() + deadlineMs;
    let lastError: unknown;
    for (let attempt = 0; ; attempt++) {
      if (!(await this.masterReady(deadline))) break;
      const epoch = this.epoch;
      try {
        const value = await fn(this.master);
        if (this.config.waitReplicas === 0) return value;
        const confirmed = await this.groupWait();
        if (confirmed.epoch === epoch && confirmed.acks >= this.config.waitReplicas) return value;
        lastError = new Error(`write not confirmed by ${this.config.waitReplicas} replica(s)`);
      } catch (err) {
        if (err instanceof Error && /OOM/.test(err.message)) throw new StoreFullError();
        if (!isTransient(err)) throw err;
        lastError = err;
      }
      this.events.onError?.('write', lastError instanceof Error ? lastError : new Error(String(lastError)));
      if (Date.now() >= deadline) break;
      // A failed attempt on a ready connection: typically a new master whose replicas are still
      // attaching (NOREPLICAS), which takes milliseconds. Try again quickly for a while, then back off.
      const pause = attempt < 20 ? 5 : Math.min(10 * (attempt - 19), 100);
      await new Promise((r) => setTimeout(r, Math.min(pause, Math.max(0, deadline - Date.now()))));
    }
    const why = lastError instanceof Error ? lastError.message : 'no master reachable';
    throw new NoMasterError(`no durable write within ${deadlineMs} ms: ${why}`, 1);
  }

  /** A write that needs no replica confirmation (counters whose loss is harmless), with the same deadline rules. */
  async fastWrite<T>(fn: (r: Redis) => Promise<T>, deadlineMs = this.config.writeDeadlineMs): Promise<T> {
    const deadline = Date.now() + deadlineMs;
    let lastError: unknown;
    while (await this.masterReady(deadline)) {
      try {
        return await fn(this.master);
      } catch (err) {
        if (!isTransient(err)) throw err;
        lastError = err;
        if (Date.now() >= deadline) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new NoMasterError(`no master within ${deadlineMs} ms: ${String(lastError ?? 'unreachable')}`, 1);
  }

  /**
   * Reads from the master; when the master is not connected or does not answer within
   * `readFallbackMs`, reads from a replica instead (the value may lag the master).
   */
  read<T>(fn: (r: Redis, onReplica: boolean) => Promise<T>): Promise<Read<T>> {
    // The usual case, a ready master, without another async frame on every request.
    if (this.master.status !== 'ready') return this.readElsewhere(fn);
    let attempt: Promise<T>;
    try {
      // Commands of one read (a page view sends two) leave in one write.
      attempt = together(this.master, () => fn(this.master, false));
    } catch (err) {
      attempt = Promise.reject(err);
    }
    return withTimeout(attempt, this.config.readFallbackMs).then(
      (value) => ({ value, fromReplica: false }),
      (err: unknown) => {
        if (!isTransient(err) && !(err instanceof TimeoutError)) throw err;
        this.events.onError?.('read', err as Error);
        return this.readElsewhere(fn);
      },
    );
  }

  /** A read the master did not serve: a replica, or a master that comes back in time. */
  private async readElsewhere<T>(fn: (r: Redis, onReplica: boolean) => Promise<T>): Promise<Read<T>> {
    const replica = this.replica;
    if (replica && replica.status === 'ready') {
      try {
        return {
          value: await withTimeout(
            together(replica, () => fn(replica, true)),
            this.config.readFallbackMs * 2,
          ),
          fromReplica: true,
        };
      } catch (err) {
        if (!isTransient(err) && !(err instanceof TimeoutError)) throw err;
        this.events.onError?.('read', err as Error);
      }
    }
    // Neither answered: one last chance for a master that comes back within the write deadline.
    if (await this.masterReady(Date.now() + this.config.writeDeadlineMs)) {
      try {
        return {
          value: await withTimeout(
            together(this.master, () => fn(this.master, false)),
            this.config.readFallbackMs,
          ),
          fromReplica: false,
        };
      } catch (err) {
        if (!isTransient(err) && !(err instanceof TimeoutError)) throw err;
      }
    }
    throw new ReadUnavailableError('no Redis node answered the read');
  }

  /** True when the master answers PING within the given time. */
  async ping(timeoutMs = 500): Promise<boolean> {
    return this.pingClient(this.master, timeoutMs);
  }

  private async pingClient(client: Redis | null, timeoutMs: number): Promise<boolean> {
    if (client?.status !== 'ready') return false;
    try {
      return (await withTimeout(client.ping(), timeoutMs)) === 'PONG';
    } catch {
      return false;
    }
  }

  /**
   * What this instance can serve now: 'master' (everything), 'replica' (reads; writes wait for a
   * master up to the write deadline, then answer 503 with Retry-After), or 'none'.
   */
  async health(timeoutMs = 500): Promise<'master' | 'replica' | 'none'> {
    if (await this.pingClient(this.master, timeoutMs)) {
      return 'master';
    }
    if (await this.pingClient(this.replica, timeoutMs)) return 'replica';
    return 'none';
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.watcher.close();
    await Promise.all(
      [this.master, this.replica].map(async (c) => {
        if (!c) return;
        try {
          await withTimeout(c.quit(), 500);
        } catch {
          c.disconnect();
        }
      }),
    );
  }
}

export class TimeoutError extends Error {
  constructor(ms: number) {
    super(`Command timed out after ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

/** `p`, or a TimeoutError after `ms`; one promise and one timer (this runs on every read). */
function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new TimeoutError(ms)), ms);
    p.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

interface Socketish {
  remoteAddress?: string;
  remotePort?: number;
  destroy(): void;
}

/** The socket of a client (ioredis keeps it as `stream`). */
function socketOf(client: Redis): Socketish | undefined {
  return (client as unknown as { stream?: Socketish }).stream;
}

function remoteOf(client: Redis): { host: string | undefined; port: number | undefined } {
  const stream = socketOf(client);
  return { host: stream?.remoteAddress, port: stream?.remotePort };
}

/**
 * Closes a client's connection at once so that it reconnects through the Sentinels. (ioredis's
 * disconnect(true) ends the socket politely and then waits for the peer to close its side, which a
 * paused or cut-off node never does.)
 */
function drop(client: Redis): void {
  socketOf(client)?.destroy();
}
