import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';

export type ProcessStatus = 'running' | 'paused' | 'stopped' | 'exited';

export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  env?: Record<string, string | undefined>;
  cwd?: string;
  logFile: string;
  pidFile: string;
}

/** Start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat), or undefined. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export interface PidRecord {
  pid: number;
  start: string;
  command: string;
}

/** True when the pid is alive and is still the process recorded (same start time): never trust a pid alone. */
export function isSameProcess(rec: PidRecord): boolean {
  return processStartTime(rec.pid) === rec.start;
}

/**
 * One child process with its own log file and a pid file holding its start time, so a later run
 * can tell a leftover of ours from an unrelated process that reused the pid.
 */
export class ManagedProcess {
  private child: ChildProcess | undefined;
  status: ProcessStatus = 'stopped';
  exited: Promise<number | null> = Promise.resolve(null);

  constructor(readonly spec: ProcessSpec) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    if (this.status === 'running' || this.status === 'paused')
      throw new Error(`${this.spec.name} is already running`);
    const fd = openSync(this.spec.logFile, 'a');
    const child = spawn(this.spec.command, this.spec.args, {
      cwd: this.spec.cwd,
      env: { ...process.env, ...this.spec.env },
      stdio: ['ignore', fd, fd],
      detached: false,
    });
    closeSync(fd);
    this.child = child;
    this.status = 'running';
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.status = 'exited';
        resolve(code ?? (signal ? -1 : null));
        rm(this.spec.pidFile, { force: true }).catch(() => undefined);
      });
      child.once('error', () => {
        this.status = 'exited';
        resolve(null);
      });
    });
    if (child.pid) {
      const rec: PidRecord = {
        pid: child.pid,
        start: processStartTime(child.pid) ?? '',
        command: this.spec.command,
      };
      writeFileSync(this.spec.pidFile, JSON.stringify(rec));
    }
  }

  get running(): boolean {
    return this.status === 'running' || this.status === 'paused';
  }

  private signal(sig: NodeJS.Signals): void {
    if (this.child?.pid && this.running) process.kill(this.child.pid, sig);
  }

  /** SIGTERM, then SIGKILL after the grace period; resolves once the process has exited. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return;
    if (this.status === 'paused') this.signal('SIGCONT');
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  async kill(): Promise<void> {
    if (!this.running) return;
    this.signal('SIGKILL');
    await this.exited;
  }

  /** SIGTERM without waiting: the caller watches the exit (a graceful stop under load). */
  terminate(): void {
    this.signal('SIGTERM');
  }

  pause(): void {
    this.signal('SIGSTOP');
    if (this.running) this.status = 'paused';
  }

  resume(): void {
    this.signal('SIGCONT');
    if (this.status === 'paused') this.status = 'running';
  }

  async tail(lines = 20): Promise<string> {
    try {
      const text = await readFile(this.spec.logFile, 'utf8');
      return text.trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }
}
