import type { Redis } from 'ioredis';
import { LIBRARY_CODE } from '../../app/stores/functions.ts';
import { loadLibrary } from '../../ha/functions.ts';
import { withRedis } from '../../ha/probes.ts';
import { plannedFailoverTo } from '../failover.ts';
import type { RedisNode } from '../topology.ts';
import { dropValkeyFiles } from './servers.ts';
import type { UpgradeDeps } from './upgrade.ts';

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
  d.servers.set(target.name, 'redis');
  await d.actions.stop(target.name);
  dropValkeyFiles(d.run.nodeDir(target.name));
  await d.startCopyTarget(target, master);
  // The others get replica-priority 0 until Sentinel promoted the copy (plannedFailoverTo).
  let keys = 0;
  let copyMs = 0;
  const failover = await plannedFailoverTo(d.actions, target, {
    timeoutMs: d.timeoutMs,
    whilePaused: async () => {
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
    },
  });
  await withRedis(target.host, target.port, login, (r) =>
    r.call('CONFIG', 'SET', 'replica-read-only', 'yes'),
  );
  // The operator's stop is over: the supervisor heals the node again from now on.
  await d.actions.start(target.name);
  return { to: target.name, keys, copyMs, failover };
}

/** Every key of `from` written into `to` by its type, with its TTL, 500 at a time; how many. */
export async function copyAll(from: Redis, to: Redis): Promise<number> {
  await loadLibrary(to, LIBRARY_CODE);
  let cursor = '0';
  let n = 0;
  do {
    const [next, batch] = (await from.call('SCAN', cursor, 'COUNT', '500')) as [string, string[]];
    cursor = next;
    if (batch.length) n += await copyBatch(from, to, batch);
  } while (cursor !== '0');
  return n;
}

/** One pipeline for the types and TTLs, one for the values, one MULTI for the writes. */
async function copyBatch(from: Redis, to: Redis, keys: string[]): Promise<number> {
  const meta = from.pipeline();
  for (const key of keys) meta.type(key).pttl(key);
  const kinds = answers(await meta.exec());
  const read = from.pipeline();
  const found: { key: string; type: string; ttl: number }[] = [];
  keys.forEach((key, i) => {
    const type = String(kinds[2 * i]);
    const ttl = Number(kinds[2 * i + 1]);
    if (type === 'none' || ttl === -2) return;
    if (type === 'string') read.getBuffer(key);
    else if (type === 'hash') read.hgetallBuffer(key);
    else if (type === 'set') read.smembersBuffer(key);
    else if (type === 'list') read.lrangeBuffer(key, 0, -1);
    else if (type === 'zset') read.call('ZRANGE', key, '0', '-1', 'WITHSCORES');
    else throw new Error(`${key}: a ${type} is not copied by the rollback`);
    found.push({ key, type, ttl });
  });
  const values = answers(await read.exec());
  const write = to.multi();
  found.forEach(({ key, type, ttl }, i) => {
    const v = values[i];
    write.del(key);
    if (type === 'string') write.set(key, v as Buffer);
    else if (type === 'hash') write.hset(key, v as Record<string, Buffer>);
    else if (type === 'set') write.sadd(key, ...(v as Buffer[]));
    else if (type === 'list') write.rpush(key, ...(v as Buffer[]));
    else {
      // RESP3 answers pairs, RESP2 a flat list: either way, member then score.
      const flat = (v as unknown[]).flat() as string[];
      const args: string[] = [];
      for (let j = 0; j + 1 < flat.length; j += 2) args.push(flat[j + 1]!, flat[j]!);
      write.call('ZADD', key, ...args);
    }
    if (ttl > 0) write.pexpire(key, ttl);
  });
  answers(await write.exec());
  return found.length;
}

/** A pipeline's replies, or its first error. */
function answers(replies: [Error | null, unknown][] | null): unknown[] {
  if (!replies) throw new Error('the pipeline was discarded');
  return replies.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}
