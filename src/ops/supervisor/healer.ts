import { type BackoffPolicy, nextBackoff, RESTART_BACKOFF } from './backoff.ts';

/** What a node being restarted waits for. */
export type HealPhase = 'restarting' | 'waiting-for-failover';

/** Progress of one start: it waits for the Sentinels, or it launches the process now. */
export type StartStep = 'waiting-for-failover' | 'launching';

export interface HealerDeps {
  /** Starts one process and waits until it is ready; must give up soon after `signal` aborts. */
  start(name: string, signal: AbortSignal, step: (s: StartStep) => void): Promise<void>;
  running(name: string): boolean;
  /** Stops what a failed start left running, before the next try. */
  stopProcess(name: string): Promise<void>;
  /** Something `state()` reports has changed. */
  changed(): void;
  log(message: string): void;
  policy?: BackoffPolicy | undefined;
}

interface Care {
  /** Crashes in a row (see nextBackoff). */
  streak: number;
  readyAt: number | undefined;
  restarts: number;
  /** Stopped by the operator: never restarted until started by the operator. */
  held: boolean;
  phase: HealPhase | undefined;
  timer: NodeJS.Timeout | undefined;
  abort: AbortController | undefined;
  /** The start in progress; settles, never rejects. */
  attempt: Promise<void> | undefined;
  /** Operator commands on this node run one after the other. */
  queue: Promise<unknown>;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0];

/**
 * The restart policy of the supervisor, as compose's `restart: unless-stopped`: a process that
 * exited on its own is started again after a back-off that grows while it keeps crashing, one start
 * at a time per process, retried until it succeeds, the operator stops the process, or `close()`.
 */
export class Healer {
  private readonly cares = new Map<string, Care>();
  private closed = false;

  constructor(private readonly deps: HealerDeps) {}

  private care(name: string): Care {
    let c = this.cares.get(name);
    if (!c) {
      c = {
        streak: 0,
        readyAt: undefined,
        restarts: 0,
        held: false,
        phase: undefined,
        timer: undefined,
        abort: undefined,
        attempt: undefined,
        queue: Promise.resolve(),
      };
      this.cares.set(name, c);
    }
    return c;
  }

  state(name: string): { phase: HealPhase | undefined; restarts: number; held: boolean } {
    const c = this.care(name);
    return { phase: c.phase, restarts: c.restarts, held: c.held };
  }

  /** The process passed its readiness check: its uptime counts from now. */
  ready(name: string): void {
    this.care(name).readyAt = Date.now();
  }

  /** The process exited without being asked to: start it again after its back-off. */
  crashed(name: string): void {
    const c = this.care(name);
    const upMs = c.readyAt === undefined ? 0 : Date.now() - c.readyAt;
    c.readyAt = undefined;
    this.schedule(name, upMs);
  }

  private schedule(name: string, upMs: number): void {
    const c = this.care(name);
    if (this.closed || c.held || c.timer || c.attempt) return;
    const { delayMs, streak } = nextBackoff(c.streak, upMs, this.deps.policy ?? RESTART_BACKOFF);
    c.streak = streak;
    c.phase = 'restarting';
    this.deps.log(`${name}: starting it again in ${delayMs} ms (crash ${streak} in a row)`);
    c.timer = setTimeout(() => {
      c.timer = undefined;
      void this.attempt(name, true).catch(() => undefined);
    }, delayMs);
    // The supervisor's own lifetime is held by what it serves, never by a pending restart.
    c.timer.unref();
    this.deps.changed();
  }

  /** One start; on failure (unless cancelled) the next one is scheduled, and the error rethrown. */
  private attempt(name: string, automatic: boolean): Promise<void> {
    const c = this.care(name);
    const abort = new AbortController();
    c.abort = abort;
    c.phase = 'restarting';
    this.deps.changed();
    const setPhase = (p: HealPhase) => {
      if (c.phase === p) return;
      c.phase = p;
      this.deps.changed();
    };
    const run = (async () => {
      let failed: { err: unknown } | undefined;
      try {
        await this.deps.start(name, abort.signal, (step) => {
          if (step === 'launching' && automatic) c.restarts++;
          setPhase(step === 'launching' ? 'restarting' : step);
        });
        c.readyAt = Date.now();
        if (automatic) this.deps.log(`${name}: started again (restart ${c.restarts})`);
        else c.streak = 0;
      } catch (err) {
        if (!abort.signal.aborted) {
          this.deps.log(`${name}: start failed: ${message(err)}`);
          await this.deps.stopProcess(name).catch(() => undefined);
          failed = { err };
        }
      } finally {
        c.abort = undefined;
        c.attempt = undefined;
        c.phase = undefined;
      }
      // Scheduled before anyone reads the state: a failed start shows as restarting, never as stopped.
      if (failed) this.schedule(name, 0);
      this.deps.changed();
      if (failed) throw failed.err;
      // An operator's start cut short by the stack stopping must not read as done.
      if (abort.signal.aborted && !automatic)
        throw new Error(`the stack is stopping; ${name} was not started`);
    })();
    c.attempt = run.catch(() => undefined);
    return run;
  }

  /** Cancels what is pending for this node: a back-off, or a start in progress (awaited). */
  private async cancel(c: Care): Promise<void> {
    clearTimeout(c.timer);
    c.timer = undefined;
    c.abort?.abort();
    await c.attempt;
    if (c.phase) {
      c.phase = undefined;
      this.deps.changed();
    }
  }

  private exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const c = this.care(name);
    const run = c.queue.then(fn, fn);
    c.queue = run.catch(() => undefined);
    return run;
  }

  /** The operator stops the node: nothing pending for it goes on, and it is not restarted. */
  hold(name: string, stop: () => Promise<void>): Promise<void> {
    return this.exclusive(name, async () => {
      const c = this.care(name);
      c.held = true;
      await this.cancel(c);
      await stop();
      this.deps.changed();
    });
  }

  /**
   * The operator starts the node: a start waiting for its back-off runs now; one in progress is
   * awaited. Rejects when the start fails (the next one is then scheduled, as after a crash).
   */
  start(name: string): Promise<void> {
    return this.exclusive(name, async () => {
      if (this.closed) throw new Error('the stack is stopping');
      const c = this.care(name);
      c.held = false;
      if (c.attempt) await c.attempt;
      clearTimeout(c.timer);
      c.timer = undefined;
      if (this.deps.running(name)) return;
      await this.attempt(name, false);
    });
  }

  /** Cancels every pending restart and waits for starts in progress to give up. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.cares.values()].map((c) => this.cancel(c)));
  }
}
