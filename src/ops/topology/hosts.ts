import { TopologyError } from './counts.ts';
import { defineTopology, type Topology, type TopologyOptions } from './model.ts';

/**
 * Where the processes run on separate machines: every Redis node, Sentinel and app is placed on a
 * host, and every host runs a front door (HAProxy, with keepalived moving one floating address
 * between the hosts). The addresses are in 198.18.0.0/15, the range reserved for network testing:
 * the same layout is rendered for VMs (`render --target hosts`) and run by the test bed.
 */
export interface Host {
  name: string;
  /** The host's own address: every process on it binds and connects from it. */
  address: string;
  redis: string[];
  sentinels: string[];
  apps: string[];
  /** keepalived's priority: the first host holds the floating address while it is healthy. */
  priority: number;
}

export interface HostLayout {
  hosts: Host[];
  /** The address clients use; keepalived moves it to a healthy host. */
  floating: string;
  /** Prefix length of the hosts' network. */
  prefix: number;
  /** Where the test bed's clients (load, tests) sit: a namespace of their own on the same network. */
  client: string;
  /**
   * A second address of the clients' namespace: the client on the far side of a partition, which
   * the partition scenarios put with the cut-off host (it reaches that host's own front only).
   */
  farClient: string;
  /** keepalived's VRRP router id for the floating address. */
  routerId: number;
}

export const DEFAULT_HOSTS = 3;
export const MAX_HOSTS = 9;
/** host-N has 198.18.0.(10 + N); the floating address and the clients' stay clear of them. */
const NET = '198.18.0';
export const FLOATING_ADDRESS = `${NET}.100`;
export const CLIENT_ADDRESS = `${NET}.200`;
export const FAR_CLIENT_ADDRESS = `${NET}.201`;
export const HOST_PREFIX = 24;

export const hostName = (i: number) => `host-${i}`;

/** Node `kind-N` goes on host ((N - 1) mod hosts) + 1: with three hosts, host-N has redis-N, sentinel-N, app-N. */
function placed(kind: string, count: number, hostIndex: number, hosts: number): string[] {
  return Array.from({ length: count }, (_, i) => i + 1)
    .filter((n) => (n - 1) % hosts === hostIndex)
    .map((n) => `${kind}-${n}`);
}

export interface HostCounts {
  hosts: number;
  redisNodes: number;
  sentinels: number;
  apps: number;
}

/** The layout of `hosts` hosts (default three), each with a Redis node, a Sentinel, an app and a front door. */
export function defineHosts(given: Partial<HostCounts> = {}): HostLayout {
  const n = given.hosts ?? DEFAULT_HOSTS;
  if (!Number.isInteger(n) || n < 2 || n > MAX_HOSTS)
    throw new TopologyError(`hosts (--hosts-count): must be a whole number from 2 to ${MAX_HOSTS}, got ${n}`);
  const count = (k: keyof HostCounts) => given[k] ?? n;
  const hosts = Array.from({ length: n }, (_, i) => ({
    name: hostName(i + 1),
    address: `${NET}.${11 + i}`,
    redis: placed('redis', count('redisNodes'), i, n),
    sentinels: placed('sentinel', count('sentinels'), i, n),
    apps: placed('app', count('apps'), i, n),
    priority: 150 - i * 10,
  }));
  return {
    hosts,
    floating: FLOATING_ADDRESS,
    prefix: HOST_PREFIX,
    client: CLIENT_ADDRESS,
    farClient: FAR_CLIENT_ADDRESS,
    routerId: 51,
  };
}

/** The host a node runs on. */
export function hostOf(layout: HostLayout, node: string): Host {
  const host = layout.hosts.find((h) => [...h.redis, ...h.sentinels, ...h.apps].includes(node));
  if (!host) throw new TopologyError(`no host runs ${node}`);
  return host;
}

/**
 * The topology of the hosts: every node at its host's address (on the ports of every other
 * target), HAProxy at the floating address.
 */
export function hostTopology(
  layout: HostLayout,
  opts: Omit<TopologyOptions, 'hosts' | 'host'> = {},
): Topology {
  const hosts: Record<string, string> = { haproxy: layout.floating };
  for (const h of layout.hosts)
    for (const node of [...h.redis, ...h.sentinels, ...h.apps]) hosts[node] = h.address;
  const counts = {
    redisNodes: layout.hosts.reduce((s, h) => s + h.redis.length, 0),
    sentinels: layout.hosts.reduce((s, h) => s + h.sentinels.length, 0),
    apps: layout.hosts.reduce((s, h) => s + h.apps.length, 0),
    ...opts.counts,
  };
  return defineTopology({ ...opts, counts, hosts });
}
