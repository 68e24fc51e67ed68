import { Redis } from 'ioredis';
import { type Login, type NodeInfo, parseInfo, parseNodeInfo } from '../../redis/observe.ts';

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
    const raw = (await r.call('SENTINEL', 'MASTER', masterName)) as string[];
    const m: Record<string, string> = {};
    for (let i = 0; i + 1 < raw.length; i += 2) m[raw[i]!] = raw[i + 1]!;
    const addr = (await r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName)) as [string, string] | null;
    return {
      master: addr ? { host: addr[0], port: Number(addr[1]) } : null,
      replicas: Number(m['num-slaves'] ?? 0),
      otherSentinels: Number(m['num-other-sentinels'] ?? 0),
      flags: m['flags'] ?? '',
      configEpoch: Number(m['config-epoch'] ?? 0),
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

/** The Authorization header of user `operator` on the operator front. */
export const operatorAuthorization = (password: string) =>
  `Basic ${Buffer.from(`operator:${password}`).toString('base64')}`;

/** HAProxy's stats CSV as rows keyed by column name. */
export async function haproxyStats(stats: StatsAccess): Promise<Record<string, string>[]> {
  const res = await fetch(`${stats.url};csv`, {
    headers: stats.password === undefined ? {} : { authorization: operatorAuthorization(stats.password) },
    signal: AbortSignal.timeout(2000),
  });
  if (res.status !== 200) throw new Error(`HTTP ${res.status} from ${stats.url};csv`);
  const text = await res.text();
  const [head, ...rows] = text.trim().split('\n');
  const cols = head!.replace(/^# /, '').split(',');
  return rows.map((row) => Object.fromEntries(row.split(',').map((v, i) => [cols[i]!, v])));
}

/** Names of the servers of one HAProxy backend that its checks report UP. */
export function upServers(rows: Record<string, string>[], backend: string): string[] {
  return rows
    .filter((r) => r['pxname'] === backend && r['svname'] !== 'BACKEND' && r['status'] === 'UP')
    .map((r) => r['svname'] ?? '');
}

/**
 * The master named in the newest configuration among the reachable Sentinels (highest config epoch:
 * right after a failover the Sentinels that have not heard of it yet still name the old master),
 * then by number of votes; undefined when none answers.
 */
export async function sentinelsMaster(
  sentinels: { host: string; port: number }[],
  masterName: string,
  password: string | undefined,
): Promise<{ host: string; port: number; epoch: number; votes: number } | undefined> {
  const views = await Promise.all(
    sentinels.map((s) => sentinelView(s.host, s.port, masterName, password).catch(() => undefined)),
  );
  const named = new Map<string, { host: string; port: number; epoch: number; votes: number }>();
  for (const v of views) {
    if (!v?.master) continue;
    const key = `${v.master.host}:${v.master.port}`;
    const entry = named.get(key) ?? { ...v.master, epoch: 0, votes: 0 };
    entry.epoch = Math.max(entry.epoch, v.configEpoch);
    entry.votes++;
    named.set(key, entry);
  }
  return [...named.values()].sort((a, b) => b.epoch - a.epoch || b.votes - a.votes)[0];
}
