import { randomBytes } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { REDIS_USERS, type RedisUser, type StackSecrets } from '../render/acl.ts';
import { isSameProcess, type PidRecord, pidRecord } from './managed.ts';
import { checkRunDir, readPrivate, writePrivate } from './private-files.ts';
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

/** The run directory is its owner's alone: folders 0700, files 0600 (see `makePrivate()`). */
export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;
/** What every process the supervisor starts runs with, so that what it writes is 0600 / 0700 too. */
export const PRIVATE_UMASK = 0o077;

/** What the stack keeps in its run directory: these folders, and files named like these. */
const STACK_DIRS = ['logs', 'pids', 'nodes'];
const STACK_FILE = /\.(password|secret|previous|pid|json|sock|tmp)$/;

/** The file of each secret in the run directory. */
export const SECRET_FILES: { redis: Record<RedisUser, string>; sentinel: string; sentinelReader: string } = {
  redis: Object.fromEntries(REDIS_USERS.map((u) => [u, `redis.${u}.password`])) as Record<RedisUser, string>,
  sentinel: 'sentinel.password',
  sentinelReader: 'sentinel.reader.password',
};

/**
 * Layout of a run directory: configs and data per node, logs, pid files, secrets, the launcher lock.
 * Made private (0700) when missing; refused (UnsafeRunDirError, private-files.ts) before anything in
 * it is read when it or anything in it is another user's, a link, or writable by others.
 */
export class RunDir {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
    mkdirSync(this.dir, { recursive: true, mode: DIR_MODE });
    checkRunDir(this.dir);
    for (const sub of ['logs', 'pids']) mkdirSync(join(this.dir, sub), { recursive: true, mode: DIR_MODE });
  }

  nodeDir(name: string): string {
    const d = join(this.dir, 'nodes', name);
    mkdirSync(d, { recursive: true, mode: DIR_MODE });
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
    const known = readIfThere(file);
    if (known !== undefined) return known.trim();
    const value = randomBytes(bytes).toString('base64url');
    writePrivate(file, `${value}\n`, { exclusive: true });
    return value;
  }

  /** A secret kept in the run directory, if its file exists. */
  readSecret(name: string): string | undefined {
    return readIfThere(join(this.dir, name))?.trim() || undefined;
  }

  /** Replaces a secret's file (mode 0600) at once: written beside it, then renamed over it. */
  writeSecret(name: string, value: string): void {
    const file = join(this.dir, name);
    const tmp = `${file}.tmp`;
    rmSync(tmp, { force: true });
    writePrivate(tmp, `${value}\n`, { exclusive: true });
    renameSync(tmp, file);
  }

  /**
   * Every password of the stack, each in its own file (SECRET_FILES); the missing ones are
   * generated, so a run directory of an older version gets them at its next start.
   */
  secrets(): StackSecrets {
    const redis = Object.fromEntries(REDIS_USERS.map((u) => [u, this.secret(SECRET_FILES.redis[u], 32)]));
    return {
      redis: redis as Record<RedisUser, string>,
      sentinel: this.secret(SECRET_FILES.sentinel, 32),
      sentinelReader: this.secret(SECRET_FILES.sentinelReader, 32),
    };
  }

  /**
   * Makes what the stack keeps here its owner's alone: the run directory and its folders 0700,
   * every file 0600. Processes started since get umask 077; this catches what an older version left
   * readable. Only the stack's own files are touched (the directory may have been chosen with
   * HA_STACK_RUN_DIR).
   */
  makePrivate(): void {
    const walk = (path: string) => {
      let st: ReturnType<typeof lstatSync>;
      try {
        st = lstatSync(path);
      } catch {
        return; // Removed in between.
      }
      if (st.isSymbolicLink()) return;
      if (st.isDirectory()) {
        if ((st.mode & 0o777) !== DIR_MODE) chmodSync(path, DIR_MODE);
        for (const entry of readdirSync(path)) walk(join(path, entry));
      } else if ((st.mode & 0o777) !== FILE_MODE) chmodSync(path, FILE_MODE);
    };
    if ((lstatSync(this.dir).mode & 0o777) !== DIR_MODE) chmodSync(this.dir, DIR_MODE);
    for (const entry of readdirSync(this.dir))
      if (STACK_DIRS.includes(entry) || STACK_FILE.test(entry)) walk(join(this.dir, entry));
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
   * the processes it left are ours only if pid, start time and program file all match
   * (managed.ts: isSameProcess), and those are killed. Returns the names of the processes killed
   * that way.
   */
  async acquire(): Promise<string[]> {
    if (heldHere.has(this.dir)) throw new AlreadyRunningError(process.pid, this.dir);
    const own = JSON.stringify(pidRecord(process.pid, 'launcher'));
    for (let attempt = 0; ; attempt++) {
      try {
        // 'wx' fails if the file exists: two launchers racing cannot both win.
        writePrivate(this.lockFile, own, { exclusive: true });
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
      this.makePrivate();
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

/** A file of the run directory (never through a link), or undefined when there is none. */
function readIfThere(file: string): string | undefined {
  try {
    return readPrivate(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function readRecord(file: string): PidRecord | undefined {
  try {
    const rec = JSON.parse(readPrivate(file)) as PidRecord;
    return typeof rec.pid === 'number' && typeof rec.start === 'string' ? rec : undefined;
  } catch {
    return undefined;
  }
}
