import { Redis } from 'ioredis';
import { parseInfo } from '../../ha/info.ts';
import type { RedisLogin } from '../../ha/probes.ts';
import { redisTlsOptions } from '../../ha/tls.ts';

/**
 * Commands that are not caused by requests: Sentinel's and the replicas' own traffic (PING, INFO,
 * PUBLISH of hello messages, REPLCONF), HAProxy's master check (AUTH, PING, INFO, QUIT), the apps'
 * readiness pings and this benchmark's own INFO and CLIENT LIST.
 */
const BACKGROUND = new Set([
  'ping',
  'info',
  'publish',
  'replconf',
  'psync',
  'sync',
  'auth',
  'quit',
  'client',
  'hello',
  'subscribe',
  'role',
  'config',
  'command',
]);

export interface RedisSnapshot {
  calls: Map<string, number>;
  /** Microseconds spent executing each command (commandstats' usec). */
  usec: Map<string, number>;
  /** Milliseconds of CPU the active expiry cycle took (INFO stats). */
  expireCycleMs: number;
  connectionsReceived: number;
  /** Ids of the connections open now, by client name. */
  clients: Map<number, string>;
  cpuS: number;
}

export interface RedisDelta {
  /** Commands per request by command name (background commands left out). */
  commandsPerRequest: number;
  byCommand: Record<string, number>;
  /** Connections the master accepted during the run, from anyone (HAProxy's checks open one a second). */
  connectionsOpened: number;
  /** Long-lived connections that appeared during the run, named by the client that made them (app-1:master, ...). */
  newClientConnections: string[];
  redisCpuS: number;
  /** Microseconds a request's commands took to execute, Redis's own time (commandstats' usec), without reading, parsing, replying, AOF and replication. */
  commandUsPerRequest: number;
  /** CPU milliseconds of the master's active expiry cycle during the run. */
  expireCycleMs: number;
}

/** A connection to the master kept for the whole benchmark, so that it is not itself a new connection. */
export class RedisStats {
  private constructor(private readonly r: Redis) {}

  static async open(host: string, port: number, login: RedisLogin): Promise<RedisStats> {
    const { username, password } = login;
    const r = new Redis({
      host,
      port,
      username,
      password,
      connectionName: 'bench-stats',
      lazyConnect: true,
      ...redisTlsOptions(),
    });
    r.on('error', () => undefined);
    await r.connect();
    return new RedisStats(r);
  }

  async snapshot(): Promise<RedisSnapshot> {
    const [commandstats, stats, cpu, list] = (await Promise.all([
      this.r.info('commandstats'),
      this.r.info('stats'),
      this.r.info('cpu'),
      this.r.call('CLIENT', 'LIST', 'TYPE', 'normal'),
    ])) as [string, string, string, string];
    const calls = new Map<string, number>();
    const usec = new Map<string, number>();
    for (const [k, v] of Object.entries(parseInfo(commandstats))) {
      const m = /^calls=(\d+),usec=(\d+)/.exec(v);
      if (!k.startsWith('cmdstat_') || !m) continue;
      calls.set(k.slice('cmdstat_'.length), Number(m[1]));
      usec.set(k.slice('cmdstat_'.length), Number(m[2]));
    }
    const clients = new Map<number, string>();
    for (const line of list.split('\n')) {
      const id = /(?:^|\s)id=(\d+)/.exec(line);
      const name = /(?:^|\s)name=(\S*)/.exec(line);
      if (id) clients.set(Number(id[1]), name?.[1] ?? '');
    }
    const c = parseInfo(cpu);
    const st = parseInfo(stats);
    return {
      calls,
      usec,
      expireCycleMs: Number(st['expire_cycle_cpu_milliseconds'] ?? 0),
      connectionsReceived: Number(st['total_connections_received'] ?? 0),
      clients,
      cpuS: Number(c['used_cpu_sys'] ?? 0) + Number(c['used_cpu_user'] ?? 0),
    };
  }

  static delta(before: RedisSnapshot, after: RedisSnapshot, requests: number): RedisDelta {
    const byCommand: Record<string, number> = {};
    let total = 0;
    let usec = 0;
    for (const [name, n] of after.calls) {
      const d = n - (before.calls.get(name) ?? 0);
      if (d <= 0 || BACKGROUND.has(name.split('|')[0]!)) continue;
      byCommand[name] = round(d / Math.max(1, requests), 3);
      total += d;
      usec += (after.usec.get(name) ?? 0) - (before.usec.get(name) ?? 0);
    }
    const newClientConnections = [...after.clients]
      .filter(([id, name]) => !before.clients.has(id) && name !== '' && !name.startsWith('sentinel-'))
      .map(([, name]) => name);
    return {
      commandsPerRequest: round(total / Math.max(1, requests), 3),
      byCommand,
      connectionsOpened: after.connectionsReceived - before.connectionsReceived,
      newClientConnections,
      redisCpuS: round(after.cpuS - before.cpuS, 2),
      commandUsPerRequest: round(usec / Math.max(1, requests), 1),
      expireCycleMs: after.expireCycleMs - before.expireCycleMs,
    };
  }

  close(): void {
    this.r.disconnect();
  }
}

export function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
