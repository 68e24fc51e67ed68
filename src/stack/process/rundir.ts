import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isSameProcess, type PidRecord, pidRecord } from './managed.ts';
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

/** Run directories locked by this process: a pid check alone cannot refuse a second stack in-process. */
const heldHere = new Set<string>();

/** Layout of a run directory: configs and data per node, logs, pid files, secrets, the launcher lock. */
export class RunDir {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
    for (const sub of ['logs', 'pids']) mkdirSync(join(this.dir, sub), { recursive: true });
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
    return join(this.dir, 'launcher.pid');
  }

  /** The supervisor's report of every process (see health.ts). */
  get stateFile(): string {
    return join(this.dir, 'supervisor.json');
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
    return readRecord(this.pid(name));
  }

  /** The live launcher of this run directory, if any. */
  launcher(): PidRecord | undefined {
    const rec = readRecord(this.lockFile);
    return rec && isSameProcess(rec) ? rec : undefined;
  }

  /**
   * Takes the launcher lock. A lock whose process is gone (a launcher killed with -9) is stale:
   * the processes it left are ours only if pid, start time and command name all match, and those
   * are killed. Returns the names of the processes killed that way.
   */
  async acquire(): Promise<string[]> {
    if (heldHere.has(this.dir)) throw new AlreadyRunningError(process.pid, this.dir);
    const own = JSON.stringify(pidRecord(process.pid, 'launcher'));
    for (let attempt = 0; ; attempt++) {
      try {
        // 'wx' fails if the file exists: two launchers racing cannot both win.
        writeFileSync(this.lockFile, own, { flag: 'wx' });
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
        const live = this.launcher();
        if (live && live.pid !== process.pid) throw new AlreadyRunningError(live.pid, this.dir);
        rmSync(this.lockFile, { force: true });
      }
    }
    heldHere.add(this.dir);
    try {
      return await this.cleanStale();
    } catch (err) {
      this.release();
      throw err;
    }
  }

  release(): void {
    heldHere.delete(this.dir);
    const rec = readRecord(this.lockFile);
    if (!rec || rec.pid === process.pid || !isSameProcess(rec)) rmSync(this.lockFile, { force: true });
    rmSync(this.controlSocket, { force: true });
  }

  /** Kills processes a dead launcher left behind (verified as ours) and removes every stale pid file. */
  async cleanStale(): Promise<string[]> {
    const cleaned: string[] = [];
    for (const file of readdirSync(join(this.dir, 'pids'))) {
      if (!file.endsWith('.pid')) continue;
      const name = file.slice(0, -'.pid'.length);
      const rec = this.readPid(name);
      if (rec && isSameProcess(rec)) {
        try {
          process.kill(rec.pid, 'SIGKILL');
        } catch {
          // Exited in between.
        }
        await waitFor(`leftover ${name} (pid ${rec.pid}) to exit`, () => !isSameProcess(rec), {
          timeoutMs: 5000,
          intervalMs: 20,
        });
        cleaned.push(name);
      }
      rmSync(this.pid(name), { force: true });
    }
    return cleaned;
  }
}

function readRecord(file: string): PidRecord | undefined {
  try {
    const rec = JSON.parse(readFileSync(file, 'utf8')) as PidRecord;
    return typeof rec.pid === 'number' && typeof rec.start === 'string' ? rec : undefined;
  } catch {
    return undefined;
  }
}
