import { Redis } from 'ioredis';
import type { RedisLogin } from '../../ha/probes.ts';
import { redisTlsOptions } from '../../ha/tls.ts';

/**
 * The connections a host's guard keeps to other hosts' masters (those its replicas follow), over
 * which it sends them the write fence (demoter.ts, `fenceUpstreams`). Made while all is well,
 * reconnected in the background, never dropped for a slow answer: over a capped or lossy link a
 * command on a made connection gets in at once (only the answer crawls out), where a new TCP and
 * TLS handshake takes seconds, and the looks' own connections are dropped after a few late
 * answers. Sending never waits for a connection: one that is not ready fails at once.
 */
export class FenceLines {
  private readonly lines = new Map<string, { redis: Redis; who: string; lastError?: string }>();
  private closed = false;

  /** `commandTimeoutMs`: how long a send waits for its answer (the command has gone out anyway). */
  constructor(private readonly commandTimeoutMs: number) {}

  /** Makes the line to `host:port` if there is none (or its login changed). */
  keep(host: string, port: number, login: RedisLogin): void {
    if (this.closed) return;
    const key = `${host}:${port}`;
    const who = `${login.username ?? ''}\n${login.password ?? ''}`;
    const line = this.lines.get(key);
    if (line && line.who === who && line.redis.status !== 'end') return;
    line?.redis.disconnect();
    const redis = new Redis({
      host,
      port,
      username: login.username,
      password: login.password,
      connectTimeout: 10_000,
      commandTimeout: this.commandTimeoutMs,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: (times) => Math.min(times * 200, 2000),
      ...redisTlsOptions(),
    });
    const made: { redis: Redis; who: string; lastError?: string } = { redis, who };
    redis.on('error', (err: Error) => {
      made.lastError = err.message;
    });
    this.lines.set(key, made);
  }

  /** Lets go of every line but those to `wanted` (host:port). */
  only(wanted: ReadonlySet<string>): void {
    for (const [key, line] of this.lines)
      if (!wanted.has(key)) {
        line.redis.disconnect();
        this.lines.delete(key);
      }
  }

  /** Sends a command on the line to `host:port`; fails at once when it is not connected. */
  async send(host: string, port: number, args: readonly string[]): Promise<unknown> {
    const line = this.lines.get(`${host}:${port}`);
    if (line?.redis.status !== 'ready')
      throw new Error(
        `no connection to ${host}:${port} (${line?.redis.status ?? 'none made'}${line?.lastError ? `; last error: ${line.lastError}` : ''})`,
      );
    const [command, ...rest] = args;
    return line.redis.call(command!, ...rest);
  }

  /** How many lines are kept (for tests). */
  get size(): number {
    return this.lines.size;
  }

  close(): void {
    this.closed = true;
    for (const line of this.lines.values()) line.redis.disconnect();
    this.lines.clear();
  }
}
