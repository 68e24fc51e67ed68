import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isSameProcess, type PidRecord, processStartTime } from './managed.ts';
import { waitFor } from './wait.ts';

export class AlreadyRunningError extends Error {
  constructor(
    readonly pid: number,
    readonly dir: string,
  ) {
    super(`a stack is already running from ${dir} (launcher pid ${pid}); stop it with "ha-stack down" first`);
    this.name = 'AlreadyRunningError';
  }
}

/** Layout of a run directory: configs and data per node, logs, pid files, secrets, the launcher lock. */
export class RunDir {
  constructor(readonly dir: string) {
    for (const sub of ['logs', 'pids']) mkdirSync(join(dir, sub), { recursive: true });
  }

  nodeDir(name: string): string {
    const d = join(this.dir, 'nodes', name);
    mkdirSync(d, { recursive: true });
    return d;
  }

  log(name: string): string {
    return join(this.dir, 'logs', `${name}.log`);
  }

  pid(name: string): string {
    return join(this.dir, 'pids', `${name}.pid`);
  }

  get lockFile(): string {
    return join(this.dir, 'launcher.json');
  }

  get controlSocket(): string {
    return join(this.dir, 'control.sock');
  }

  /** A secret kept in the run directory (mode 0600): generated on first use, reused afterwards. */
  secret(name: string, bytes = 24): string {
    const file = join(this.dir, name);
    if (existsSync(file)) return readFileSync(file, 'utf8').trim();
    const value = randomBytes(bytes).toString('base64url');
    writeFileSync(file, `${value}\n`, { mode: 0o600 });
    return value;
  }

  readPid(name: string): PidRecord | undefined {
    try {
      return JSON.parse(readFileSync(this.pid(name), 'utf8')) as PidRecord;
    } catch {
      return undefined;
    }
  }

  /** The live launcher of this run directory, if any. */
  launcher(): PidRecord | undefined {
    try {
      const rec = JSON.parse(readFileSync(this.lockFile, 'utf8')) as PidRecord;
      return isSameProcess(rec) ? rec : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Takes the launcher lock. A lock whose process is gone (a launcher killed with -9) is stale:
   * the processes it left are ours only if pid and start time both match, and those are killed.
   */
  async acquire(): Promise<string[]> {
    const live = this.launcher();
    if (live && live.pid !== process.pid) throw new AlreadyRunningError(live.pid, this.dir);
    const cleaned = await this.cleanStale();
    const rec: PidRecord = {
      pid: process.pid,
      start: processStartTime(process.pid) ?? '',
      command: 'launcher',
    };
    writeFileSync(this.lockFile, JSON.stringify(rec));
    return cleaned;
  }

  release(): void {
    const live = this.launcher();
    if (!live || live.pid === process.pid) rmSync(this.lockFile, { force: true });
    rmSync(this.controlSocket, { force: true });
  }

  async cleanStale(): Promise<string[]> {
    const cleaned: string[] = [];
    for (const file of readdirSync(join(this.dir, 'pids'))) {
      const name = file.replace(/\.pid$/, '');
      const rec = this.readPid(name);
      if (rec && isSameProcess(rec)) {
        process.kill(rec.pid, 'SIGCONT');
        process.kill(rec.pid, 'SIGKILL');
        await waitFor(`leftover ${name} (pid ${rec.pid}) to exit`, () => !isSameProcess(rec), {
          timeoutMs: 5000,
        });
        cleaned.push(name);
      }
      rmSync(this.pid(name), { force: true });
    }
    return cleaned;
  }
}
