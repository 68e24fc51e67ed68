/**
 * Whether Redis is still growing a key table. A table that outgrows its slots is copied into one
 * twice the size a few slots at a time: a step in every lookup of a key, and 1 ms in every 100 ms
 * of Redis's own timer. With a million keys that takes a minute on this machine, and every command
 * meanwhile looks in both tables and moves a step: a measurement taken then measures the copy, not
 * the data set.
 */
import type { Redis } from 'ioredis';
import { parseInfo } from '../../ha/info.ts';
import { withRedis } from '../../ha/probes.ts';
import { waitFor } from '../../ops/supervisor/wait.ts';
import { round } from './redis-stats.ts';
import type { BenchTarget } from './target.ts';

/** Bytes of a key table's entry (key, value and next pointers) and of a key object (Redis 7). */
const ENTRY = 24;
const KEY_OBJECT = 16;
const SLOT = 8;

export interface DbTables {
  db: string;
  keys: number;
  expires: number;
  /** MEMORY STATS' `overhead.hashtable.main` and `overhead.hashtable.expires`. */
  mainBytes: number;
  expiresBytes: number;
}

const isPowerOfTwo = (n: number) => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;

/**
 * The slots of the main and the expiry table, from their overhead (Redis 7 counts entries and every
 * slot of both tables while one grows); `growing` when either count is not a power of two, that is
 * two tables at once. `null` when the figures do not fit that layout (another Redis version).
 */
export function tablesGrowing(
  t: DbTables,
): { mainSlots: number; expiresSlots: number; growing: boolean } | null {
  const mainSlots = (t.mainBytes - t.keys * (ENTRY + KEY_OBJECT)) / SLOT;
  const expiresSlots = (t.expiresBytes - t.expires * ENTRY) / SLOT;
  const fits = (slots: number, count: number) =>
    Number.isInteger(slots) && (count === 0 ? slots >= 0 : slots > 0);
  if (!fits(mainSlots, t.keys) || !fits(expiresSlots, t.expires)) return null;
  const growing =
    (mainSlots > 0 && !isPowerOfTwo(mainSlots)) || (expiresSlots > 0 && !isPowerOfTwo(expiresSlots));
  return { mainSlots, expiresSlots, growing };
}

/** MEMORY STATS (a flat list of names and values, one nested list per database) and INFO keyspace, per database. */
export function dbTables(memoryStats: unknown[], keyspace: string): DbTables[] {
  const counts = parseInfo(keyspace);
  const out: DbTables[] = [];
  for (let i = 0; i + 1 < memoryStats.length; i += 2) {
    const name = String(memoryStats[i]);
    const value = memoryStats[i + 1];
    if (!/^db\.\d+$/.test(name) || !Array.isArray(value)) continue;
    const fields = new Map<string, number>();
    for (let j = 0; j + 1 < value.length; j += 2) fields.set(String(value[j]), Number(value[j + 1]));
    const db = `db${name.slice(3)}`;
    const keys = Number(/keys=(\d+)/.exec(counts[db] ?? '')?.[1] ?? 0);
    const expires = Number(/expires=(\d+)/.exec(counts[db] ?? '')?.[1] ?? 0);
    out.push({
      db,
      keys,
      expires,
      mainBytes: fields.get('overhead.hashtable.main') ?? 0,
      expiresBytes: fields.get('overhead.hashtable.expires') ?? 0,
    });
  }
  return out;
}

/** Whether any key table of the node `r` is connected to is growing now; `null`: cannot tell. */
export async function growingTables(r: Redis): Promise<boolean | null> {
  // MULTI: the counts and the overheads of the same moment.
  const replies = await r.multi().call('MEMORY', 'STATS').info('keyspace').exec();
  if (!replies || replies.some(([err]) => err)) return null;
  const tables = dbTables(replies[0]![1] as unknown[], replies[1]![1] as string);
  let growing = false;
  for (const t of tables) {
    const g = tablesGrowing(t);
    if (g === null) return null;
    growing ||= g.growing;
  }
  return growing;
}

export interface Settled {
  /** Seconds until no node rewrote its AOF or saved a snapshot. */
  rewriteS: number;
  /** Seconds more until no node was growing (or shrinking) a key table; null: the nodes could not tell. */
  tablesS: number | null;
}

/**
 * Waits until every node is done with the work a data set that just grew (or shrank) leaves behind:
 * first the AOF rewrites every node starts at once, which take the cores a measurement needs, then
 * the key tables' resizing.
 */
export async function nodesSettled(target: BenchTarget): Promise<Settled> {
  const { redis } = target.actions.topology;
  const each = (f: (r: Redis) => Promise<boolean | null>) =>
    Promise.all(redis.map((n) => withRedis(n.host, n.port, target.actions.login, f)));
  const busy = ['aof_rewrite_in_progress', 'aof_rewrite_scheduled', 'rdb_bgsave_in_progress'];
  const t0 = performance.now();
  await waitFor(
    'every Redis node done with its AOF rewrite',
    async () =>
      (
        await each(async (r) => {
          const info = parseInfo(await r.info('persistence'));
          return busy.every((k) => info[k] === '0');
        })
      ).every(Boolean),
    { timeoutMs: 600_000, intervalMs: 200 },
  );
  const t1 = performance.now();
  let known = true;
  await waitFor(
    'every Redis node done with resizing its key tables',
    async () => {
      const growing = await each(growingTables);
      known = !growing.includes(null);
      return !growing.includes(true);
    },
    { timeoutMs: 600_000, intervalMs: 500 },
  );
  return {
    rewriteS: round((t1 - t0) / 1000, 1),
    tablesS: known ? round((performance.now() - t1) / 1000, 1) : null,
  };
}
