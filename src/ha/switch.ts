import { Redis } from 'ioredis';
import type { RedisConfig } from '../config/index.ts';
import { redisTlsOptions } from './tls.ts';

export interface Switch {
  host: string;
  port: number;
  /** Where the master was (absent when the message does not say it plainly). */
  from?: { host: string; port: number };
}

/** Parses a `+switch-master` message: `<name> <old-ip> <old-port> <new-ip> <new-port>`. */
export function parseSwitch(message: string, masterName: string): Switch | null {
  const [name, oldHost, oldPort, host, port] = message.split(' ');
  if (name !== masterName || !host || !port || !/^\d+$/.test(port)) return null;
  const from =
    oldHost && oldPort && /^\d+$/.test(oldPort) ? { host: oldHost, port: Number(oldPort) } : undefined;
  return { host, port: Number(port), ...(from ? { from } : {}) };
}

/** How long after a switch the old master's address is read as the new one's (LatestSwitch). */
export const REDIRECT_MS = 10_000;

/**
 * The latest switch any Sentinel announced, for the master's connector: ioredis connects to the
 * master named by the first Sentinel that answers, and one that has not heard of the switch yet
 * (the failover's leader announces it only when the whole failover ends, a second after the
 * others) still names the old master, dead or cut off: another second or more of failed writes.
 * For REDIRECT_MS after a switch (which a fail-back would replace), that old address is read as
 * the new one.
 */
export class LatestSwitch {
  private last: { from: string; to: { host: string; port: number }; at: number } | null = null;

  constructor(
    private readonly forMs = REDIRECT_MS,
    private readonly now: () => number = Date.now,
  ) {}

  see(s: Switch): void {
    this.last = s.from
      ? { from: `${s.from.host}:${s.from.port}`, to: { host: s.host, port: s.port }, at: this.now() }
      : null;
  }

  /** ioredis's `natMap`: the new master for the old one's `host:port`; null keeps the answer as given. */
  redirect(address: string): { host: string; port: number } | null {
    const l = this.last;
    if (!l || address !== l.from || this.now() - l.at > this.forMs) return null;
    return { ...l.to };
  }
}

/**
 * Listens to `+switch-master` on every Sentinel. Unlike ioredis's own failover detector it reports
 * where the master went, so a client already connected there is left alone: the Sentinels that
 * learn of a failover last (the leader announces it when the whole failover ends, a second later)
 * would otherwise cut a connection to the new master that was just made.
 */
export interface WatchOptions {
  sentinels: { host: string; port: number }[];
  masterName: string;
  sentinelUsername?: string | undefined;
  sentinelPassword?: string | undefined;
  connectTimeoutMs?: number;
  /**
   * A subscription that fails (connecting, authenticating, subscribing): every error, with `first`
   * true for the first one since the subscription last worked (worth a log line; the others repeat it
   * at each retry).
   */
  onError?: (sentinel: string, err: Error, first: boolean) => void;
}

export class SwitchWatcher {
  private readonly subscribers: Redis[];

  constructor(opts: WatchOptions, onSwitch: (to: Switch) => void) {
    this.subscribers = opts.sentinels.map((s) => {
      const sub = new Redis({
        host: s.host,
        port: s.port,
        username: opts.sentinelUsername,
        password: opts.sentinelPassword,
        connectionName: 'switch-watcher',
        connectTimeout: opts.connectTimeoutMs ?? 1000,
        retryStrategy: () => 200 + Math.round(Math.random() * 100),
        maxRetriesPerRequest: null,
        lazyConnect: false,
        ...redisTlsOptions(),
      });
      const where = `${s.host}:${s.port}`;
      let failing = false;
      const failed = (err: Error) => {
        opts.onError?.(where, err, !failing);
        failing = true;
      };
      sub.on('error', failed);
      // Subscribed again by ioredis after each reconnection; a failure to subscribe counts too.
      sub.on('ready', () => {
        failing = false;
      });
      sub.subscribe('+switch-master').catch(failed);
      sub.on('message', (_channel: string, message: string) => {
        const to = parseSwitch(message, opts.masterName);
        if (to) onSwitch(to);
      });
      return sub;
    });
  }

  /** Watches the Sentinels of a layer's configuration (none without Sentinel). */
  static forConfig(
    config: RedisConfig,
    onSwitch: (to: Switch) => void,
    onError?: WatchOptions['onError'],
  ): SwitchWatcher {
    const t = config.target;
    return new SwitchWatcher(
      t.kind === 'sentinel'
        ? {
            sentinels: t.sentinels,
            masterName: t.masterName,
            sentinelUsername: config.sentinelUsername,
            sentinelPassword: config.sentinelPassword,
            connectTimeoutMs: config.connectTimeoutMs,
            onError,
          }
        : { sentinels: [], masterName: '' },
      onSwitch,
    );
  }

  close(): void {
    for (const s of this.subscribers) s.disconnect();
  }
}
