import { Redis } from 'ioredis';
import { type NodeInfo, parseNodeInfo } from './info.ts';
import { askSentinel, type SentinelBelief } from './sentinel/belief.ts';
import { redisTlsOptions } from './tls.ts';

/**
 * Long-lived watchers of the nodes and Sentinels, for the topology page: a node's replication
 * state and memory, a Sentinel's belief and its events. The replies are parsed in info.ts and
 * sentinel/, as for every other reader.
 */

/** A short reason a watched node did not answer, for a person to read. */
export function whyDown(err: unknown): string {
  const e = err as { code?: string; message?: string };
  if (e?.code === 'ECONNREFUSED') return 'connection refused';
  if (e?.code === 'ECONNRESET') return 'connection reset';
  if (/timed? ?out/i.test(e?.message ?? '')) return 'no reply in time';
  if (/writeable|closed|not connected|max retries per request/i.test(e?.message ?? ''))
    return 'connection lost';
  return (e?.message ?? String(err)).slice(0, 80);
}

/** An ACL user and its password (without a user: `default`, e.g. a Sentinel's `requirepass`). */
export interface Login {
  username?: string | undefined;
  password: string | undefined;
}

/**
 * A watcher's connection: kept open between polls (a poll every half second should not pay for a
 * connect) and never queueing a command while disconnected. Before each command it waits for a
 * connection that is being made again, but no longer than the first failed attempt: Sentinel
 * disconnects every client of a node it reconfigures, which must not read as the node being down,
 * while a dead node must show as down at once.
 */
class WatchClient {
  readonly redis: Redis;
  private lastError: unknown;

  constructor(
    host: string,
    port: number,
    login: Login,
    private readonly timeoutMs: number,
  ) {
    this.redis = new Redis({
      host,
      port,
      username: login.username,
      password: login.password,
      connectionName: 'topology-watch',
      connectTimeout: timeoutMs,
      commandTimeout: timeoutMs,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: (attempt) => Math.min(50 * attempt, 250),
      ...redisTlsOptions(),
    });
    this.redis.on('error', (err) => {
      this.lastError = err;
    });
  }

  /** Runs `fn` once connected; throws the reason the node cannot be reached. */
  async run<T>(fn: (r: Redis) => Promise<T>): Promise<T> {
    const r = this.redis;
    if (r.status !== 'ready') {
      const ok = await new Promise<boolean>((resolve) => {
        const done = (v: boolean) => {
          clearTimeout(timer);
          r.off('ready', onReady);
          r.off('error', onError);
          resolve(v);
        };
        const onReady = () => done(true);
        const onError = () => done(false);
        const timer = setTimeout(() => done(false), this.timeoutMs);
        r.on('ready', onReady);
        r.on('error', onError);
      });
      if (!ok) throw new Error(this.lastError ? whyDown(this.lastError) : 'not connected');
    }
    try {
      return await fn(r);
    } catch (err) {
      throw new Error(whyDown(err));
    }
  }

  close(): void {
    this.redis.disconnect();
  }
}

/** Polls one Redis node's replication state and memory. */
export class NodeWatch {
  private readonly client: WatchClient;

  constructor(host: string, port: number, login: Login, timeoutMs: number) {
    this.client = new WatchClient(host, port, login, timeoutMs);
  }

  replication(): Promise<NodeInfo> {
    return this.client.run(async (r) =>
      parseNodeInfo((await r.call('INFO', 'replication', 'memory')) as string),
    );
  }

  /** Called when the connection to the node drops: the caller may want to look again at once. */
  onLost(fn: () => void): void {
    this.client.redis.on('close', fn);
  }

  close(): void {
    this.client.close();
  }
}

/** A Sentinel's belief about one master, and its event channels (`+sdown`, `+switch-master`, ...). */
export class SentinelWatch {
  private readonly client: WatchClient;
  private readonly events: Redis;

  constructor(
    host: string,
    port: number,
    login: Login,
    timeoutMs: number,
    onEvent: (type: string, message: string) => void,
  ) {
    this.client = new WatchClient(host, port, login, timeoutMs);
    this.events = new WatchClient(host, port, login, timeoutMs).redis;
    this.events.on('pmessage', (_pattern: string, channel: string, message: string) => {
      if (!channel.startsWith('__')) onEvent(channel, message);
    });
    // Commands are not queued while disconnected: subscribe on every (re)connection instead.
    this.events.on('ready', () => {
      this.events.psubscribe('*').catch(() => undefined);
    });
  }

  belief(masterName: string): Promise<SentinelBelief> {
    return this.client.run((r) => askSentinel(r, masterName));
  }

  close(): void {
    this.client.close();
    this.events.disconnect();
  }
}
