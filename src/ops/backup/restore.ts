// `ha-stack restore BACKUP`: the backup's keys loaded into the master the Sentinels name, which its
// replicas copy as they copy any write, while the site is closed (maintenance.ts). The file is
// checked first (SHA-256, the RDB checker, its counts against the manifest) and opened by a scratch
// server apart from the stack; the stack's data set is then emptied and the keys moved in with
// MIGRATE (server to server, a thousand keys a command, their lifetimes kept). The site opens again
// only once every node holds the same counts as the backup.

import { dirname } from 'node:path';
import { parseReplicationDetail } from '../../ha/info.ts';
import { sentinelsMaster, withRedis } from '../../ha/probes.ts';
import { CliError } from '../commands/context.ts';
import { waitFor } from '../supervisor/wait.ts';
import type { RedisNode } from '../topology.ts';
import { emptyCounts, formatCounts, KIND_PREFIXES, KINDS, type KindCounts } from './kinds.ts';
import type { SiteGate } from './maintenance.ts';
import { listBackups, type Manifest, readBackup, sha256File } from './manifest.ts';
import { type BackupTarget, recordLastGood } from './take.ts';
import {
  checkRdb,
  countKinds,
  countKindsExpiring,
  ScratchServer,
  type ServerKind,
  serverTools,
} from './tools.ts';

export interface RestoreOptions {
  backup: string;
  dir?: string | undefined;
  withoutSessions: boolean;
  gate?: SiteGate | undefined;
  log?: (m: string) => void;
}

export interface RestoreResult {
  id: string;
  seconds: number;
  counts: KindCounts;
  master: string;
}

/** Keys whose lifetime may end during the move: counted apart, so an expiry is not taken for a loss. */
const EXPIRY_MARGIN_MS = 120_000;
const BATCH = 1000;

/** Why the restored counts differ from those expected (empty when they agree). */
export function countProblems(
  expected: KindCounts,
  got: KindCounts,
  expiring: KindCounts,
  where: string,
): string[] {
  const out: string[] = [];
  for (const k of KINDS) {
    const exact = k === 'accounts' || k === 'carts';
    const low = exact ? expected[k] : expected[k] - expiring[k];
    if (got[k] > expected[k] || got[k] < low)
      out.push(
        `${where}: ${got[k]} ${k}, expected ${exact || low === expected[k] ? expected[k] : `${low} to ${expected[k]}`}`,
      );
  }
  return out;
}

async function masterNode(target: BackupTarget): Promise<RedisNode> {
  const t = target.topology;
  const m = await sentinelsMaster(t.sentinels, t.masterName, target.sentinelPassword);
  const node = m && t.redis.find((n) => n.host === m.host && n.port === m.port);
  if (!node) throw new CliError('the Sentinels name no master right now: nothing restored');
  return node;
}

/** Moves every key of the scratch server into the master (MIGRATE ... REPLACE KEYS). */
async function moveKeys(scratch: ScratchServer, master: RedisNode, target: BackupTarget): Promise<number> {
  const r = scratch.client;
  const { username, password } = target.login;
  let cursor = '0';
  let moved = 0;
  do {
    const [next, keys] = (await r.scan(cursor, 'COUNT', BATCH)) as [string, string[]];
    cursor = next;
    if (keys.length === 0) continue;
    const auth = password ? (username ? ['AUTH2', username, password] : ['AUTH', password]) : [];
    const reply = await r.call(
      'MIGRATE',
      master.host,
      String(master.port),
      '',
      '0',
      '60000',
      'REPLACE',
      ...auth,
      'KEYS',
      ...keys,
    );
    if (reply !== 'OK' && reply !== 'NOKEY') throw new Error(`MIGRATE answered ${String(reply)}`);
    moved += keys.length;
  } while (cursor !== '0');
  return moved;
}

/** Waits until every replica of the master has all it wrote; returns the replicas. */
async function replicasCaughtUp(target: BackupTarget, master: RedisNode): Promise<RedisNode[]> {
  const replicas: RedisNode[] = [];
  await waitFor(
    'every replica to hold the restored data',
    async () => {
      const m = parseReplicationDetail(
        (await withRedis(master.host, master.port, target.login, (r) =>
          r.call('INFO', 'replication'),
        )) as string,
      );
      const expected = target.topology.redis.length - 1;
      if (m.replicas.length < expected) return false;
      replicas.length = 0;
      for (const rep of m.replicas) {
        const node = target.topology.redis.find((n) => n.host === rep.ip && n.port === rep.port);
        if (!node || rep.offset < m.offset) return false;
        replicas.push(node);
      }
      return true;
    },
    { timeoutMs: 300_000, intervalMs: 100 },
  );
  return replicas;
}

export async function restoreBackup(target: BackupTarget, opts: RestoreOptions): Promise<RestoreResult> {
  const log = opts.log ?? (() => undefined);
  const started = performance.now();
  let found: ReturnType<typeof readBackup>;
  try {
    found = readBackup(opts.backup, opts.dir);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  const { manifest, rdbPath } = found;
  const sha = await sha256File(rdbPath).catch((err: Error) => {
    throw new CliError(`cannot read ${rdbPath}: ${err.message}`);
  });
  if (sha !== manifest.rdb.sha256)
    throw new CliError(
      `${rdbPath} does not match its manifest (SHA-256 ${sha}, manifest ${manifest.rdb.sha256}): nothing restored`,
    );
  const kind: ServerKind = manifest.source?.server === 'valkey' ? 'valkey' : 'redis';
  const tools = serverTools(kind);
  const check = await checkRdb(tools, rdbPath);
  if (!check.ok) throw new CliError(`${tools.checkRdb} refuses ${rdbPath}: nothing restored`);
  log(`opening ${manifest.id} (${formatCounts(manifest.counts)}) apart from the stack`);
  const scratch = await ScratchServer.open(tools, dirname(rdbPath), manifest.rdb.file);
  try {
    if (opts.withoutSessions) await dropSessions(scratch);
    const loaded = await countKindsExpiring(scratch.client, EXPIRY_MARGIN_MS);
    const expected = { ...loaded.counts };
    const fromManifest = opts.withoutSessions ? { ...manifest.counts, sessions: 0 } : manifest.counts;
    const fileProblems = countProblems(
      fromManifest,
      expected,
      { ...fromManifest, accounts: 0, carts: 0 },
      'the file',
    );
    if (fileProblems.length)
      throw new CliError(
        `${manifest.id} does not hold what its manifest counts: ${fileProblems.join('; ')}; nothing restored`,
      );
    const master = await masterNode(target);
    log('closing the site (HAProxy answers 503 with the maintenance page)');
    await opts.gate?.close();
    try {
      return await replaceData({
        ...{ target, master, scratch, expected, manifest, rdbPath, started, log },
        expiring: loaded.soon,
        gate: opts.gate,
      });
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new CliError(
        `${why}. The site stays closed (503); restore again, or "ha-stack restore --reopen --yes" opens it as it is`,
      );
    }
  } finally {
    await scratch.close();
  }
}

async function replaceData(o: {
  target: BackupTarget;
  master: RedisNode;
  scratch: ScratchServer;
  expected: KindCounts;
  expiring: KindCounts;
  manifest: Manifest;
  rdbPath: string;
  started: number;
  gate: SiteGate | undefined;
  log: (m: string) => void;
}): Promise<RestoreResult> {
  const { target, master, expected, manifest, log } = o;
  log(`emptying ${master.name} and moving the backup's keys into it`);
  await withRedis(master.host, master.port, target.login, (r) => r.call('FLUSHALL'), 60_000);
  const moved = await moveKeys(o.scratch, master, target);
  log(`moved ${moved} keys; waiting for the replicas`);
  const replicas = await replicasCaughtUp(target, master);
  const problems: string[] = [];
  let got = emptyCounts();
  for (const node of [master, ...replicas]) {
    const c = await withRedis(node.host, node.port, target.login, (r) => countKinds(r), 60_000);
    if (node === master) got = c;
    problems.push(...countProblems(expected, c, o.expiring, node.name));
  }
  if (problems.length) throw new Error(`the restored data does not match the backup: ${problems.join('; ')}`);
  const newest = listBackups(dirname(o.rdbPath)).at(-1);
  await recordLastGood(target, new Date(newest?.time ?? manifest.time)).catch(() => undefined);
  await o.gate?.open();
  const seconds = Math.round(performance.now() - o.started) / 1000;
  log(
    `restored ${manifest.id} into ${master.name} and ${replicas.length} replicas: ${formatCounts(got)} in ${seconds} s; the site is open`,
  );
  return { id: manifest.id, seconds, counts: got, master: master.name };
}

/** Drops the sessions from the scratch server before the move (`--without-sessions`). */
async function dropSessions(scratch: ScratchServer): Promise<void> {
  const script = `
local n = 0
local cursor = '0'
repeat
  local r = redis.call('SCAN', cursor, 'MATCH', ARGV[1] .. '*', 'COUNT', 10000)
  cursor = r[1]
  for _, k in ipairs(r[2]) do redis.call('UNLINK', k) n = n + 1 end
until cursor == '0'
return n`;
  await scratch.client.call('EVAL', script, '0', KIND_PREFIXES.sessions);
}
