import { fileURLToPath } from 'node:url';
import { type ExitInfo, ManagedProcess } from './managed.ts';
import { PRIVATE_UMASK, type RunDir } from './rundir.ts';
import { StackStartError } from './stack-options.ts';
import { waitFor } from './wait.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** How long a Redis node that keeps loading or syncing may take to be ready, in all. */
const LOAD_MAX_MS = 10 * 60_000;

/** The stack is stopping: nothing is started any more. */
export class StackStoppingError extends Error {
  constructor(name: string) {
    super(`the stack is stopping; ${name} is not started`);
    this.name = 'StackStoppingError';
  }
}

export interface ProcessSetDeps {
  run: RunDir;
  /** Deadline of each readiness wait. */
  timeoutMs: number;
  /** A process ended; `exit.requested` tells a stop from a crash. */
  exited(name: string, exit: ExitInfo): void;
  /** A process's status changed (started, ready, exited, paused). */
  changed(): void;
}

/**
 * The processes of a stack by name, in the order they were first started: each launched with its
 * log and pid file in the run directory, waited on until ready, signalled, stopped.
 */
export class ProcessSet {
  private readonly procs = new Map<string, ManagedProcess>();
  private readonly order: string[] = [];
  /** Set once the whole stack is stopping: `launch` refuses from then on. */
  private closing = false;

  constructor(private readonly deps: ProcessSetDeps) {}

  get stopping(): boolean {
    return this.closing;
  }

  /** Every process started so far, in start order. */
  get names(): string[] {
    return [...this.order];
  }

  process(name: string): ManagedProcess {
    const p = this.procs.get(name);
    if (!p) throw new Error(`unknown or not started: ${name} (known: ${this.order.join(', ')})`);
    return p;
  }

  running(name: string): boolean {
    return this.procs.get(name)?.running ?? false;
  }

  /** Starts the process (again, when it ran before) with these arguments and environment. */
  launch(name: string, command: string, args: string[], env?: Record<string, string>): void {
    if (this.closing) throw new StackStoppingError(name);
    let proc = this.procs.get(name);
    if (!proc) {
      proc = new ManagedProcess({
        name,
        command,
        args,
        env,
        cwd: REPO_ROOT,
        logFile: this.deps.run.log(name),
        pidFile: this.deps.run.pid(name),
        umask: PRIVATE_UMASK,
        onExit: (exit) => this.deps.exited(name, exit),
      });
      this.procs.set(name, proc);
      this.order.push(name);
    }
    // Each start with what the stack knows now: a rotated secret reaches the restarted process, an
    // upgraded node starts on its new server.
    proc.start({ command, args, env });
    this.deps.changed();
  }

  /**
   * Waits until `check` passes, then marks the process ready. Gives up at the deadline (extended
   * while `progress` says it is still loading), when `signal` aborts, or when the process exits.
   */
  async waitReady(
    name: string,
    what: string,
    check: () => Promise<boolean>,
    signal?: AbortSignal,
    progress?: () => Promise<boolean>,
  ): Promise<void> {
    const proc = this.procs.get(name);
    try {
      await waitFor(what, check, {
        timeoutMs: this.deps.timeoutMs,
        ...(progress ? { progress, maxMs: LOAD_MAX_MS } : {}),
        abort: () => (signal?.aborted ? 'cancelled' : proc && !proc.running ? `${name} exited` : undefined),
      });
      proc?.markReady();
      this.deps.changed();
    } catch (err) {
      throw new StackStartError(name, what, err, proc ? await proc.tail(20) : '');
    }
  }

  /** SIGTERM, SIGKILL after the grace period; a process never started is left alone. */
  async stop(name: string): Promise<void> {
    await this.procs.get(name)?.stop(graceMs(name));
  }

  /** SIGKILL, as a crash. */
  async kill(name: string): Promise<void> {
    await this.process(name).kill();
  }

  /** SIGTERM without waiting for the exit. */
  terminate(name: string): void {
    this.process(name).terminate();
  }

  pause(name: string): void {
    this.process(name).pause();
    this.deps.changed();
  }

  resume(name: string): void {
    this.process(name).resume();
    this.deps.changed();
  }

  /** Refuses every start from now on. */
  close(): void {
    this.closing = true;
  }

  /** Stops every process in reverse start order. */
  async stopAll(): Promise<void> {
    for (const n of [...this.order].reverse()) await this.stop(n);
  }
}

/** How long a stop waits after SIGTERM before SIGKILL: an app drains its requests first. */
function graceMs(name: string): number {
  return name.startsWith('app') ? 15_000 : 5000;
}
