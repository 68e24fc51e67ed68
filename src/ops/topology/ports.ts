import { appName, numbered, redisName, resolveCounts, sentinelName, type TopologyCounts } from './counts.ts';

/** A port of the deployment: one per Redis node, Sentinel and app, and HAProxy's three fronts. */
export type PortName =
  | `redis-${number}`
  | `sentinel-${number}`
  | `app-${number}`
  | 'haproxy-http'
  | 'haproxy-https'
  | 'haproxy-stats'
  | 'haproxy-redis'
  | `redis-exporter-${number}`
  | 'sentinel-exporter'
  | 'prometheus'
  | 'alertmanager';

/** The site on HTTPS at 8443 where the stack speaks TLS (docs/tls.md); HTTP on 8080 then redirects to it. */
export const HAPROXY_PORTS = {
  'haproxy-http': 8080,
  'haproxy-https': 8443,
  'haproxy-stats': 8404,
  'haproxy-redis': 6379,
} as const;

/** Node N listens on base + N: redis-1 on 6380 (6379 is HAProxy's Redis front), sentinel-1 on 26380. */
const BASE = { redis: 6379, sentinel: 26379, app: 3000, 'redis-exporter': 9120 } as const;

/**
 * The monitoring's ports (`ha-stack up --monitoring`): Prometheus and Alertmanager where their
 * packages put them, the Sentinels' exporter beside the Redis nodes' (redis-exporter-N on 9120 + N).
 */
export const MONITORING_PORTS = { 'sentinel-exporter': 9130, prometheus: 9090, alertmanager: 9093 } as const;

/** The last octet of a node's loopback address is base + N (see localAddress). */
const ADDRESS_BASE = { redis: 10, sentinel: 20 } as const;

function parse(name: string): { kind: keyof typeof BASE; n: number } | undefined {
  const m = /^(redis-exporter|redis|sentinel|app)-([1-9]\d*)$/.exec(name);
  return m ? { kind: m[1] as keyof typeof BASE, n: Number(m[2]) } : undefined;
}

/** Every port name of a topology of these counts, in start order, HAProxy's last. */
export function portNames(counts: Partial<TopologyCounts> = {}): PortName[] {
  const c = resolveCounts(counts);
  return [
    ...numbered(c.redisNodes, redisName),
    ...numbered(c.sentinels, sentinelName),
    ...numbered(c.apps, appName),
    ...(Object.keys(HAPROXY_PORTS) as PortName[]),
    ...numbered(c.redisNodes, redisName).map((n) => `${n.replace('redis', 'redis-exporter')}` as PortName),
    ...(Object.keys(MONITORING_PORTS) as PortName[]),
  ];
}

export function defaultPort(name: PortName): number {
  const p = parse(name);
  if (p) return BASE[p.kind] + p.n;
  const fixed = { ...HAPROXY_PORTS, ...MONITORING_PORTS }[name as keyof typeof HAPROXY_PORTS];
  if (fixed === undefined) throw new Error(`not a port of the topology: ${name}`);
  return fixed;
}

/** The environment variable that moves a port (named in "port in use" messages): REDIS_1_PORT, HAPROXY_HTTP_PORT. */
export function portVariable(name: PortName): string {
  return `${name.toUpperCase().replaceAll('-', '_')}_PORT`;
}

/**
 * Locally each Redis node and each Sentinel has an address of its own on the loopback network
 * (all of 127.0.0.0/8 is local on Linux) and connects out from it (`bind-source-addr`): a packet
 * filter can then cut one node off from the others while clients still reach it, as a real network
 * partition would. Apps and HAProxy stay on 127.0.0.1.
 */
export function localAddress(name: string): string {
  const p = parse(name);
  return p && (p.kind === 'redis' || p.kind === 'sentinel')
    ? `127.0.0.${ADDRESS_BASE[p.kind] + p.n}`
    : '127.0.0.1';
}

/**
 * Locally HAProxy connects to the apps from this loopback address of its own, and the apps believe
 * `X-Forwarded-For` from it alone (TRUST_PROXY): a local client reaching an app's port directly
 * comes from 127.0.0.1 and is counted by that address, whatever header it sends.
 */
export const PROXY_SOURCE_ADDRESS = '127.0.0.80';
