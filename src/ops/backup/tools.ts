// The server's own tools for a backup: its CLI (`--rdb`), its RDB checker, and a server of the same
// kind to open an RDB file apart from the stack. Redis and Valkey name them differently, and a
// Valkey 8 RDB (version 11) is refused by Redis 7.0's checker, so they follow the server the nodes run.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { Redis } from 'ioredis';
import { parseInfo } from '../../ha/info.ts';
import { freePort } from '../supervisor/ports.ts';
import { waitFor } from '../supervisor/wait.ts';
import {
  addCounts,
  COUNT_SCRIPT,
  countArgs,
  countsFromReply,
  emptyCounts,
  type KindCounts,
} from './kinds.ts';
import { ownBackground } from './priority.ts';

export type ServerKind = 'redis' | 'valkey';

export interface ServerTools {
  kind: ServerKind;
  server: string;
  cli: string;
  checkRdb: string;
}

/** The kind of server from its `INFO server` (Valkey names itself in `server_name`). */
export function serverKindOf(infoServer: string): ServerKind {
  const info = parseInfo(infoServer);
  return info['server_name'] === 'valkey' || info['valkey_version'] !== undefined ? 'valkey' : 'redis';
}

function onPath(name: string, path = process.env['PATH'] ?? ''): boolean {
  return path.split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The programs of a server kind, found on PATH (clear error naming the package when missing). */
export function serverTools(kind: ServerKind, exists: (name: string) => boolean = onPath): ServerTools {
  const tools = {
    kind,
    server: `${kind}-server`,
    cli: `${kind}-cli`,
    checkRdb: `${kind}-check-rdb`,
  };
  const missing = [tools.server, tools.cli, tools.checkRdb].filter((p) => !exists(p));
  if (missing.length)
    throw new Error(
      `${missing.join(', ')} not found on PATH (Debian: apt-get install ${kind === 'redis' ? 'redis-server redis-tools' : 'valkey-server valkey-tools'})`,
    );
  return tools;
}

/** Runs a program to its end; its exit code and output (stdout and stderr together). */
export function runProgram(
  program: string,
  args: string[],
  env: Record<string, string> = {},
  opts: { background?: boolean } = {},
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // A backup's work: the stack's processes first, paced (priority.ts). A restore's runs at full speed.
    const release = opts.background ? ownBackground(child.pid) : () => undefined;
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    // Released at its exit (reaped in the same turn, before any timer of the pace can fire): a
    // reaped pid may soon be another process's, and must get no signal of ours.
    child.once('exit', release);
    child.once('error', (err) => {
      release();
      reject(err);
    });
    child.once('close', (code) => {
      release();
      resolve({ code, output });
    });
  });
}

export interface RdbCheck {
  ok: boolean;
  output: string;
  /** The replication id and offset the file was written at (its AUX fields), when it names them. */
  replid: string | undefined;
  offset: number | undefined;
}

/** `<kind>-check-rdb FILE`: whole and readable, and the replication position it was written at. */
export async function checkRdb(tools: ServerTools, file: string, inBackground = false): Promise<RdbCheck> {
  const { code, output } = await runProgram(tools.checkRdb, [file], {}, { background: inBackground });
  const aux = (name: string) => new RegExp(`AUX FIELD ${name} = '([^']*)'`).exec(output)?.[1];
  const offset = aux('repl-offset');
  return {
    ok: code === 0 && /RDB looks OK/.test(output),
    output: output.trim(),
    replid: aux('repl-id'),
    offset: offset === undefined ? undefined : Number(offset),
  };
}

/** Counts a node's keys by kind (kinds.ts), without moving their names. */
export async function countKinds(r: Redis): Promise<KindCounts> {
  return (await countKindsExpiring(r, 0)).counts;
}

/** The counts, and how many of each kind expire within `soonMs`. */
export async function countKindsExpiring(
  r: Redis,
  soonMs: number,
): Promise<{ counts: KindCounts; soon: KindCounts }> {
  let counts = emptyCounts();
  let soon = emptyCounts();
  let cursor = '0';
  do {
    const part = countsFromReply(await r.call('EVAL_RO', COUNT_SCRIPT, '0', ...countArgs(soonMs, cursor)));
    counts = addCounts(counts, part.counts);
    soon = addCounts(soon, part.soon);
    cursor = part.cursor;
  } while (cursor !== '0');
  return { counts, soon };
}

/**
 * A server of the nodes' kind holding one RDB file, on a free loopback port with a password of its
 * own, no persistence, and gone at close(): to count a backup's keys and to restore them from.
 * `dir` holds the file as `dbfile` (the server takes a file name, not a path).
 */
export class ScratchServer {
  private constructor(
    readonly client: Redis,
    readonly port: number,
    readonly password: string,
    private readonly stop: () => Promise<void>,
  ) {}

  static async open(
    tools: ServerTools,
    dir: string,
    dbfile: string,
    inBackground = false,
  ): Promise<ScratchServer> {
    const port = await freePort();
    const password = randomBytes(24).toString('hex');
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--dbfilename', dbfile];
    args.push('--save', '', '--appendonly', 'no', '--daemonize', 'no', '--logfile', '');
    args.push('--requirepass', password, '--maxmemory', '0', '--protected-mode', 'yes');
    const child = spawn(tools.server, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const release = inBackground ? ownBackground(child.pid) : () => undefined;
    let log = '';
    let exited = false;
    const keep = (d: Buffer) => {
      log = (log + d.toString()).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('exit', () => {
      exited = true;
      release();
    });
    const stop = async () => {
      release();
      if (exited) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    };
    // No reconnection of its own (retryStrategy null): the wait below connects again after each
    // failed attempt, and only from a closed state. Connecting while ioredis was reconnecting made
    // a second connection; on disconnect ioredis ended one and reconnected the other every 5 s,
    // for good, which held the process open.
    const client = new Redis({
      port,
      host: '127.0.0.1',
      password,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on('error', () => undefined);
    try {
      await waitFor(
        `a ${tools.server} to load ${dbfile}`,
        async () => {
          if (exited)
            throw new Error(`${tools.server} stopped: ${log.trim().split('\n').slice(-3).join(' / ')}`);
          if (['wait', 'end', 'close'].includes(client.status)) await client.connect();
          const info = parseInfo((await client.info('persistence')) as string);
          return info['loading'] === '0';
        },
        {
          timeoutMs: 300_000,
          intervalMs: 50,
          abort: () => (exited ? `${tools.server} stopped: ${log.trim()}` : undefined),
        },
      );
    } catch (err) {
      client.disconnect();
      await stop();
      throw err;
    }
    return new ScratchServer(client, port, password, stop);
  }

  async close(): Promise<void> {
    this.client.disconnect();
    await this.stop();
  }
}
