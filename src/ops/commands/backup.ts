// `ha-stack backup` and `ha-stack restore`: src/ops/backup/ does the work; this reads the command
// line, finds the running stack and asks for the confirmation a restore needs.

import { join } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { reader } from '../../config/settings.ts';
import { ConfigError } from '../../config/types.ts';
import { haproxyGate } from '../backup/maintenance.ts';
import { restoreBackup } from '../backup/restore.ts';
import { BACKUP_SETTINGS, checkBackupDir } from '../backup/settings.ts';
import { takeBackup } from '../backup/take.ts';
import { RunDir } from '../supervisor/rundir.ts';
import { parseCommandLine } from './args.ts';
import { CliError, readStackFile, runDirPath, runningStack, UsageError } from './context.ts';

const say = (m: string) => process.stdout.write(`${m}\n`);

/** The backup folder: `--dir`, else BACKUP_DIR; one of them is needed (never a default on the nodes' disk). */
export function backupDir(flag: string | undefined, env = process.env): string {
  const dir = flag ?? reader(env, BACKUP_SETTINGS)('BACKUP_DIR');
  if (dir === undefined)
    throw new UsageError(
      'name the backup folder with --dir DIR or BACKUP_DIR (a folder apart from the nodes: another disk or a mounted remote volume)',
    );
  try {
    return checkBackupDir(dir, runDirPath(env), flag === undefined ? 'BACKUP_DIR' : '--dir');
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
}

export function parseBackupArgs(args: string[]): { dir: string } {
  const { values } = parseCommandLine(args, { dir: { type: 'string' } });
  return { dir: backupDir(values.dir) };
}

export async function backup(args: string[]): Promise<void> {
  const { dir } = parseBackupArgs(args);
  const client = runningStack();
  const m = await takeBackup(client, { dir, log: say });
  say(`${join(dir, `${m.id}.json`)}`);
}

export interface RestoreArgs {
  backup: string | undefined;
  dir: string | undefined;
  yes: boolean;
  withoutSessions: boolean;
  reopen: boolean;
}

export function parseRestoreArgs(args: string[]): RestoreArgs {
  const { values, positionals } = parseCommandLine(
    args,
    {
      dir: { type: 'string' },
      yes: { type: 'boolean', short: 'y' },
      'without-sessions': { type: 'boolean' },
      reopen: { type: 'boolean' },
    },
    { max: 1 },
  );
  const reopen = values.reopen === true;
  if (!reopen && positionals.length === 0)
    throw new UsageError('restore needs a backup: its manifest, its .rdb, or its id in --dir / BACKUP_DIR');
  if (reopen && positionals.length) throw new UsageError('--reopen takes no backup');
  const env = reader(process.env, BACKUP_SETTINGS)('BACKUP_DIR');
  return {
    backup: positionals[0],
    dir: values.dir ?? env,
    yes: values.yes === true,
    withoutSessions: values['without-sessions'] === true,
    reopen,
  };
}

/** The operator's yes: `--yes`, or typed at a terminal; without either, refused. */
async function confirm(question: string, yes: boolean): Promise<void> {
  if (yes) return;
  if (!process.stdin.isTTY)
    throw new CliError(`${question}: refused without --yes (no terminal to confirm at)`);
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const answer = await rl.question(`${question}? Type "yes" to go on: `);
  rl.close();
  if (answer.trim() !== 'yes') throw new CliError('not confirmed: nothing done');
}

export async function restore(args: string[]): Promise<void> {
  const a = parseRestoreArgs(args);
  await confirm(
    a.reopen
      ? 'open the site again without a restore'
      : `replace every key of the running stack with backup ${a.backup}${a.withoutSessions ? ' (without its sessions: everyone logs in again)' : ''}, the site closed meanwhile`,
    a.yes,
  );
  const run = new RunDir(runDirPath());
  const client = runningStack();
  const running = readStackFile(run)?.names ?? [];
  const apps = client.topology.apps.map((x) => x.name).filter((n) => running.includes(n));
  const gate = haproxyGate(join(run.nodeDir('haproxy'), 'admin.sock'), apps);
  if (a.reopen) {
    await gate.open();
    say('the site is open');
    return;
  }
  await restoreBackup(client, {
    backup: a.backup!,
    dir: a.dir,
    withoutSessions: a.withoutSessions,
    gate,
    log: say,
  });
}
