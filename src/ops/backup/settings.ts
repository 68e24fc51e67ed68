// The backup's settings: where backups go, how often the supervisor takes one and how many it
// keeps. Part of the operator's tool's table (src/ops/settings.ts), so docs/configuration.md lists them.

import { type Env, integer, reader, text } from '../../config/settings.ts';
import { ConfigError } from '../../config/types.ts';

export const BACKUP_SETTINGS = {
  BACKUP_DIR: text({
    defaultText:
      'none: `ha-stack backup` needs it (or `--dir`), and `ha-stack up` takes no backups without it',
    help: 'the folder backups are written to (an absolute path, best on another disk or a mounted remote volume: never inside the run directory, where the nodes keep their data); created 0700, files 0600',
  }),
  BACKUP_INTERVAL_MINUTES: integer({
    default: 15,
    defaultText: '`15`',
    min: 1,
    max: 1440,
    help: 'minutes between two scheduled backups taken by `ha-stack up` (with BACKUP_DIR set): with the snapshot time, the most writes a restore can lose',
  }),
  BACKUP_KEEP_HOURLY: integer({
    default: 24,
    defaultText: '`24`',
    min: 0,
    max: 1000,
    help: 'how many hourly backups the schedule keeps (the newest of each of the last hours that have one)',
  }),
  BACKUP_KEEP_DAILY: integer({
    default: 7,
    defaultText: '`7`',
    min: 0,
    max: 1000,
    help: 'how many daily backups the schedule keeps (the newest of each of the last days, UTC, that have one)',
  }),
};

export interface BackupSchedule {
  dir: string;
  intervalMinutes: number;
  keepHourly: number;
  keepDaily: number;
}

/** The backup folder: absolute, outside the run directory. */
export function checkBackupDir(dir: string, runDir: string, name = 'BACKUP_DIR'): string {
  if (!dir.startsWith('/')) throw new ConfigError(name, `must be an absolute path, got "${dir}"`);
  const clean = dir.replace(/\/+$/, '') || '/';
  const run = runDir.replace(/\/+$/, '');
  if (clean === run || clean.startsWith(`${run}/`) || run.startsWith(`${clean}/`))
    throw new ConfigError(
      name,
      `${dir} shares the run directory ${runDir}, where the nodes keep their data: a backup must live apart from it`,
    );
  return clean;
}

/** The schedule `ha-stack up` runs, or undefined when BACKUP_DIR is not set. */
export function backupScheduleFromEnv(env: Env, runDir: string): BackupSchedule | undefined {
  const get = reader(env, BACKUP_SETTINGS);
  // Every value is checked, also without a folder: a typo is named, not silently ignored.
  const schedule = {
    intervalMinutes: get('BACKUP_INTERVAL_MINUTES'),
    keepHourly: get('BACKUP_KEEP_HOURLY'),
    keepDaily: get('BACKUP_KEEP_DAILY'),
  };
  const dir = get('BACKUP_DIR');
  if (dir === undefined) return undefined;
  return { dir: checkBackupDir(dir, runDir), ...schedule };
}
