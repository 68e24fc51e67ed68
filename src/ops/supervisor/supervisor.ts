import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { haproxyStats, sentinelView, upServers } from '../../ha/probes.ts';
import type { StackActions } from '../actions.ts';
import { type PortName, portVariable, type RedisNode } from '../topology.ts';
import { Healer, type StartStep } from './healer.ts';
import { type NodeHealth, type SupervisorState, writeState } from './health.ts';
import type { ExitInfo } from './managed.ts';
import { assertPortFree } from './ports.ts';
import { OPERATOR_PASSWORD_FILE, REPO_ROOT, StackStoppingError } from './processes.ts';
import { rejoinTarget } from './rejoin.ts';
import { RotatingStack } from './rotation.ts';
import { type StackOptions, StackStartError } from './stack-options.ts';
import { ReadinessTimeoutError, waitFor } from './wait.ts';

export { OPERATOR_PASSWORD_FILE, REPO_ROOT, type StackOptions, StackStartError, StackStoppingError };

/**
 * Starts the topology as real processes in order, each step waiting on real readiness, restarts a
 * process that exits on its own (as compose's `restart: unless-stopped`), and stops it all in
 * reverse order. The CLI and the tests use this same class.
 */
export class Stack extends RotatingStack implements StackActions {
  private stopping: Promise<void> | undefined;
  /** Exits are restarted only once the stack is up: during start-up a crash fails the start. */
  private healing = false;
  private written = '';
  private readonly healer = new Healer({
    start: (name, signal, step) => this.startAgain(name, signal, step),
    running: (name) => this.procs.get(name)?.running ?? false,
    stopProcess: (name) => this.stopProcess(name),
    changed: () => this.changed(),
    log: (m) => this.opts.onEvent?.(m),
    policy: this.opts.restartBackoff,
  });

  static async start(opts: StackOptions): Promise<Stack> {
    const stack = new Stack(opts);
    const cleaned = await stack.run.acquire();
    if (cleaned.length) opts.onEvent?.(`cleaned leftovers of a killed launcher: ${cleaned.join(', ')}`);
    try {
      await stack.boot();
      return stack;
    } catch (err) {
      await stack.stop();
      throw err;
    }
  }

  private async boot(): Promise<void> {
    const t = this.topology;
    const ports: [PortName, string, number][] = [
      ...t.redis,
      ...t.sentinels,
      ...t.apps.slice(0, this.appCount),
    ].map((n) => [n.name as PortName, n.host, n.port]);
    if (this.withHaproxy) {
      const h = t.haproxy;
      ports.push(['haproxy-http', h.host, h.httpPort], ['haproxy-stats', h.host, h.statsPort]);
      ports.push(['haproxy-redis', h.host, h.redisPort]);
    }
    for (const [name, host, port] of ports)
      await assertPortFree(port, portVariable(name), { host, what: name });

    const master = this.recordedMaster() ?? t.redis.find((r) => r.initialRole === 'master')!;
    await this.startRedis(master, null);
    for (const node of t.redis.filter((r) => r !== master)) await this.startRedis(node, master);
    for (const s of t.sentinels) await this.startSentinel(s.name, master);
    await this.waitSentinelsAgree();
    for (const app of t.apps.slice(0, this.appCount)) await this.startApp(app.name);
    if (this.withHaproxy) await this.startHaproxy();
    for (const name of this.order) this.healer.ready(name);
    this.healing = true;
    // A process that died while a later one was being started is restarted now.
    for (const name of this.order) if (this.procs.get(name)?.status === 'exited') this.healer.crashed(name);
  }

  /** The master the Sentinels last agreed on in an earlier run (their rewritten configs), if any. */
  private recordedMaster(): RedisNode | undefined {
    const file = join(this.run.dir, 'nodes', 'sentinel-1', 'sentinel.conf');
    if (!existsSync(file)) return undefined;
    const m = new RegExp(`^sentinel monitor ${this.topology.masterName} (\\S+) (\\d+)`, 'm').exec(
      readFileSync(file, 'utf8'),
    );
    return this.topology.redis.find((r) => m && r.host === m[1] && r.port === Number(m[2]));
  }

  private async waitSentinelsAgree(): Promise<void> {
    const t = this.topology;
    const replicas = t.redis.length - 1;
    const others = t.sentinels.length - 1;
    for (const s of t.sentinels) {
      await this.step(
        s.name,
        `the master, num-slaves=${replicas} and num-other-sentinels=${others}`,
        async () => {
          const v = await sentinelView(s.host, s.port, t.masterName, this.sentinelPassword);
          return v.master !== null && v.replicas === replicas && v.otherSentinels === others;
        },
      );
    }
  }

  /**
   * Starts one process again, the way each kind must: a Redis node asks the Sentinels first and
   * comes back as a replica of the master they name, never as a master beside it; a Sentinel
   * starts on the config it rewrote with what it learned.
   */
  private async startAgain(name: string, signal: AbortSignal, step: (s: StartStep) => void): Promise<void> {
    const redis = this.topology.redis.find((r) => r.name === name);
    if (redis) {
      const target = await rejoinTarget(this.topology, redis, {
        sentinelPassword: this.sentinelPassword,
        signal,
        waiting: () => step('waiting-for-failover'),
      });
      step('launching');
      return this.startRedis(redis, target, signal);
    }
    signal.throwIfAborted();
    step('launching');
    if (this.topology.sentinels.some((s) => s.name === name))
      return this.startSentinel(name, undefined, signal);
    if (name === 'haproxy') return this.startHaproxy(signal);
    return this.startApp(name, signal);
  }

  private async stopProcess(name: string): Promise<void> {
    await this.procs.get(name)?.stop(this.graceMs(name));
  }

  protected override exited(name: string, exit: ExitInfo): void {
    this.changed();
    if (exit.requested || this.closing) return;
    const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
    this.opts.onEvent?.(`${name} exited (${how})`);
    if (this.healing) this.healer.crashed(name);
  }

  // --- health ------------------------------------------------------------------------------------

  /** Each process: its status (or what a restart waits for), its automatic restarts, its last exit. */
  health(): Record<string, NodeHealth> {
    const out: Record<string, NodeHealth> = {};
    for (const name of this.order) {
      const proc = this.procs.get(name)!;
      const h = this.healer.state(name);
      const e = proc.lastExit;
      out[name] = {
        status: h.phase ?? (h.held && !proc.running ? 'stopped' : proc.status),
        restarts: h.restarts,
        lastExit: e ? { code: e.code, signal: e.signal, at: e.at.toISOString() } : null,
      };
    }
    return out;
  }

  /** What `<runDir>/supervisor.json` holds. */
  supervisorState(): SupervisorState {
    return { updated: new Date().toISOString(), nodes: this.health() };
  }

  protected override changed(): void {
    const nodes = this.health();
    const text = JSON.stringify(nodes);
    if (text === this.written) return;
    this.written = text;
    try {
      writeState(this.stateFile, { updated: new Date().toISOString(), nodes });
    } catch (err) {
      // The run directory removed under a stopping stack: nothing left to report to.
      this.opts.onEvent?.(`cannot write ${this.stateFile}: ${err instanceof Error ? err.message : err}`);
    }
  }

  // --- actions -----------------------------------------------------------------------------------

  /** SIGKILL, as a crash: the process is started again after its back-off. */
  async kill(name: string): Promise<void> {
    await this.process(name).kill();
  }

  /** SIGTERM without waiting; the process exits on its own terms and is started again. */
  async terminate(name: string): Promise<void> {
    this.process(name).terminate();
  }

  pause(name: string): void {
    this.process(name).pause();
    this.changed();
  }

  resume(name: string): void {
    this.process(name).resume();
    this.changed();
  }

  /**
   * Starts a node the operator stopped, or one waiting for its restart, now; as an automatic
   * restart does (a Redis node as a replica of the master the Sentinels name). Resolves once it
   * is ready; a node already running is left as it is.
   */
  async start(name: string): Promise<void> {
    this.process(name);
    await this.healer.start(name);
  }

  /**
   * `stop(name)`: stops one node (SIGTERM, SIGKILL after the grace period); it stays down, never
   * restarted, until `start(name)`. `stop()`: stops the whole stack in reverse start order,
   * cancelling every pending restart first, and releases the run directory; idempotent.
   */
  stop(name?: string): Promise<void> {
    if (name !== undefined) {
      this.process(name);
      return this.healer.hold(name, () => this.stopProcess(name));
    }
    this.stopping ??= (async () => {
      this.closing = true;
      await this.healer.close();
      for (const n of [...this.order].reverse()) await this.stopProcess(n);
      this.changed();
      this.run.release();
    })();
    return this.stopping;
  }

  /** Stops a node and starts it again (a Redis node rejoins as a replica of the current master). */
  async restart(name: string): Promise<void> {
    await this.stop(name);
    await this.start(name);
  }

  /** Restarts the app instances one at a time; each is drained and taken out of HAProxy first. */
  protected async rollApps(): Promise<string[]> {
    const names = this.topology.apps.slice(0, this.appCount).map((a) => a.name);
    const timeoutMs = this.opts.timeoutMs ?? 30_000;
    const up = async (name: string) => upServers(await haproxyStats(this.stats), 'apps').includes(name);
    for (const name of names) {
      if (this.withHaproxy)
        await waitFor(`HAProxy to have ${name} UP before its restart`, () => up(name), { timeoutMs });
      // SIGTERM: /readyz answers 503 while the instance still serves, HAProxy takes it out.
      await this.stop(name);
      if (this.withHaproxy)
        await waitFor(`HAProxy to take ${name} out`, async () => !(await up(name)), { timeoutMs });
      await this.start(name);
      if (this.withHaproxy) await waitFor(`HAProxy to have ${name} UP`, () => up(name), { timeoutMs });
      this.opts.onEvent?.(`${name} restarted`);
    }
    return names;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

export { ReadinessTimeoutError };
