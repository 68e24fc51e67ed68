import { integer, reader } from '../config/settings.ts';
import { ConfigError } from '../config/types.ts';

/**
 * The topology as data: one description that the local supervisor and the compose renderer share,
 * so the two ways to run the stack cannot drift apart.
 */
export interface RedisNode {
  name: string;
  host: string;
  port: number;
  /** Role at first start; Sentinel decides afterwards. */
  initialRole: 'master' | 'replica';
}

export interface SentinelNode {
  name: string;
  host: string;
  port: number;
}

export interface AppNode {
  name: string;
  host: string;
  port: number;
}

export interface Topology {
  masterName: string;
  quorum: number;
  downAfterMs: number;
  failoverTimeoutMs: number;
  parallelSyncs: number;
  /** Every Redis node's `maxmemory` (Redis syntax: 256mb, 1gb); full, a node refuses writes. */
  maxMemory: string;
  redis: RedisNode[];
  sentinels: SentinelNode[];
  apps: AppNode[];
  haproxy: { host: string; httpPort: number; statsPort: number; redisPort: number };
}

/** Every port, with the environment variable that moves it (named in "port in use" messages). */
export const PORT_VARIABLES = {
  'redis-1': 'REDIS_1_PORT',
  'redis-2': 'REDIS_2_PORT',
  'redis-3': 'REDIS_3_PORT',
  'sentinel-1': 'SENTINEL_1_PORT',
  'sentinel-2': 'SENTINEL_2_PORT',
  'sentinel-3': 'SENTINEL_3_PORT',
  'app-1': 'APP_1_PORT',
  'app-2': 'APP_2_PORT',
  'haproxy-http': 'HAPROXY_HTTP_PORT',
  'haproxy-stats': 'HAPROXY_STATS_PORT',
  'haproxy-redis': 'HAPROXY_REDIS_PORT',
} as const;

export type PortName = keyof typeof PORT_VARIABLES;

export const DEFAULT_PORTS: Record<PortName, number> = {
  'redis-1': 6380,
  'redis-2': 6381,
  'redis-3': 6382,
  'sentinel-1': 26380,
  'sentinel-2': 26381,
  'sentinel-3': 26382,
  'app-1': 3001,
  'app-2': 3002,
  'haproxy-http': 8080,
  'haproxy-stats': 8404,
  'haproxy-redis': 6379,
};

/**
 * Locally each Redis node and each Sentinel has an address of its own on the loopback network
 * (all of 127.0.0.0/8 is local on Linux) and connects out from it (`bind-source-addr`): a packet
 * filter can then cut one node off from the others while clients still reach it, as a real network
 * partition would. Apps and HAProxy stay on 127.0.0.1.
 */
export const LOCAL_ADDRESSES: Record<string, string> = {
  'redis-1': '127.0.0.11',
  'redis-2': '127.0.0.12',
  'redis-3': '127.0.0.13',
  'sentinel-1': '127.0.0.21',
  'sentinel-2': '127.0.0.22',
  'sentinel-3': '127.0.0.23',
};

export interface TopologyOptions {
  ports?: Partial<Record<PortName, number>>;
  /** Host of each node by name; defaults to `host`, else the node's own loopback address (LOCAL_ADDRESSES). */
  hosts?: Partial<Record<string, string>>;
  host?: string;
  downAfterMs?: number;
  failoverTimeoutMs?: number;
  masterName?: string;
  maxMemory?: string | undefined;
}

export const DEFAULT_MAX_MEMORY = '256mb';

/** A `maxmemory` value as Redis takes it: bytes, or a number with k, kb, m, mb, g or gb. */
export function checkMaxMemory(value: string, variable = 'REDIS_MAXMEMORY'): string {
  if (!/^[1-9]\d*(b|k|kb|m|mb|g|gb)?$/i.test(value))
    throw new ConfigError(variable, `must be a size such as 256mb or 1gb, got "${value}"`);
  return value.toLowerCase();
}

export function defineTopology(opts: TopologyOptions = {}): Topology {
  const port = (name: PortName) => opts.ports?.[name] ?? DEFAULT_PORTS[name];
  const host = (name: string) => opts.hosts?.[name] ?? opts.host ?? LOCAL_ADDRESSES[name] ?? '127.0.0.1';
  const node = <T extends string>(name: T) => ({ name, host: host(name), port: port(name as PortName) });
  return {
    masterName: opts.masterName ?? 'mymaster',
    quorum: 2,
    downAfterMs: opts.downAfterMs ?? 1500,
    failoverTimeoutMs: opts.failoverTimeoutMs ?? 3000,
    parallelSyncs: 1,
    maxMemory: checkMaxMemory(opts.maxMemory ?? DEFAULT_MAX_MEMORY),
    redis: [
      { ...node('redis-1'), initialRole: 'master' },
      { ...node('redis-2'), initialRole: 'replica' },
      { ...node('redis-3'), initialRole: 'replica' },
    ],
    sentinels: [node('sentinel-1'), node('sentinel-2'), node('sentinel-3')],
    apps: [node('app-1'), node('app-2')],
    haproxy: {
      host: host('haproxy'),
      httpPort: port('haproxy-http'),
      statsPort: port('haproxy-stats'),
      redisPort: port('haproxy-redis'),
    },
  };
}

/** The port variables as a table of settings (docs/configuration.md lists them). */
export const PORT_SETTINGS = Object.fromEntries(
  (Object.entries(PORT_VARIABLES) as [PortName, string][]).map(([name, variable]) => [
    variable,
    integer({ min: 1, max: 65535, defaultText: `\`${DEFAULT_PORTS[name]}\``, help: `the port of ${name}` }),
  ]),
);

/** Reads port overrides from the environment (`REDIS_1_PORT=7000 ...`), naming a bad value. */
export function portsFromEnv(env: Record<string, string | undefined>): Partial<Record<PortName, number>> {
  const get = reader(env, PORT_SETTINGS);
  const out: Partial<Record<PortName, number>> = {};
  for (const [name, variable] of Object.entries(PORT_VARIABLES) as [PortName, string][]) {
    const port = get(variable) as number | undefined;
    if (port !== undefined) out[name] = port;
  }
  return out;
}

/**
 * The environment of one app instance, the same variables in local mode and in compose (where the
 * secrets are `${VAR}` references that compose fills in at start).
 */
export function appEnvironment(
  t: Topology,
  app: AppNode,
  v: {
    listen: string;
    /** The app's ACL user and its password, and the Sentinels' password. */
    password: string;
    sentinelPassword: string;
    sessionSecret: string;
    trustProxy: string;
    statsUrl?: string;
  },
): Record<string, string> {
  return {
    HOST: v.listen,
    PORT: String(app.port),
    INSTANCE_ID: app.name,
    REDIS_SENTINELS: t.sentinels.map((s) => `${s.host}:${s.port}`).join(','),
    REDIS_MASTER_NAME: t.masterName,
    REDIS_USERNAME: 'app',
    REDIS_PASSWORD: v.password,
    REDIS_SENTINEL_PASSWORD: v.sentinelPassword,
    SESSION_SECRET: v.sessionSecret,
    TRUST_PROXY: v.trustProxy,
    // What the topology page watches: every node by name, and HAProxy's view of the instances.
    TOPOLOGY_REDIS_NODES: t.redis.map((r) => `${r.name}=${r.host}:${r.port}`).join(','),
    TOPOLOGY_SENTINELS: t.sentinels.map((s) => `${s.name}=${s.host}:${s.port}`).join(','),
    ...(v.statsUrl ? { HAPROXY_STATS_URL: v.statsUrl } : {}),
  };
}

export function initialMaster(t: Topology): RedisNode {
  return t.redis.find((r) => r.initialRole === 'master')!;
}
