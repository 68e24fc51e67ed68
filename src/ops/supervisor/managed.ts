import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { openLog, writePrivate } from './private-files.ts';

/**
 * `starting` until the supervisor saw it ready; `stopped` when we stopped it, `exited` when it
 * ended any other way (a crash, a `kill()` that simulates one, or a `terminate()`).
 */
export type ProcessStatus = 'starting' | 'running' | 'paused' | 'stopped' | 'exited';

export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string | undefined>;
  cwd?: string;
  logFile: string;
  pidFile: string;
  /** Called once per run of the process, when it has exited (after the status changed). */
  onExit?: (exit: ExitInfo) => void;
  /**
   * The process's umask (it inherits it at the fork): 0o077 keeps what it writes (Redis's AOF,
   * Sentinel's rewritten config) its owner's alone. Default: the launcher's own.
   */
  umask?: number;
}

export interface ExitInfo {
  /** Exit code, null when a signal ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
  at: Date;
  /** The exit followed a `stop()`. */
  requested: boolean;
}

function readProc(pid: number, file: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}

/** Start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat), or undefined. */
export function processStartTime(pid: number): string | undefined {
  const stat = readProc(pid, 'stat');
  // The command name (field 2) may contain spaces and parentheses: count fields after the last ')'.
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

/** The kernel's command name of a process (/proc/<pid>/comm), or undefined. */
export function processComm(pid: number): string | undefined {
  return readProc(pid, 'comm')?.trim();
}

/** A process's argument vector (/proc/<pid>/cmdline), or undefined. */
export function processArgv(pid: number): string[] | undefined {
  return readProc(pid, 'cmdline')?.replace(/\0+$/, '').split('\0');
}

/**
 * The program file a process runs (/proc/<pid>/exe; " (deleted)" dropped, as after an upgrade of
 * the package that installed it), or undefined when it is gone or not ours to inspect.
 */
export function processExe(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, '');
  } catch {
    return undefined;
  }
}

export interface PidRecord {
  pid: number;
  /** processStartTime() at start. */
  start: string;
  /** processExe() at start; a record without it (as older versions wrote) proves nothing. */
  exe?: string;
  command: string;
}

/**
 * The record of a live process. For a child, taken right after spawn(), which returns once the exec
 * succeeded: exe is already the new program's.
 */
export function pidRecord(pid: number, command: string): PidRecord {
  return { pid, start: processStartTime(pid) ?? '', exe: processExe(pid), command };
}

/** The user a process runs as (the owner of /proc/<pid>), or undefined when it is gone. */
export function processUid(pid: number): number | undefined {
  try {
    return statSync(`/proc/${pid}`).uid;
  } catch {
    return undefined;
  }
}

/**
 * True only when the pid is alive, runs as this user, and is still the process recorded: its
 * start time (a reused pid has a later one) and its program file (which changes only when the
 * process execs another program) must both match. A pid alone is never trusted.
 *
 * Neither the command name nor the command line can serve as that proof: /proc/<pid>/comm is the
 * main thread's name, which Node 24 sets to "MainThread", and /proc/<pid>/cmdline is memory the
 * process may overwrite with a title (Redis shows "redis-server 127.0.0.1:6379" there). So a
 * record without the program file (as older versions wrote, with the command name instead) is
 * never taken for a live process: anybody who reads /proc could write one for any process.
 */
export function isSameProcess(rec: PidRecord): boolean {
  if (typeof rec.exe !== 'string' || !rec.exe || typeof rec.start !== 'string' || !rec.start) return false;
  const start = processStartTime(rec.pid);
  if (start === undefined || start !== rec.start) return false;
  if (processUid(rec.pid) !== (process.getuid?.() ?? 0)) return false;
  return processExe(rec.pid) === rec.exe;
}

/**
 * One child process with its own log file and a pid file holding its start time, so a later run
 * can tell a leftover of ours from an unrelated process that reused the pid.
 */
export class ManagedProcess {
  private child: ChildProcess | undefined;
  private stopRequested = false;
  status: ProcessStatus = 'stopped';
  exited: Promise<number | null> = Promise.resolve(null);
  lastExit: ExitInfo | undefined;

  constructor(readonly spec: ProcessSpec) {}

  get name(): string {
    return this.spec.name;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.status === 'starting' || this.status === 'running' || this.status === 'paused';
  }

  /**
   * Starts the process; `update` replaces its arguments or environment for this run and the next
   * ones (a restart after a secret was rotated gets the new one).
   */
  start(update: Partial<Pick<ProcessSpec, 'command' | 'args' | 'env'>> = {}): void {
    if (this.running) throw new Error(`${this.spec.name} is already running`);
    if (update.command) this.spec.command = update.command;
    if (update.args) this.spec.args = update.args;
    if (update.env) this.spec.env = update.env;
    const fd = openLog(this.spec.logFile);
    // spawn() forks before it returns: the umask is set for the child only, then restored.
    const umask = this.spec.umask === undefined ? undefined : process.umask(this.spec.umask);
    let child: ChildProcess;
    try {
      child = spawn(this.spec.command, this.spec.args, {
        cwd: this.spec.cwd,
        env: { ...process.env, ...this.spec.env },
        stdio: ['ignore', fd, fd],
      });
    } finally {
      if (umask !== undefined) process.umask(umask);
      closeSync(fd);
    }
    this.child = child;
    this.stopRequested = false;
    this.status = 'starting';
    this.exited = new Promise((resolve) => {
      // The status changes only after the pid file is gone, so a restart cannot lose its new one.
      const done = (code: number | null, signal: NodeJS.Signals | null) => {
        rm(this.spec.pidFile, { force: true }).finally(() => {
          const requested = this.stopRequested;
          this.status = requested ? 'stopped' : 'exited';
          this.lastExit = { code, signal, at: new Date(), requested };
          resolve(code ?? (signal ? -1 : null));
          this.spec.onExit?.(this.lastExit);
        });
      };
      child.once('exit', (code, signal) => done(code, signal));
      child.once('error', () => {
        if (child.pid === undefined) done(null, null);
      });
    });
    if (child.pid) {
      // A new file, never through a link: what is left there (an exit still on its way) goes first.
      rmSync(this.spec.pidFile, { force: true });
      writePrivate(this.spec.pidFile, JSON.stringify(pidRecord(child.pid, this.spec.command)), {
        exclusive: true,
      });
    }
  }

  /** Called by the supervisor once its readiness check passed. */
  markReady(): void {
    if (this.status === 'starting') this.status = 'running';
  }

  private signal(sig: NodeJS.Signals): void {
    if (!this.child?.pid || !this.running) return;
    try {
      process.kill(this.child.pid, sig);
    } catch {
      // Already gone: the exit event is on its way.
    }
  }

  /** SIGTERM, then SIGKILL after the grace period; idempotent, resolves once the process has exited. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return this.exited.then(() => undefined);
    this.stopRequested = true;
    if (this.status === 'paused') this.signal('SIGCONT');
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** SIGKILL, as a crash would; resolves once the process has exited. */
  async kill(): Promise<void> {
    this.signal('SIGKILL');
    await this.exited;
  }

  /**
   * SIGTERM without waiting: the caller watches the exit (a graceful stop under load). Unlike
   * `stop()`, the exit counts as one the process made on its own: a supervisor restarts it.
   */
  terminate(): void {
    this.signal('SIGTERM');
  }

  pause(): void {
    if (!this.running) throw new Error(`${this.spec.name} is not running`);
    this.signal('SIGSTOP');
    this.status = 'paused';
  }

  resume(): void {
    if (this.status !== 'paused') return;
    this.signal('SIGCONT');
    this.status = 'running';
  }

  /** The last `lines` lines of the process's log. */
  async tail(lines = 20): Promise<string> {
    try {
      const text = await readFile(this.spec.logFile, 'utf8');
      return text.trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }
}
