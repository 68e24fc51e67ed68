import { useStackTls } from '../../ha/tls.ts';
import type { StackActions } from '../actions.ts';
import type { StackSecrets } from '../render/acl.ts';
import { serverFromEnv } from '../settings.ts';
import { ensureCertificates, givenCertificates, OPS_CERT } from '../tls/certs.ts';
import { defineTopology, type RedisNode } from '../topology.ts';
import { bootStack } from './boot.ts';
import type { StaleMasterDemoter } from './demoter.ts';
import { staleMasterDemoter } from './demoter-wiring.ts';
import { Healer } from './healer.ts';
import type { NodeHealth, SupervisorState } from './health.ts';
import { LiveSecrets, OPERATOR_PASSWORD_FILE } from './live-secrets.ts';
import type { ExitInfo, ManagedProcess } from './managed.ts';
import { Monitoring } from './monitoring.ts';
import { ProcessSet, REPO_ROOT, StackStoppingError } from './process-set.ts';
import { rollApps } from './roll.ts';
import type { RotateResult } from './rotate.ts';
import { Rotator } from './rotation.ts';
import { RunDir } from './rundir.ts';
import { ServerChoice, type ServerKind } from './servers.ts';
import { type StackOptions, StackStartError } from './stack-options.ts';
import { type Addr, StackView } from './stack-view.ts';
import { Starter } from './starter.ts';
import { StateReport } from './state-report.ts';
import { type UpgradeResult, Upgrader } from './upgrade.ts';
import { ViewDelegates } from './view-delegates.ts';
import { ReadinessTimeoutError } from './wait.ts';

export { OPERATOR_PASSWORD_FILE, REPO_ROOT, type StackOptions, StackStartError, StackStoppingError };

/**
 * Starts the topology as real processes in order, each step waiting on real readiness, restarts a
 * process that exits on its own (as compose's `restart: unless-stopped`), and stops it all in
 * reverse order. The CLI and the tests use this same class. It assembles the parts: the processes
 * (ProcessSet), how each kind starts (Starter), the restarts (Healer), the rotations (Rotator).
 * The addresses and logins it answers with are StackView's (view-delegates.ts).
 */
export class Stack extends ViewDelegates implements StackActions {
  readonly run: RunDir;
  private readonly live: LiveSecrets;
  protected readonly view: StackView;
  private readonly processes: ProcessSet;
  private readonly starter: Starter;
  private readonly healer: Healer;
  private readonly rotator: Rotator;
  private readonly report: StateReport;
  private readonly upgrader: Upgrader;
  /** With `--monitoring` (monitoring.ts). */
  readonly monitoring: Monitoring | undefined;
  private readonly demoter?: StaleMasterDemoter;
  private stopping: Promise<void> | undefined;
  /** Exits are restarted only once the stack is up: during start-up a crash fails the start. */
  private healing = false;

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

  private constructor(private readonly opts: StackOptions) {
    super();
    const log = (m: string) => opts.onEvent?.(m);
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const run = new RunDir(opts.runDir);
    this.run = run;
    // The topology is checked before the run directory gets its secrets.
    const topology = defineTopology(opts.topology);
    this.live = new LiveSecrets(run, opts.appEnv);
    // TLS: the certificates before anything starts, and this process's connections on them.
    const certs = !opts.tls
      ? undefined
      : opts.tlsDir
        ? givenCertificates(opts.tlsDir, run.dir, topology)
        : ensureCertificates(run.dir, topology);
    useStackTls(certs?.of(OPS_CERT));
    this.view = new StackView(topology, this.live, opts.apps ?? topology.apps.length, certs);
    this.processes = new ProcessSet({
      run,
      timeoutMs,
      exited: (name, exit) => this.exited(name, exit),
      changed: () => this.report.changed(),
    });
    const servers = new ServerChoice(opts.server ?? serverFromEnv());
    const { view, processes } = this;
    this.monitoring = opts.monitoring
      ? new Monitoring({
          topology: view.topology,
          run,
          processes,
          passwords: () => ({
            exporter: this.live.passwords.redis.exporter,
            sentinelReader: this.live.passwords.sentinelReader,
          }),
          tls: certs?.of(OPS_CERT),
        })
      : undefined;
    const monitoring = this.monitoring;
    this.starter = new Starter({ opts, run, secrets: this.live, view, processes, servers, monitoring });
    this.healer = new Healer({
      start: (name, signal, step) => this.starter.startAgain(name, signal, step),
      running: (name) => processes.running(name),
      stopProcess: (name) => processes.stop(name),
      changed: () => this.report.changed(),
      log,
      policy: opts.restartBackoff,
    });
    if (opts.demoteStaleMasters !== false)
      this.demoter = staleMasterDemoter({ view, log, changed: () => this.report.changed() });
    const { demoter } = this;
    this.report = new StateReport({ processes, healer: this.healer, file: run.stateFile, log, demoter });
    const startCopyTarget = (n: RedisNode, m: Addr) => this.starter.startRedis(n, m, undefined, true);
    this.upgrader = new Upgrader({ actions: this, servers, run, log, timeoutMs: 60_000, startCopyTarget });
    const withHaproxy = this.starter.withHaproxy;
    this.rotator = new Rotator({
      topology: view.topology,
      run,
      secrets: this.live,
      creds: view,
      front: view,
      apps: view.topology.apps.slice(0, view.appCount).map((a) => a.name),
      withHaproxy,
      running: (name) => processes.running(name),
      startedWith: (name) => (processes.names.includes(name) ? processes.process(name).spec.env : undefined),
      stopping: () => processes.stopping,
      rollApps: () =>
        rollApps({
          view,
          withHaproxy,
          timeoutMs: opts.rollTimeoutMs ?? timeoutMs,
          stop: (name) => this.stop(name),
          start: (name) => this.start(name),
          log,
        }),
      reloadHaproxy: () => this.starter.reloadHaproxy(),
      certs: view.certs,
      certsGiven: opts.tlsDir !== undefined,
      timeoutMs,
      restart: (name) => this.restart(name),
      log,
    });
  }

  private async boot(): Promise<void> {
    await bootStack({
      view: this.view,
      starter: this.starter,
      processes: this.processes,
      runDir: this.run.dir,
      monitoring: this.monitoring,
    });
    this.rotator.booted();
    const names = this.processes.names;
    for (const name of names) this.healer.ready(name);
    this.healing = true;
    this.demoter?.start();
    // A process that died while a later one was being started is restarted now.
    for (const name of names) if (this.processes.process(name).status === 'exited') this.healer.crashed(name);
  }

  private exited(name: string, exit: ExitInfo): void {
    this.report.changed();
    if (exit.requested || this.processes.stopping) return;
    const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
    this.opts.onEvent?.(`${name} exited (${how})`);
    if (this.healing) this.healer.crashed(name);
  }

  /** Each process: its status (or what a restart waits for), its automatic restarts, its last exit. */
  health(): Record<string, NodeHealth> {
    return this.report.health();
  }

  /** What `<runDir>/supervisor.json` holds. */
  supervisorState(): SupervisorState {
    return this.report.state();
  }

  /** `<runDir>/supervisor.json`: every process's status and restart count. */
  get stateFile(): string {
    return this.run.stateFile;
  }

  // --- actions -----------------------------------------------------------------------------------

  /** SIGKILL, as a crash: the process is started again after its back-off. */
  kill(name: string): Promise<void> {
    return this.processes.kill(name);
  }

  /** SIGTERM without waiting; the process exits on its own terms and is started again. */
  async terminate(name: string): Promise<void> {
    this.processes.terminate(name);
  }

  pause(name: string): void {
    this.processes.pause(name);
  }

  resume(name: string): void {
    this.processes.resume(name);
  }

  /**
   * Starts a node the operator stopped, or one waiting for its restart, now; as an automatic
   * restart does (a Redis node as a replica of the master the Sentinels name). Resolves once it
   * is ready; a node already running is left as it is.
   */
  async start(name: string): Promise<void> {
    this.processes.process(name);
    await this.healer.start(name);
  }

  /**
   * `stop(name)`: stops one node (SIGTERM, SIGKILL after the grace period); it stays down, never
   * restarted, until `start(name)`. `stop()`: stops the whole stack in reverse start order,
   * cancelling every pending restart first, and releases the run directory; idempotent.
   */
  stop(name?: string): Promise<void> {
    if (name !== undefined) {
      this.processes.process(name);
      return this.healer.hold(name, () => this.processes.stop(name));
    }
    this.stopping ??= (async () => {
      this.processes.close();
      await this.demoter?.close();
      await this.healer.close();
      await this.processes.stopAll();
      this.report.changed();
      this.run.release();
    })();
    return this.stopping;
  }

  /** Stops a node and starts it again (a Redis node rejoins as a replica of the current master). */
  async restart(name: string): Promise<void> {
    await this.stop(name);
    await this.start(name);
  }

  /** Replaces a secret without downtime (rotation.ts). */
  rotate(secret: string): Promise<RotateResult> {
    return this.rotator.rotate(secret);
  }

  /** Moves every Redis node and Sentinel to `server`, one at a time (upgrade.ts). */
  upgrade(server: ServerKind, pastNoReturn: boolean): Promise<UpgradeResult> {
    return this.upgrader.run(server, pastNoReturn);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  // --- the processes and the secrets -------------------------------------------------------------

  process(name: string): ManagedProcess {
    return this.processes.process(name);
  }

  /** Every process started, in start order. */
  get names(): string[] {
    return this.processes.names;
  }

  /** The environment app `name` is started with now. */
  appEnv(name: string): Record<string, string> {
    return this.starter.appEnv(name);
  }

  /** Every password of the stack (render/acl.ts); `password` and `login` are the operator's. */
  get secrets(): StackSecrets {
    return this.live.passwords;
  }
  get sessionSecret(): string {
    return this.live.sessionSecret;
  }
  /** The password of user `operator` on HAProxy's operator front (`<runDir>/operator.password`). */
  get operatorPassword(): string {
    return this.live.operatorPassword;
  }
}

export { ReadinessTimeoutError };
