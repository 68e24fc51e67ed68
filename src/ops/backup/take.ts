// `ha-stack backup`: a snapshot from a replica, never the master, as the replication stream gives
// it (`redis-cli --rdb`: the replica forks and streams, the master does nothing). Written under a
// temporary name, checked (the server's RDB checker, then loaded and counted by a scratch server),
// and renamed into place with its manifest only when whole; refused when the replica's master
// changed during the copy.

import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseReplicationDetail, type ReplicationDetail } from '../../ha/info.ts';
import { BACKUP_LAST_GOOD_KEY } from '../../ha/keys.ts';
import { type RedisLogin, sentinelsMaster, withRedis } from '../../ha/probes.ts';
import { cliTlsArgs } from '../../ha/tls.ts';
import { CliError } from '../commands/context.ts';
import { writePrivate } from '../supervisor/private-files.ts';
import type { RedisNode, Topology } from '../topology.ts';
import { formatCounts } from './kinds.ts';
import { backupId, type Manifest, sha256File } from './manifest.ts';
import { forksInBackground } from './priority.ts';
import { checkRdb, countKinds, runProgram, ScratchServer, serverKindOf, serverTools } from './tools.ts';

/** What a backup or a restore needs of a stack: its shape and the operator's logins. */
export interface BackupTarget {
  topology: Topology;
  login: RedisLogin;
  sentinelPassword: string | undefined;
}

export interface BackupOptions {
  dir: string;
  log?: (m: string) => void;
  /** Called between the copy and its checks (the drill test fails over there). */
  afterCopy?: () => Promise<void>;
}

/** A backup refused: nothing was written but the reason. */
export class BackupRefused extends CliError {}

interface Source {
  node: RedisNode;
  master: RedisNode;
  before: ReplicationDetail;
}

const addr = (n: { host: string; port: number }) => `${n.host}:${n.port}`;

async function replication(node: RedisNode, login: RedisLogin): Promise<ReplicationDetail> {
  return parseReplicationDetail(
    (await withRedis(node.host, node.port, login, (r) => r.call('INFO', 'replication'))) as string,
  );
}

async function sentinelsMasterNode(target: BackupTarget): Promise<RedisNode | undefined> {
  const t = target.topology;
  const m = await sentinelsMaster(t.sentinels, t.masterName, target.sentinelPassword);
  return m && t.redis.find((n) => n.host === m.host && n.port === m.port);
}

/** The replica to copy: attached to the master the Sentinels name, in sync, the furthest ahead. */
async function pickReplica(target: BackupTarget): Promise<Source> {
  const master = await sentinelsMasterNode(target);
  if (!master) throw new BackupRefused('the Sentinels name no master right now: no backup taken');
  const candidates: Source[] = [];
  for (const node of target.topology.redis) {
    if (node === master) continue;
    const info = await replication(node, target.login).catch(() => undefined);
    const follows = info?.masterHost === master.host && info.masterPort === master.port;
    if (info?.role === 'slave' && follows && info.linkUp && !info.syncing)
      candidates.push({ node, master, before: info });
  }
  candidates.sort((a, b) => b.before.offset - a.before.offset);
  if (!candidates[0])
    throw new BackupRefused(
      `no replica of ${master.name} answers in sync: only the master does, and a backup is never taken from the master (its fork would stall the writes); start a replica ("ha-stack start <node>") and try again`,
    );
  return candidates[0];
}

/** The replica's master changed during the copy (a failover), or it left replication: what changed. */
async function moved(target: BackupTarget, src: Source): Promise<string | undefined> {
  const now = await replication(src.node, target.login).catch((err: Error) => err);
  if (now instanceof Error) return `${src.node.name} stopped answering (${now.message})`;
  if (now.role !== 'slave') return `${src.node.name} is now ${now.role}`;
  if (now.masterHost !== src.master.host || now.masterPort !== src.master.port)
    return `${src.node.name} now follows ${now.masterHost}:${now.masterPort}, not ${addr(src.master)}`;
  if (now.replid !== src.before.replid)
    return `${src.node.name}'s replication history changed (${src.before.replid} -> ${now.replid})`;
  const master = await sentinelsMasterNode(target).catch(() => undefined);
  if (master !== src.master)
    return `the Sentinels now name ${master?.name ?? 'no master'}, not ${src.master.name}`;
  return undefined;
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Takes one backup into `opts.dir`; returns its manifest. Refuses (BackupRefused) rather than write half of one. */
export async function takeBackup(target: BackupTarget, opts: BackupOptions): Promise<Manifest> {
  const log = opts.log ?? (() => undefined);
  const started = performance.now();
  mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
  chmodSync(opts.dir, 0o700);
  const src = await pickReplica(target);
  const serverInfo = (await withRedis(src.node.host, src.node.port, target.login, (r) =>
    r.call('INFO', 'server'),
  )) as string;
  const tools = serverTools(serverKindOf(serverInfo));
  const at = new Date();
  const id = backupId(at);
  const rdbName = `${id}.rdb`;
  const partial = join(opts.dir, `.${id}.rdb.partial`);
  const manifestPartial = join(opts.dir, `.${id}.json.partial`);
  log(`copying the data set of ${src.node.name} (a replica of ${src.master.name}) with ${tools.cli} --rdb`);
  try {
    // Created 0600 before the stream fills it: never readable by others, not even for a moment.
    writePrivate(partial, '', { exclusive: true });
    const { username, password } = target.login;
    // The replica's fork that streams the copy is background work too, when it runs here.
    const copy = await forksInBackground(
      localPid(src.node.host, serverInfo),
      runProgram(
        tools.cli,
        [
          '-h',
          src.node.host,
          '-p',
          String(src.node.port),
          '--user',
          username ?? 'operator',
          '--no-auth-warning',
          ...cliTlsArgs(),
          '--rdb',
          partial,
        ],
        password ? { REDISCLI_AUTH: password } : {},
        { background: true },
      ),
    );
    if (copy.code !== 0)
      throw new BackupRefused(
        `${tools.cli} --rdb from ${src.node.name} failed: ${copy.output.trim().split('\n').slice(-2).join(' / ')}`,
      );
    await opts.afterCopy?.();
    const change = await moved(target, src);
    if (change)
      throw new BackupRefused(
        `the replica's master changed during the copy: ${change}; refused, no backup written (try again once the failover is over)`,
      );
    const check = await checkRdb(tools, partial, true);
    if (!check.ok)
      throw new BackupRefused(
        `${tools.checkRdb} refuses the copy: ${check.output.split('\n').slice(-3).join(' / ')}`,
      );
    if (check.replid && check.replid !== src.before.replid)
      throw new BackupRefused(
        `the copy belongs to replication history ${check.replid}, not ${src.before.replid}: refused`,
      );
    const scratch = await ScratchServer.open(tools, opts.dir, `.${id}.rdb.partial`, true);
    const counts = await countKinds(scratch.client).finally(() => scratch.close());
    const bytes = statSync(partial).size;
    const manifest: Manifest = {
      id,
      time: at.toISOString(),
      seconds: 0,
      source: { node: src.node.name, master: src.master.name, server: tools.kind },
      replid: check.replid ?? src.before.replid,
      offset: check.offset ?? src.before.offset,
      counts,
      rdb: { file: rdbName, bytes, sha256: await sha256File(partial, { background: true }) },
    };
    manifest.seconds = Math.round(performance.now() - started) / 1000;
    writePrivate(manifestPartial, `${JSON.stringify(manifest, null, 2)}\n`, { exclusive: true });
    fsyncPath(partial);
    fsyncPath(manifestPartial);
    renameSync(partial, join(opts.dir, rdbName));
    renameSync(manifestPartial, join(opts.dir, `${id}.json`));
    fsyncPath(opts.dir);
    log(`backup ${id}: ${formatCounts(counts)}; ${bytes} bytes in ${manifest.seconds} s`);
    await recordLastGood(target, at).catch((err: Error) =>
      log(`warning: the backup is written, but its time could not be recorded on the master: ${err.message}`),
    );
    return manifest;
  } finally {
    rmSync(partial, { force: true });
    rmSync(manifestPartial, { force: true });
  }
}

/** Writes the time of the last good backup on the master, where the apps read it for /metrics. */
export async function recordLastGood(target: BackupTarget, at: Date): Promise<void> {
  const master = await sentinelsMasterNode(target);
  if (!master) throw new Error('the Sentinels name no master');
  const seconds = String(Math.floor(at.getTime() / 1000));
  await withRedis(master.host, master.port, target.login, async (r) => {
    const old = Number((await r.get(BACKUP_LAST_GOOD_KEY)) ?? 0);
    if (Number(seconds) > old) await r.set(BACKUP_LAST_GOOD_KEY, seconds);
  });
}

/** The time of the last good backup the stack knows (unix seconds), or undefined. */
export async function lastGood(target: BackupTarget): Promise<number | undefined> {
  const master = await sentinelsMasterNode(target);
  if (!master) return undefined;
  const v = await withRedis(master.host, master.port, target.login, (r) => r.get(BACKUP_LAST_GOOD_KEY));
  return v === null ? undefined : Number(v);
}

/** The pid of a node on this machine (a loopback address), from its `INFO server`; else undefined. */
export function localPid(host: string, serverInfo: string): number | undefined {
  if (!/^127\./.test(host) && host !== '::1' && host !== 'localhost') return undefined;
  const m = /^process_id:(\d+)/m.exec(serverInfo);
  return m ? Number(m[1]) : undefined;
}
