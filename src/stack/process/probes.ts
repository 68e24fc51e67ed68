import { Redis } from 'ioredis';
import { parseInfo, parseReplication, type Replication } from '../../redis/observe.ts';

/** A short-lived connection for a probe: no retries, short timeouts, always closed. */
export async function withRedis<T>(
  host: string,
  port: number,
  password: string | undefined,
  fn: (r: Redis) => Promise<T>,
  timeoutMs = 1000,
): Promise<T> {
  const r = new Redis({
    host,
    port,
    password,
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

export type NodeState = Replication;

export async function nodeState(
  host: string,
  port: number,
  password: string | undefined,
): Promise<NodeState> {
  return parseReplication(await withRedis(host, port, password, (r) => r.info('replication')));
}

export interface SentinelView {
  master: { host: string; port: number } | null;
  replicas: number;
  otherSentinels: number;
  flags: string;
  /** Epoch of the configuration this Sentinel holds: a later failover has a higher one. */
  configEpoch: number;
}

/** What one Sentinel believes about the master. */
export async function sentinelView(host: string, port: number, masterName: string): Promise<SentinelView> {
  return withRedis(host, port, undefined, async (r) => {
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
): Promise<{ tilt: boolean; tiltSinceSeconds: number | null }> {
  const info = parseInfo(await withRedis(host, port, undefined, (r) => r.info('sentinel')));
  const since = Number(info['sentinel_tilt_since_seconds'] ?? -1);
  return { tilt: info['sentinel_tilt'] === '1', tiltSinceSeconds: since >= 0 ? since : null };
}

/** HAProxy's stats CSV as rows keyed by column name. */
export async function haproxyStats(url: string): Promise<Record<string, string>[]> {
  const res = await fetch(`${url};csv`, { signal: AbortSignal.timeout(2000) });
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
): Promise<{ host: string; port: number; epoch: number; votes: number } | undefined> {
  const views = await Promise.all(
    sentinels.map((s) => sentinelView(s.host, s.port, masterName).catch(() => undefined)),
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
