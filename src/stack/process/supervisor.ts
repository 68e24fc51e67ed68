import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StackActions } from '../actions.ts';
import { renderHaproxyCfg } from '../render/haproxy.ts';
import { renderRedisConf } from '../render/redis.ts';
import { renderSentinelConf } from '../render/sentinel.ts';
import {
  appEnvironment,
  defineTopology,
  PORT_VARIABLES,
  type PortName,
  type RedisNode,
} from '../topology.ts';
import { defaultAppCommand } from './app-command.ts';
import { ManagedProcess } from './managed.ts';
import { assertPortFree } from './ports.ts';
import { haproxyStats, nodeState, sentinelView, upServers, withRedis } from './probes.ts';
import { RunDir } from './rundir.ts';
import { type StackOptions, StackStartError } from './stack-options.ts';
import { type Addr, StackView } from './stack-view.ts';
import { ReadinessTimeoutError, waitFor } from './wait.ts';

export { type StackOptions, StackStartError };

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const HAPROXY = existsSync('/usr/sbin/haproxy') ? '/usr/sbin/haproxy' : 'haproxy';

/**
 * Starts the topology as real processes in order, each step waiting on real readiness, and stops
 * it in reverse order. The CLI and the tests use this same class.
 */
export class Stack extends StackView implements StackActions {
  readonly run: RunDir;
  readonly sessionSecret: string;
  private readonly procs = new Map<string, ManagedProcess>();
  private readonly order: string[] = [];
  private stopping: Promise<void> | undefined;

  private constructor(private readonly opts: StackOptions) {
    const run = new RunDir(opts.runDir);
    if (opts.password !== undefined)
      writeFileSync(join(run.dir, 'redis.password'), `${opts.password}\n`, { mode: 0o600 });
    super(defineTopology(opts.topology), opts.password ?? run.secret('redis.password'), opts.apps ?? 2);
    this.run = run;
    // One secret shared by every instance: a session made by app-1 must be valid on app-2.
    this.sessionSecret = opts.appEnv?.['SESSION_SECRET'] ?? this.run.secret('session.secret', 48);
  }

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

  private get withHaproxy(): boolean {
    return this.opts.haproxy !== false;
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
      await assertPortFree(port, PORT_VARIABLES[name], { host, what: name });

    const master = this.recordedMaster() ?? t.redis.find((r) => r.initialRole === 'master')!;
    await this.startRedis(master, null);
    for (const node of t.redis.filter((r) => r !== master)) await this.startRedis(node, master);
    for (const s of t.sentinels) await this.startSentinel(s.name, master);
    await this.waitSentinelsAgree();
    for (const app of t.apps.slice(0, this.appCount)) await this.startApp(app.name);
    if (this.withHaproxy) await this.startHaproxy();
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

  private async step(name: string, what: string, check: () => Promise<boolean>): Promise<void> {
    const proc = this.procs.get(name);
    try {
      await waitFor(what, check, {
        timeoutMs: this.opts.timeoutMs ?? 30_000,
        abort: () => (proc && !proc.running ? `${name} exited` : undefined),
      });
      proc?.markReady();
    } catch (err) {
      throw new StackStartError(name, what, err, proc ? await proc.tail(20) : '');
    }
  }

  private launch(name: string, command: string, args: string[], env?: Record<string, string>): void {
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
      });
      this.procs.set(name, proc);
      this.order.push(name);
    }
    proc.start();
    const started = proc;
    void started.exited.then((code) => {
      if (!this.stopping && started.status === 'exited') this.opts.onEvent?.(`${name} exited (code ${code})`);
    });
  }

  /** `replicaOf` null: start as master. */
  private async startRedis(node: RedisNode, replicaOf: Addr | null): Promise<void> {
    const dir = this.run.nodeDir(node.name);
    const conf = join(dir, 'redis.conf');
    const text = renderRedisConf(this.topology, node, { dir, password: this.password, replicaOf });
    writeFileSync(conf, text, { mode: 0o600 });
    this.launch(node.name, 'redis-server', [conf]);
    const ping = () =>
      withRedis(node.host, node.port, this.password, async (r) => (await r.ping()) === 'PONG');
    if (!replicaOf) return this.step(node.name, 'PING', ping);
    await this.step(
      node.name,
      `PING and master_link_status:up (replica of ${replicaOf.host}:${replicaOf.port})`,
      async () => {
        return (await ping()) && (await nodeState(node.host, node.port, this.password)).linkUp;
      },
    );
  }

  private async startSentinel(name: string, master: Addr): Promise<void> {
    const node = this.topology.sentinels.find((s) => s.name === name)!;
    const dir = this.run.nodeDir(name);
    const conf = join(dir, 'sentinel.conf');
    // Its own writable copy: Sentinel rewrites its config file with what it learns.
    writeFileSync(conf, renderSentinelConf(this.topology, node, { dir, password: this.password, master }), {
      mode: 0o600,
    });
    this.launch(name, 'redis-sentinel', [conf]);
    await this.step(
      name,
      'the master',
      async () => (await sentinelView(node.host, node.port, this.topology.masterName)).master !== null,
    );
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
          const v = await sentinelView(s.host, s.port, t.masterName);
          return v.master !== null && v.replicas === replicas && v.otherSentinels === others;
        },
      );
    }
  }

  appEnv(name: string): Record<string, string> {
    const app = this.topology.apps.find((a) => a.name === name)!;
    return {
      ...appEnvironment(this.topology, app, {
        listen: app.host,
        password: this.password,
        sessionSecret: this.sessionSecret,
        trustProxy: '127.0.0.1',
        ...(this.withHaproxy ? { statsUrl: this.statsUrl } : {}),
      }),
      ...this.opts.appEnv,
    };
  }

  private async startApp(name: string): Promise<void> {
    const [command, ...args] = this.opts.appCommand ?? defaultAppCommand(REPO_ROOT);
    if (!command) throw new Error('appCommand is empty');
    this.launch(name, command, args, this.appEnv(name));
    const url = `${this.appUrl(name)}/readyz`;
    await this.step(name, `HTTP 200 from ${url}`, async () => {
      return (await fetch(url, { signal: AbortSignal.timeout(1000) })).status === 200;
    });
  }

  private async startHaproxy(): Promise<void> {
    const dir = this.run.nodeDir('haproxy');
    const cfg = join(dir, 'haproxy.cfg');
    writeFileSync(cfg, renderHaproxyCfg(this.topology, { target: 'local', password: this.password }), {
      mode: 0o600,
    });
    this.launch('haproxy', HAPROXY, ['-db', '-f', cfg]);
    const apps = this.topology.apps.slice(0, this.appCount).map((a) => a.name);
    await this.step(
      'haproxy',
      `stats: ${apps.join(', ') || 'no app'} UP and exactly one Redis UP`,
      async () => {
        const rows = await haproxyStats(this.statsUrl);
        const upApps = upServers(rows, 'apps');
        return apps.every((a) => upApps.includes(a)) && upServers(rows, 'redis_master').length === 1;
      },
    );
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
  // --- actions -----------------------------------------------------------------------------------

  async kill(name: string): Promise<void> {
    await this.process(name).kill();
  }

  async terminate(name: string): Promise<void> {
    this.process(name).terminate();
  }

  pause(name: string): void {
    this.process(name).pause();
  }

  resume(name: string): void {
    this.process(name).resume();
  }

  /**
   * Starts a process again (stopping it first if it runs). A Redis node asks the Sentinels first
   * and comes back as a replica of the current master: never as an empty master beside it.
   */
  async restart(name: string): Promise<void> {
    const proc = this.process(name);
    if (proc.running) await proc.stop();
    const node = this.topology.redis.find((r) => r.name === name);
    if (node) {
      const master = await this.redisMaster();
      if (!master) throw new Error(`no Sentinel names a master; ${name} is not started as one on its own`);
      await this.startRedis(node, master.name === name ? null : master);
    } else if (this.topology.sentinels.some((s) => s.name === name)) {
      // Sentinel keeps what it learned in its rewritten config: start it on that file as it is.
      this.launch(name, 'redis-sentinel', [join(this.run.nodeDir(name), 'sentinel.conf')]);
      const s = this.node(name);
      await this.step(
        name,
        'the master',
        async () => (await sentinelView(s.host, s.port, this.topology.masterName)).master !== null,
      );
    } else if (name === 'haproxy') {
      await this.startHaproxy();
    } else {
      await this.startApp(name);
    }
  }

  /** Stops every process in reverse start order and releases the run directory; idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      for (const name of [...this.order].reverse()) {
        await this.procs.get(name)?.stop(name.startsWith('app') ? 15_000 : 5000);
      }
      this.run.release();
    })();
    return this.stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** A running stack: typed accessors, chaos actions, `stop()` and `await using` disposal. */
export type StackHandle = Stack;

/** Starts the stack described by `options`; on any failure everything already started is stopped. */
export function startStack(options: StackOptions): Promise<StackHandle> {
  return Stack.start(options);
}

export { ReadinessTimeoutError };
