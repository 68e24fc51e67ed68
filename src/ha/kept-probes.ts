import { Redis } from 'ioredis';
import type { RedisLogin } from './probes.ts';
import { redisTlsOptions } from './tls.ts';

interface Kept {
  redis: Redis;
  login: string;
  ready: Promise<void>;
  /** Looks in a row that timed out on it. */
  timeouts: number;
}

/**
 * Looks in a row that may time out on a connection before it is dropped: over a lossy link one
 * packet lost makes a look late (its answer still comes, in order, to the abandoned command), and a
 * new connection would cost more round trips than waiting for it; a link that is gone fails them all.
 */
const TIMEOUTS_KEPT = 3;

/**
 * One kept connection per address for probes that look several times a second (the stale-master
 * guard: every Sentinel and node five times a second; `up`'s status line every second). A new
 * connection per look costs a TCP and, with TLS, a full handshake on both sides: on an idle stack
 * with TLS that was a tenth of the two cores. A connection is dropped at its first failure (a
 * refusal, an error, the login changed) or after TIMEOUTS_KEPT timeouts in a row, so the next look
 * after a fault starts on a fresh one: a connection left over from before a partition could wait
 * out TCP's retransmissions after the heal.
 */
export class KeptProbes {
  private readonly kept = new Map<string, Kept>();
  private closed = false;

  constructor(private readonly timeoutMs: number) {}

  /**
   * Runs `fn` on the kept connection to `host:port` (made, logged in as `login`, when there is none).
   * `prepare` runs once on each connection made, before its first look; its failure is its own
   * (it rejects nothing but `prepare`'s promise, which the caller handles): the look goes on.
   */
  async use<T>(
    host: string,
    port: number,
    login: RedisLogin,
    fn: (r: Redis) => Promise<T>,
    prepare?: (r: Redis) => Promise<void>,
  ): Promise<T> {
    if (this.closed) throw new Error('the probes are closed');
    const key = `${host}:${port}`;
    const who = `${login.username ?? ''}\n${login.password ?? ''}`;
    let k = this.kept.get(key);
    if (k && (k.login !== who || k.redis.status === 'end' || k.redis.status === 'close')) {
      this.drop(key, k);
      k = undefined;
    }
    if (!k) {
      const redis = new Redis({
        host,
        port,
        username: login.username,
        password: login.password,
        lazyConnect: true,
        connectTimeout: this.timeoutMs,
        commandTimeout: this.timeoutMs,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        enableOfflineQueue: false,
        ...redisTlsOptions(),
      });
      redis.on('error', () => undefined);
      const ready = redis.connect().then(() => prepare?.(redis).catch(() => undefined));
      k = { redis, login: who, ready, timeouts: 0 };
      this.kept.set(key, k);
    }
    const current = k;
    try {
      await current.ready;
      const value = await fn(current.redis);
      current.timeouts = 0;
      return value;
    } catch (err) {
      const late = err instanceof Error && err.message === 'Command timed out';
      if (!late || current.redis.status !== 'ready' || ++current.timeouts >= TIMEOUTS_KEPT)
        this.drop(key, current);
      throw err;
    }
  }

  /** Closes every kept connection; later looks are refused. */
  close(): void {
    this.closed = true;
    for (const [key, k] of this.kept) this.drop(key, k);
  }

  /** How many connections are kept (for tests). */
  get size(): number {
    return this.kept.size;
  }

  private drop(key: string, k: Kept): void {
    if (this.kept.get(key) === k) this.kept.delete(key);
    k.redis.disconnect();
  }
}
