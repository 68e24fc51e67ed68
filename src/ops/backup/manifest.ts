// A backup is two files in the backup folder: `<id>.rdb` and `<id>.json`, its manifest. The
// manifest is written last (renamed into place once the RDB is), so a backup without one is not a
// backup. Also the schedule's retention: which backups to keep.

import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { KINDS, type KindCounts } from './kinds.ts';
import { runProgram } from './tools.ts';

export interface Manifest {
  /** The backup's name: `backup-<UTC time>`, also the files' names. */
  id: string;
  /** When the snapshot was taken (ISO 8601, UTC) and how long the backup took in all. */
  time: string;
  seconds: number;
  /** The node the snapshot came from (a replica) and the master it followed. */
  source: { node: string; master: string; server: string };
  /** The replication history the snapshot belongs to (the master's replid) and the replica's offset in it. */
  replid: string;
  offset: number;
  counts: KindCounts;
  /** The RDB file: its name next to the manifest, its size in bytes and its SHA-256. */
  rdb: { file: string; bytes: number; sha256: string };
}

export function backupId(at: Date): string {
  return `backup-${at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}`;
}

// Hashes in 1 MiB reads (OpenSSL's SHA-256 under Node), printing the hex digest.
const SHA256_SCRIPT = `const h = require('node:crypto').createHash('sha256');
const s = require('node:fs').createReadStream(process.argv[1], { highWaterMark: 1 << 20 });
s.on('data', (c) => h.update(c));
s.on('error', (e) => { console.error(e.message); process.exit(1); });
s.on('end', () => console.log(h.digest('hex')));`;

/**
 * A file's SHA-256 (hex), computed by a process of its own: hashing a data set's copy (hundreds of
 * MiB, half a second of CPU) would stall the event loop of the supervisor or the CLI that asks, and
 * a backup's hash runs at background priority (`background`: priority.ts) like the rest of it.
 */
export async function sha256File(path: string, opts: { background?: boolean } = {}): Promise<string> {
  const { code, output } = await runProgram(process.execPath, ['-e', SHA256_SCRIPT, path], {}, opts);
  const hex = output.trim();
  if (code !== 0 || !/^[0-9a-f]{64}$/.test(hex))
    throw new Error(`cannot hash ${path}: ${hex || `exit ${code}`}`);
  return hex;
}

/** A manifest read and checked for shape; throws with what is wrong. */
export function parseManifest(text: string, where: string): Manifest {
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch {
    throw new Error(`${where} is not JSON`);
  }
  const counts = m?.counts as Record<string, unknown> | undefined;
  const ok =
    typeof m?.id === 'string' &&
    typeof m.time === 'string' &&
    !Number.isNaN(Date.parse(m.time)) &&
    typeof m.rdb?.file === 'string' &&
    basename(m.rdb.file) === m.rdb.file &&
    typeof m.rdb.sha256 === 'string' &&
    typeof m.rdb.bytes === 'number' &&
    counts !== undefined &&
    KINDS.every((k) => Number.isInteger(counts[k]) && (counts[k] as number) >= 0);
  if (!ok) throw new Error(`${where} is not a backup manifest (id, time, counts, rdb)`);
  return m;
}

/** The manifest of BACKUP (a manifest, an RDB beside one, or a backup's id in `dir`) and its RDB's path. */
export function readBackup(
  given: string,
  dir?: string,
): { manifest: Manifest; rdbPath: string; manifestPath: string } {
  let path = given;
  if (!given.includes('/') && dir) path = join(dir, given);
  if (path.endsWith('.rdb')) path = path.slice(0, -4);
  if (!path.endsWith('.json')) path = `${path}.json`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`no backup manifest at ${path} (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  const manifest = parseManifest(text, path);
  return { manifest, rdbPath: join(dirname(path), manifest.rdb.file), manifestPath: path };
}

/** Every complete backup in `dir` (a manifest that parses), oldest first. */
export function listBackups(dir: string): Manifest[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: Manifest[] = [];
  for (const name of names) {
    if (!/^backup-.*\.json$/.test(name)) continue;
    try {
      out.push(parseManifest(readFileSync(join(dir, name), 'utf8'), name));
    } catch {
      // Not ours, or damaged: not counted as a backup.
    }
  }
  return out.sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
}

/**
 * Which backups the retention keeps: the newest of each of the last `hourly` hours that have one,
 * the newest of each of the last `daily` days (UTC) that have one, and always the newest backup.
 * Returns the ids to delete.
 */
export function toPrune(backups: Pick<Manifest, 'id' | 'time'>[], hourly: number, daily: number): string[] {
  const newestFirst = [...backups].sort((a, b) => Date.parse(b.time) - Date.parse(a.time));
  const keep = new Set<string>();
  if (newestFirst[0]) keep.add(newestFirst[0].id);
  const bucketKeep = (bucketOf: (t: string) => string, n: number) => {
    const seen = new Set<string>();
    for (const b of newestFirst) {
      const bucket = bucketOf(b.time);
      if (seen.has(bucket)) continue;
      if (seen.size >= n) break;
      seen.add(bucket);
      keep.add(b.id);
    }
  };
  bucketKeep((t) => new Date(t).toISOString().slice(0, 13), hourly);
  bucketKeep((t) => new Date(t).toISOString().slice(0, 10), daily);
  return newestFirst.filter((b) => !keep.has(b.id)).map((b) => b.id);
}
