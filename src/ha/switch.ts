import { Redis } from 'ioredis';
import type { RedisConfig } from '../config/index.ts';
import { redisTlsOptions } from './tls.ts';

export interface Switch {
  host: string;
  port: number;
  /** The Sentinel that announced it, as the configuration names it (SwitchWatcher). */
  from?: { host: string; port: number };
}

/** Parses a `+switch-master` message: `<name> <old-ip> <old-port> <new-ip> <new-port>`. */
export function parseSwitch(message: string, masterName: string): Switch | null {
  const [name, , , host, port] = message.split(' ');
  if (name !== masterName || !host || !port || !/^\d+$/.test(port)) return null;
  return { host, port: Number(port) };
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
        if (to) onSwitch({ ...to, from: s });
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
