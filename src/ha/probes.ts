import { Redis } from 'ioredis';
import { fetchStats, operatorAuthorization, type ProxiedServer, readyServers } from './haproxy-stats.ts';
import { type NodeInfo, parseBusy, parseNodeInfo } from './info.ts';
import type { KeptProbes } from './kept-probes.ts';
import { askSentinel, newestMaster, type SentinelBelief } from './sentinel/belief.ts';
import { redisTlsOptions } from './tls.ts';
import type { Login } from './watch.ts';

/**
 * How a probe logs in: an ACL user and its password on a Redis node; a password alone on a
 * Sentinel (its `requirepass`).
 */
export type RedisLogin = Login;

/** A short-lived connection for a probe: no retries, short timeouts, always closed. */
export async function withRedis<T>(
  host: string,
  port: number,
  login: RedisLogin,
  fn: (r: Redis) => Promise<T>,
  timeoutMs = 1000,
): Promise<T> {
  const r = new Redis({
    host,
    port,
    username: login.username,
    password: login.password,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    ...redisTlsOptions(),
  });
  r.on('error', () => undefined);
  try {
    await r.connect();
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

/** A node's replication state and memory. */
export type NodeState = NodeInfo;

export async function nodeState(
  host: string,
  port: number,
  login: RedisLogin,
  timeoutMs?: number,
  kept?: KeptProbes,
): Promise<NodeState> {
  const info = (r: Redis) => r.call('INFO', 'replication', 'memory');
  return parseNodeInfo(
    (await (kept
      ? kept.use(host, port, login, info)
      : withRedis(host, port, login, info, timeoutMs))) as string,
  );
}

/**
 * Whether a Redis node is loading its files or receiving a full sync from its master: slow with a
 * large data set, but not stuck (false when it does not answer at all).
 */
export function redisBusy(host: string, port: number, login: RedisLogin): Promise<boolean> {
  return withRedis(host, port, login, async (r) =>
    parseBusy((await r.call('INFO', 'persistence', 'replication')) as string),
  ).catch(() => false);
}

/** Runs `fn` on `kept`'s connection to `host:port` when given, else on a short-lived one. */
export function probeOn<T>(
  kept: KeptProbes | undefined,
  host: string,
  port: number,
  login: RedisLogin,
  fn: (r: Redis) => Promise<T>,
  timeoutMs?: number,
): Promise<T> {
  return kept ? kept.use(host, port, login, fn) : withRedis(host, port, login, fn, timeoutMs);
}

/** What one Sentinel believes about the master (sentinel/belief.ts); `password` is the Sentinels' own. */
export function sentinelView(
  host: string,
  port: number,
  masterName: string,
  password: string | undefined,
  timeoutMs?: number,
  kept?: KeptProbes,
): Promise<SentinelBelief> {
  const ask = (r: Redis) => askSentinel(r, masterName);
  return probeOn(kept, host, port, { password }, ask, timeoutMs);
}

/** Where HAProxy's stats page is and the password of user `operator`, who may read it. */
export interface StatsAccess {
  url: string;
  password: string | undefined;
}

export { operatorAuthorization };

/** HAProxy's servers as its stats page shows them (haproxy/stats.ts: the app reads them the same way). */
export function haproxyStats(stats: StatsAccess): Promise<ProxiedServer[]> {
  return fetchStats(stats.url, stats.password, 2000);
}

/** Names of the servers of one HAProxy backend that it sends traffic to (`ready`). */
export const upServers = readyServers;

/** The master named in the newest configuration among the reachable Sentinels (sentinel/belief.ts: newestMaster). */
export async function sentinelsMaster(
  sentinels: { host: string; port: number }[],
  masterName: string,
  password: string | undefined,
): Promise<{ host: string; port: number; epoch: number; votes: number } | undefined> {
  const views = await Promise.all(
    sentinels.map((s) => sentinelView(s.host, s.port, masterName, password).catch(() => undefined)),
  );
  return newestMaster(views);
}
