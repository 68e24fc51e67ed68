import { ConfigError } from '../../config/types.ts';
import { appName, numbered, redisName, resolveCounts, sentinelName, type TopologyCounts } from './counts.ts';
import { defaultPort, localAddress, type PortName } from './ports.ts';
import { checkDownAfter, DOWN_AFTER_FLOOR_MS } from './timings.ts';

/**
 * The topology as data: one description that the local supervisor and the compose and Kubernetes
 * renderers share, so the ways to run the stack cannot drift apart.
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
  /**
   * Every Redis node's `min-replicas-to-write`: a master with fewer fresh replicas refuses writes
   * (the read-only mode of `ha-stack status`).
   */
  minReplicasToWrite: number;
  /** Every Redis node's `maxmemory` (Redis syntax: 256mb, 1gb); full, a node refuses writes. */
  maxMemory: string;
  redis: RedisNode[];
  sentinels: SentinelNode[];
  apps: AppNode[];
  haproxy: { host: string; httpPort: number; httpsPort: number; statsPort: number; redisPort: number };
  /** What `--monitoring` adds (docs/monitoring.md): every one listens on loopback locally. */
  monitoring: MonitoringNodes;
}

export interface MonitoringNodes {
  host: string;
  /** One redis_exporter per Redis node, by the node's name (redis-exporter-N). */
  redisExporters: { name: string; node: string; port: number }[];
  /** One redis_exporter that scrapes every Sentinel (its `/scrape?target=` endpoint). */
  sentinelExporterPort: number;
  prometheusPort: number;
  alertmanagerPort: number;
}

export interface TopologyOptions {
  /** How many Redis nodes, Sentinels and apps, and the quorum (counts.ts: defaults, limits). */
  counts?: Partial<TopologyCounts> | undefined;
  ports?: Partial<Record<PortName, number>>;
  /** Host of each node by name; defaults to `host`, else the node's own loopback address (localAddress). */
  hosts?: Partial<Record<string, string>>;
  host?: string;
  downAfterMs?: number | undefined;
  failoverTimeoutMs?: number | undefined;
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
  const c = resolveCounts(opts.counts);
  const port = (name: PortName) => opts.ports?.[name] ?? defaultPort(name);
  const host = (name: string) => opts.hosts?.[name] ?? opts.host ?? localAddress(name);
  const node = (name: PortName) => ({ name: name as string, host: host(name), port: port(name) });
  return {
    masterName: opts.masterName ?? 'mymaster',
    quorum: c.quorum,
    downAfterMs: checkDownAfter(opts.downAfterMs ?? DOWN_AFTER_FLOOR_MS),
    failoverTimeoutMs: opts.failoverTimeoutMs ?? 3000,
    parallelSyncs: 1,
    minReplicasToWrite: 1,
    maxMemory: checkMaxMemory(opts.maxMemory ?? DEFAULT_MAX_MEMORY),
    // The first node is the master at the first start; Sentinel decides afterwards.
    redis: numbered(c.redisNodes, redisName).map((name, i) => ({
      ...node(name),
      initialRole: i === 0 ? ('master' as const) : ('replica' as const),
    })),
    sentinels: numbered(c.sentinels, sentinelName).map(node),
    apps: numbered(c.apps, appName).map(node),
    haproxy: {
      host: host('haproxy'),
      httpPort: port('haproxy-http'),
      httpsPort: port('haproxy-https'),
      statsPort: port('haproxy-stats'),
      redisPort: port('haproxy-redis'),
    },
    monitoring: {
      host: opts.host ?? '127.0.0.1',
      redisExporters: numbered(c.redisNodes, redisName).map((node) => {
        const name = node.replace('redis', 'redis-exporter');
        return { name, node, port: port(name as PortName) };
      }),
      sentinelExporterPort: port('sentinel-exporter'),
      prometheusPort: port('prometheus'),
      alertmanagerPort: port('alertmanager'),
    },
  };
}

/** The counts a topology was made of (a running stack's, read back from its stack file). */
export function countsOf(t: Topology): TopologyCounts {
  return { redisNodes: t.redis.length, sentinels: t.sentinels.length, apps: t.apps.length, quorum: t.quorum };
}

/** Every process of the topology by name, in start order: Redis, Sentinels, apps, HAProxy. */
export function nodeNames(t: Topology): string[] {
  return [...t.redis, ...t.sentinels, ...t.apps].map((n) => n.name).concat('haproxy');
}

export function initialMaster(t: Topology): RedisNode {
  return t.redis.find((r) => r.initialRole === 'master')!;
}
