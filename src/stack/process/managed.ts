import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';

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

export interface PidRecord {
  pid: number;
  start: string;
  /** /proc/<pid>/comm at start; absent in records written by older versions. */
  comm?: string;
  command: string;
}

export function pidRecord(pid: number, command: string): PidRecord {
  return { pid, start: processStartTime(pid) ?? '', comm: processComm(pid), command };
}

/**
 * True only when the pid is alive and is still the process recorded: same start time and same
 * command name. A pid alone is never trusted, the kernel reuses them.
 */
export function isSameProcess(rec: PidRecord): boolean {
  const start = processStartTime(rec.pid);
  if (start === undefined || start !== rec.start) return false;
  return rec.comm === undefined || processComm(rec.pid) === rec.comm;
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

  start(): void {
    if (this.running) throw new Error(`${this.spec.name} is already running`);
    const fd = openSync(this.spec.logFile, 'a', 0o600);
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
    // spawn() returns after exec succeeded, so comm is already the new program's name.
    if (child.pid)
      writeFileSync(this.spec.pidFile, JSON.stringify(pidRecord(child.pid, this.spec.command)), {
        mode: 0o600,
      });
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
