import type { Redis } from 'ioredis';
import { LIBRARY_CODE } from '../../app/stores/functions.ts';
import { loadLibrary } from '../../ha/functions.ts';
import { withRedis } from '../../ha/probes.ts';
import { plannedFailover } from '../failover.ts';
import type { RedisNode } from '../topology.ts';
import { dropValkeyFiles } from './servers.ts';
import type { UpgradeDeps } from './upgrade.ts';
import { waitFor } from './wait.ts';

export interface RollbackDeps extends UpgradeDeps {
  /** Starts a node on Redis as a copy target: a replica of `master` that never syncs (starter.ts). */
  startCopyTarget(node: RedisNode, master: RedisNode): Promise<void>;
}

export interface RollbackResult {
  /** The Redis 7.0 node that took the copy and became master. */
  to: string;
  keys: number;
  /** The copy alone, writes paused. */
  copyMs: number;
  failover: { from: string; to: string; ms: number; pausedMs: number };
}

/**
 * Back to Redis 7.0 past the point of no return, where Redis cannot replicate from the Valkey
 * master (RDB version 11) and refuses its DUMP payloads: one replica is started on Redis as a
 * replica of the master whose every sync fails but which keeps what it holds (swapdb), so the
 * Sentinels still count it; the other replicas get replica-priority 0. Then a planned failover
 * whose write pause holds a logical copy (SCAN, each key by its type, with its TTL) and the
 * function library: Sentinel promotes the copy, the Valkey nodes follow it as replicas.
 */
export async function rollbackToRedis(d: RollbackDeps, master: RedisNode): Promise<RollbackResult> {
  const t = d.actions.topology;
  const login = d.actions.login;
  const replicas = t.redis.filter((r) => r.name !== master.name);
  const target = replicas[0];
  if (!target) throw new Error('a rollback needs a replica to copy into');
  const others = replicas.slice(1);
  d.servers.set(target.name, 'redis');
  await d.actions.stop(target.name);
  dropValkeyFiles(d.run.nodeDir(target.name));
  await d.startCopyTarget(target, master);
  // Each Sentinel must count the copy target as a replica, and know the others' priority 0 (it reads
  // a replica's INFO every 10 s): then it can only promote the copy.
  const seen = (what: string, ok: (rows: Record<string, string>[]) => boolean) =>
    waitFor(
      `every Sentinel to see ${what}`,
      async () => {
        for (const s of t.sentinels) if (!ok(await replicaRows(d, s))) return false;
        return true;
      },
      { timeoutMs: d.timeoutMs },
    );
  const row = (rows: Record<string, string>[], n: RedisNode) =>
    rows.find((f) => f['ip'] === n.host && Number(f['port']) === n.port);
  await seen(
    `${target.name} as a replica of ${master.name}`,
    (rows) => row(rows, target)?.['flags'] === 'slave',
  );
  const priority = (n: RedisNode, value: string) =>
    withRedis(n.host, n.port, login, (r) => r.call('CONFIG', 'SET', 'replica-priority', value));
  for (const n of others) await priority(n, '0');
  let keys = 0;
  let copyMs = 0;
  try {
    await seen('replica-priority 0 on the other replicas', (rows) =>
      others.every((n) => (row(rows, n)?.['slave-priority'] ?? row(rows, n)?.['replica-priority']) === '0'),
    );
    const failover = await plannedFailover(d.actions, d.timeoutMs, async () => {
      const started = Date.now();
      keys = await withRedis(
        master.host,
        master.port,
        login,
        (from) => withRedis(target.host, target.port, login, (to) => copyAll(from, to), 10_000),
        10_000,
      );
      copyMs = Date.now() - started;
      d.log(`rollback: ${keys} keys copied from ${master.name} to ${target.name} in ${copyMs} ms`);
    });
    await withRedis(target.host, target.port, login, (r) =>
      r.call('CONFIG', 'SET', 'replica-read-only', 'yes'),
    );
    // The operator's stop is over: the supervisor heals the node again from now on.
    await d.actions.start(target.name);
    return { to: target.name, keys, copyMs, failover };
  } finally {
    for (const n of others) await priority(n, '100').catch(() => undefined);
  }
}

/** SENTINEL REPLICAS of one Sentinel, each replica's fields by name. */
async function replicaRows(
  d: RollbackDeps,
  s: { host: string; port: number },
): Promise<Record<string, string>[]> {
  const rows = (await withRedis(s.host, s.port, { password: d.actions.sentinelPassword }, (r) =>
    r.call('SENTINEL', 'REPLICAS', d.actions.topology.masterName),
  )) as string[][];
  return rows.map((raw) => {
    const f: Record<string, string> = {};
    for (let i = 0; i + 1 < raw.length; i += 2) f[raw[i]!] = raw[i + 1]!;
    return f;
  });
}

/** Every key of `from` written into `to` by its type, with its TTL; how many. */
export async function copyAll(from: Redis, to: Redis): Promise<number> {
  await loadLibrary(to, LIBRARY_CODE);
  let cursor = '0';
  let n = 0;
  do {
    const [next, batch] = (await from.call('SCAN', cursor, 'COUNT', '500')) as [string, string[]];
    cursor = next;
    for (const key of batch) if (await copyKey(from, to, key)) n++;
  } while (cursor !== '0');
  return n;
}

async function copyKey(from: Redis, to: Redis, key: string): Promise<boolean> {
  const type = await from.type(key);
  const ttl = await from.pttl(key);
  if (type === 'none' || ttl === -2) return false;
  const m = to.multi().del(key);
  if (type === 'string') m.set(key, (await from.getBuffer(key)) ?? '');
  else if (type === 'hash') m.hset(key, await from.hgetallBuffer(key));
  else if (type === 'set') m.sadd(key, ...(await from.smembersBuffer(key)));
  else if (type === 'list') m.rpush(key, ...(await from.lrangeBuffer(key, 0, -1)));
  else if (type === 'zset') {
    const flat = (await from.call('ZRANGE', key, '0', '-1', 'WITHSCORES')) as string[];
    const args: string[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) args.push(flat[i + 1]!, flat[i]!);
    m.call('ZADD', key, ...args);
  } else throw new Error(`${key}: a ${type} is not copied by the rollback`);
  if (ttl > 0) m.pexpire(key, ttl);
  await m.exec();
  return true;
}
