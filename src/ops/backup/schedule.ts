// The supervisor's backups (`ha-stack up` with BACKUP_DIR): one at start, then one every
// BACKUP_INTERVAL_MINUTES, each followed by the retention (manifest.ts toPrune). A refused or failed
// backup is logged and the next one comes at its time; two never overlap.

import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { listBackups, toPrune } from './manifest.ts';
import type { BackupSchedule } from './settings.ts';
import { type BackupTarget, takeBackup } from './take.ts';

/** What a backup's age says to an operator: `12 min ago (2026-...)`, or that none is recorded. */
export function backupAgeText(lastGood: number | undefined, nowMs: number): string {
  if (!lastGood) return 'no good backup recorded';
  const s = Math.max(0, Math.round(nowMs / 1000 - lastGood));
  const age = s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
  return `last good ${age} ago (${new Date(lastGood * 1000).toISOString()})`;
}

/** Deletes the backups the retention does not keep; returns their ids. */
export function prune(dir: string, keepHourly: number, keepDaily: number): string[] {
  const gone = toPrune(listBackups(dir), keepHourly, keepDaily);
  for (const id of gone) {
    // The manifest first: without it the RDB is no longer a backup.
    rmSync(join(dir, `${id}.json`), { force: true });
    rmSync(join(dir, `${id}.rdb`), { force: true });
  }
  return gone;
}

/** Starts the schedule; the returned function stops it (and waits for a backup under way). */
export function startBackupSchedule(
  target: BackupTarget,
  schedule: BackupSchedule,
  log: (m: string) => void,
): () => Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  const once = async () => {
    try {
      await takeBackup(target, { dir: schedule.dir, log: (m) => log(`backup: ${m}`) });
      const gone = prune(schedule.dir, schedule.keepHourly, schedule.keepDaily);
      if (gone.length) log(`backup: retention removed ${gone.join(', ')}`);
    } catch (err) {
      log(`backup: none taken this time: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  const next = (ms: number) => {
    timer = setTimeout(() => {
      running = once().finally(() => {
        running = undefined;
        if (!stopped) next(schedule.intervalMinutes * 60_000);
      });
    }, ms);
  };
  log(
    `backups every ${schedule.intervalMinutes} min into ${schedule.dir} (keeping ${schedule.keepHourly} hourly, ${schedule.keepDaily} daily)`,
  );
  next(0);
  return async () => {
    stopped = true;
    clearTimeout(timer);
    await running;
  };
}
