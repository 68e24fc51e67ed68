import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  haproxyStats,
  nodeState,
  redisBusy,
  type StatsAccess,
  sentinelView,
  upServers,
  withRedis,
} from '../../ha/probes.ts';
import { renderHaproxyCfg } from '../render/haproxy.ts';
import { renderRedisConf } from '../render/redis.ts';
import { renderSentinelConf } from '../render/sentinel.ts';
import { appEnvironment, defineTopology, type RedisNode } from '../topology.ts';
import { defaultAppCommand } from './app-command.ts';
import { reloadHaproxy } from './haproxy-admin.ts';
import { type ExitInfo, ManagedProcess } from './managed.ts';
import { SESSION_SECRET_FILE, SESSION_SECRET_PREVIOUS_FILE } from './rotate.ts';
import { PRIVATE_UMASK, RunDir } from './rundir.ts';
import { type StackOptions, StackStartError } from './stack-options.ts';
import { type Addr, StackView } from './stack-view.ts';
import { waitFor } from './wait.ts';

/** The operator front's password, in the run directory (0600); `ha-stack up` prints this path. */
export const OPERATOR_PASSWORD_FILE = 'operator.password';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** How long a Redis node that keeps loading or syncing may take to be ready, in all. */
const LOAD_MAX_MS = 10 * 60_000;
const HAPROXY = existsSync('/usr/sbin/haproxy') ? '/usr/sbin/haproxy' : 'haproxy';

/** The stack is stopping: nothing is started any more. */
export class StackStoppingError extends Error {
  constructor(name: string) {
    super(`the stack is stopping; ${name} is not started`);
    this.name = 'StackStoppingError';
  }
}

/**
 * The processes of a stack and how each kind is started and known ready: the configs it is given,
 * the readiness it waits on. The supervisor (supervisor.ts) decides when.
 */
export class StackProcesses extends StackView {
  readonly run: RunDir;
  /** What the apps sign cookies and CSRF tokens with (`SESSION_SECRET`); `ha-stack rotate` replaces it. */
  sessionSecret: string;
  /** Accepted beside it (`SESSION_SECRET_PREVIOUS`): the secret before the last rotation, or the next one. */
  sessionSecretPrevious: string | undefined;
  /** The password of user `operator` on HAProxy's operator front (`<runDir>/operator.password`). */
  operatorPassword: string;
  /**
   * While it is rotated, the new one: the apps take it as theirs and keep the current one as
   * `HAPROXY_OPERATOR_PASSWORD_PREVIOUS` until HAProxy has the new one too.
   */
  operatorPasswordNext: string | undefined;
  protected readonly procs = new Map<string, ManagedProcess>();
  protected readonly order: string[] = [];
  /** Set once the whole stack is stopping: `launch` refuses from then on. */
  protected closing = false;

  protected constructor(protected readonly opts: StackOptions) {
    const run = new RunDir(opts.runDir);
    const topology = defineTopology(opts.topology);
    super(topology, run.secrets(), opts.apps ?? topology.apps.length);
    this.run = run;
    // One secret shared by every instance: a session made by app-1 must be valid on app-2.
    this.sessionSecret = opts.appEnv?.['SESSION_SECRET'] ?? this.run.secret(SESSION_SECRET_FILE, 48);
    this.sessionSecretPrevious = opts.appEnv?.['SESSION_SECRET']
      ? opts.appEnv['SESSION_SECRET_PREVIOUS']
      : this.run.readSecret(SESSION_SECRET_PREVIOUS_FILE);
    this.operatorPassword = this.run.secret(OPERATOR_PASSWORD_FILE);
  }

  /** HAProxy's stats page and the operator's password, who alone may read it. */
  get stats(): StatsAccess {
    return { url: this.statsUrl, password: this.operatorPassword };
  }

  protected get withHaproxy(): boolean {
    return this.opts.haproxy !== false;
  }

  /** `<runDir>/supervisor.json`: every process's status and restart count. */
  get stateFile(): string {
    return this.run.stateFile;
  }

  /** A process ended; `exit.requested` tells a stop from a crash. */
  protected exited(_name: string, _exit: ExitInfo): void {}

  /** A process's status changed (started, ready, exited, paused). */
  protected changed(): void {}

  protected async step(
    name: string,
    what: string,
    check: () => Promise<boolean>,
    signal?: AbortSignal,
    progress?: () => Promise<boolean>,
  ): Promise<void> {
    const proc = this.procs.get(name);
    try {
      await waitFor(what, check, {
        timeoutMs: this.opts.timeoutMs ?? 30_000,
        ...(progress ? { progress, maxMs: LOAD_MAX_MS } : {}),
        abort: () => (signal?.aborted ? 'cancelled' : proc && !proc.running ? `${name} exited` : undefined),
      });
      proc?.markReady();
      this.changed();
    } catch (err) {
      throw new StackStartError(name, what, err, proc ? await proc.tail(20) : '');
    }
  }

  protected launch(name: string, command: string, args: string[], env?: Record<string, string>): void {
    if (this.closing) throw new StackStoppingError(name);
    let proc = this.procs.get(name);
    if (!proc) {
      proc = new ManagedProcess({
        name,
        command,
        args,
        env,
        cwd: REPO_ROOT,
        logFile: this.run.log(name),
        pidFile: this.run.pid(name),
        umask: PRIVATE_UMASK,
        onExit: (exit) => this.exited(name, exit),
      });
      this.procs.set(name, proc);
      this.order.push(name);
    }
    // Each start with what the stack knows now: a rotated secret reaches the restarted process.
    proc.start({ args, env });
    this.changed();
  }

  /** `replicaOf` null: start as master. */
  protected async startRedis(node: RedisNode, replicaOf: Addr | null, signal?: AbortSignal): Promise<void> {
    const dir = this.run.nodeDir(node.name);
    const conf = join(dir, 'redis.conf');
    const text = renderRedisConf(this.topology, node, { dir, users: this.secrets.redis, replicaOf });
    writeFileSync(conf, text, { mode: 0o600 });
    this.launch(node.name, 'redis-server', [conf]);
    const ping = () => withRedis(node.host, node.port, this.login, async (r) => (await r.ping()) === 'PONG');
    const busy = () => redisBusy(node.host, node.port, this.login);
    if (!replicaOf) return this.step(node.name, 'PING', ping, signal, busy);
    await this.step(
      node.name,
      `PING and master_link_status:up (replica of ${replicaOf.host}:${replicaOf.port})`,
      async () => {
        return (await ping()) && (await nodeState(node.host, node.port, this.login)).linkUp;
      },
      signal,
      busy,
    );
  }

  /** `master` given: a first start on a freshly rendered config; else on the config as Sentinel rewrote it. */
  protected async startSentinel(name: string, master?: Addr, signal?: AbortSignal): Promise<void> {
    const node = this.topology.sentinels.find((s) => s.name === name)!;
    const dir = this.run.nodeDir(name);
    const conf = join(dir, 'sentinel.conf');
    // Its own writable copy: Sentinel rewrites its config file with what it learns.
    if (master) {
      const text = renderSentinelConf(this.topology, node, {
        dir,
        authPass: this.secrets.redis.sentinel,
        requirePass: this.sentinelPassword,
        master,
      });
      writeFileSync(conf, text, { mode: 0o600 });
    }
    this.launch(name, 'redis-sentinel', [conf]);
    await this.step(
      name,
      'the master',
      async () =>
        (await sentinelView(node.host, node.port, this.topology.masterName, this.sentinelPassword)).master !==
        null,
      signal,
    );
  }

  appEnv(name: string): Record<string, string> {
    const app = this.topology.apps.find((a) => a.name === name)!;
    return {
      ...appEnvironment(this.topology, app, {
        listen: app.host,
        password: this.secrets.redis.app,
        sentinelPassword: this.sentinelPassword,
        sessionSecret: this.sessionSecret,
        trustProxy: '127.0.0.1',
        ...(this.withHaproxy ? { statsUrl: this.statsUrl } : {}),
      }),
      // With an operator front, the app reads HAProxy's stats and serves its operator views (topology,
      // metrics) only with the operator's password.
      ...(this.withHaproxy
        ? this.operatorPasswordNext
          ? {
              HAPROXY_OPERATOR_PASSWORD: this.operatorPasswordNext,
              HAPROXY_OPERATOR_PASSWORD_PREVIOUS: this.operatorPassword,
            }
          : { HAPROXY_OPERATOR_PASSWORD: this.operatorPassword }
        : {}),
      ...(this.sessionSecretPrevious ? { SESSION_SECRET_PREVIOUS: this.sessionSecretPrevious } : {}),
      HA_STACK_STATE_FILE: this.stateFile,
      ...this.opts.appEnv,
    };
  }

  protected async startApp(name: string, signal?: AbortSignal): Promise<void> {
    const [command, ...args] = this.opts.appCommand ?? defaultAppCommand(REPO_ROOT);
    if (!command) throw new Error('appCommand is empty');
    this.launch(name, command, args, this.appEnv(name));
    const url = `${this.appUrl(name)}/readyz`;
    await this.step(
      name,
      `HTTP 200 from ${url}`,
      async () => (await fetch(url, { signal: AbortSignal.timeout(1000) })).status === 200,
      signal,
    );
  }

  /** HAProxy's config, admin socket and saved server states, in its folder of the run directory. */
  private get haproxyFiles(): { cfg: string; socket: string; stateFile: string } {
    const dir = this.run.nodeDir('haproxy');
    return {
      cfg: join(dir, 'haproxy.cfg'),
      socket: join(dir, 'admin.sock'),
      stateFile: join(dir, 'server-state'),
    };
  }

  /** Renders HAProxy's config from the current secrets; returns its path. */
  private writeHaproxyCfg(): string {
    const { cfg, socket, stateFile } = this.haproxyFiles;
    const text = renderHaproxyCfg(this.topology, {
      target: 'local',
      password: this.secrets.redis.haproxy,
      operatorPassword: this.operatorPassword,
      connectionsPerAddress: this.opts.connectionsPerAddress,
      reload: { socket, stateFile },
    });
    writeFileSync(cfg, text, { mode: 0o600 });
    return cfg;
  }

  /**
   * HAProxy takes a config rendered from the current secrets without a lost request: its master
   * starts a new worker on it, the old one finishes what it serves (haproxy-admin.ts).
   */
  protected async reloadHaproxy(): Promise<void> {
    const proc = this.process('haproxy');
    if (!proc.running || proc.pid === undefined) throw new Error('HAProxy is not running');
    this.writeHaproxyCfg();
    await reloadHaproxy(proc.pid, this.haproxyFiles, this.opts.timeoutMs ?? 30_000);
  }

  protected async startHaproxy(signal?: AbortSignal): Promise<void> {
    const cfg = this.writeHaproxyCfg();
    // Master and worker (-W): a reload (SIGUSR2 to the master) starts a new worker on the
    // listening sockets of the old one; killing the master ends its worker too.
    this.launch('haproxy', HAPROXY, ['-W', '-db', '-f', cfg]);
    const apps = this.topology.apps.slice(0, this.appCount).map((a) => a.name);
    await this.step(
      'haproxy',
      `stats: ${apps.join(', ') || 'no app'} UP and exactly one Redis UP`,
      async () => {
        const rows = await haproxyStats(this.stats);
        const upApps = upServers(rows, 'apps');
        return apps.every((a) => upApps.includes(a)) && upServers(rows, 'redis_master').length === 1;
      },
      signal,
    );
  }

  /** How long a stop waits after SIGTERM before SIGKILL: an app drains its requests first. */
  protected graceMs(name: string): number {
    return name.startsWith('app') ? 15_000 : 5000;
  }

  // --- accessors ---------------------------------------------------------------------------------

  process(name: string): ManagedProcess {
    const p = this.procs.get(name);
    if (!p) throw new Error(`unknown or not started: ${name} (known: ${this.order.join(', ')})`);
    return p;
  }

  /** Host, port and process of a node by name (redis-1, sentinel-2, app-1, ...). */
  node(name: string): { name: string; host: string; port: number; process: ManagedProcess } {
    const t = this.topology;
    const n = [...t.redis, ...t.sentinels, ...t.apps].find((x) => x.name === name);
    if (!n) throw new Error(`not a node of the topology: ${name}`);
    return { name, host: n.host, port: n.port, process: this.process(name) };
  }

  get names(): string[] {
    return [...this.order];
  }
}
