import { Redis } from 'ioredis';
import { fetchStats, operatorAuthorization, type ProxiedServer, readyServers } from './haproxy-stats.ts';
import {
  type Login,
  type NodeInfo,
  newestMaster,
  parseInfo,
  parseNodeInfo,
  parseSentinelMaster,
} from './observe.ts';

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

export async function nodeState(host: string, port: number, login: RedisLogin): Promise<NodeState> {
  return parseNodeInfo(
    (await withRedis(host, port, login, (r) => r.call('INFO', 'replication', 'memory'))) as string,
  );
}

/**
 * Whether a Redis node is loading its files or receiving a full sync from its master: slow with a
 * large data set, but not stuck (false when it does not answer at all).
 */
export function redisBusy(host: string, port: number, login: RedisLogin): Promise<boolean> {
  return withRedis(host, port, login, async (r) => {
    const info = parseInfo((await r.call('INFO', 'persistence', 'replication')) as string);
    return (
      info['loading'] === '1' || info['async_loading'] === '1' || info['master_sync_in_progress'] === '1'
    );
  }).catch(() => false);
}

export interface SentinelView {
  master: { host: string; port: number } | null;
  replicas: number;
  otherSentinels: number;
  flags: string;
  /** Epoch of the configuration this Sentinel holds: a later failover has a higher one. */
  configEpoch: number;
}

/** What one Sentinel believes about the master; `password` is the Sentinels' own. */
export async function sentinelView(
  host: string,
  port: number,
  masterName: string,
  password: string | undefined,
): Promise<SentinelView> {
  return withRedis(host, port, { password }, async (r) => {
    const m = parseSentinelMaster((await r.call('SENTINEL', 'MASTER', masterName)) as string[]);
    // The address Sentinel gives its clients: already the promoted replica once a failover is under way.
    const addr = (await r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName)) as [string, string] | null;
    return {
      master: addr ? { host: addr[0], port: Number(addr[1]) } : null,
      replicas: m.replicas,
      otherSentinels: m.otherSentinels,
      flags: m.flags,
      configEpoch: m.configEpoch,
    };
  });
}

/** A Sentinel's `INFO sentinel`: in TILT mode it takes part in no failover until it leaves it. */
export async function sentinelTilt(
  host: string,
  port: number,
  password: string | undefined,
): Promise<{ tilt: boolean; tiltSinceSeconds: number | null }> {
  const info = parseInfo(await withRedis(host, port, { password }, (r) => r.info('sentinel')));
  const since = Number(info['sentinel_tilt_since_seconds'] ?? -1);
  return { tilt: info['sentinel_tilt'] === '1', tiltSinceSeconds: since >= 0 ? since : null };
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

/** The master named in the newest configuration among the reachable Sentinels (observe.ts: newestMaster). */
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
