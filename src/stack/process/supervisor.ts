import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderHaproxyCfg } from '../render/haproxy.ts';
import { renderRedisConf } from '../render/redis.ts';
import { renderSentinelConf } from '../render/sentinel.ts';
import {
  defineTopology,
  PORT_VARIABLES,
  type PortName,
  type RedisNode,
  type Topology,
  type TopologyOptions,
} from '../topology.ts';
import { ManagedProcess } from './managed.ts';
import { assertPortFree } from './ports.ts';
import { haproxyStats, nodeState, sentinelView, withRedis } from './probes.ts';
import { RunDir } from './rundir.ts';
import { ReadinessTimeoutError, waitFor } from './wait.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export class StackStartError extends Error {
  constructor(
    readonly step: string,
    override readonly cause: unknown,
    readonly logTail: string,
  ) {
    super(
      `${step} failed: ${cause instanceof Error ? cause.message : String(cause)}${logTail ? `\n--- last lines of its log ---\n${logTail}` : ''}`,
    );
    this.name = 'StackStartError';
  }
}

export interface StackOptions {
  runDir: string;
  topology?: TopologyOptions;
  apps?: 0 | 1 | 2;
  haproxy?: boolean;
  password?: string;
  /** Command that starts one app instance (the instance's settings come as environment variables). */
  appCommand?: string[];
  appEnv?: Record<string, string>;
  timeoutMs?: number;
  onEvent?: (message: string) => void;
}

const HAPROXY = existsSync('/usr/sbin/haproxy') ? '/usr/sbin/haproxy' : 'haproxy';

/**
 * Starts the topology as real processes in order, each step waiting on real readiness, and stops
 * it in reverse order. The CLI and the tests use this same class.
 */
export class Stack {
  readonly topology: Topology;
  readonly run: RunDir;
  readonly password: string;
  readonly sessionSecret: string;
  private readonly procs = new Map<string, ManagedProcess>();
  private readonly order: string[] = [];
  private stopping = false;

  private constructor(private readonly opts: StackOptions) {
    this.topology = defineTopology(opts.topology);
    this.run = new RunDir(opts.runDir);
    this.password = opts.password ?? this.run.secret('redis.password');
    this.sessionSecret = this.run.secret('session.secret', 48);
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

  get appCount(): number {
    return this.opts.apps ?? 2;
  }

  private get timeoutMs(): number {
    return this.opts.timeoutMs ?? 30_000;
  }

  private async boot(): Promise<void> {
    const t = this.topology;
    const parts: [PortName, string, string][] = [
      ...t.redis.map((n) => [n.name as PortName, n.host, n.name] as [PortName, string, string]),
      ...t.sentinels.map((n) => [n.name as PortName, n.host, n.name] as [PortName, string, string]),
      ...t.apps
        .slice(0, this.appCount)
        .map((n) => [n.name as PortName, n.host, n.name] as [PortName, string, string]),
    ];
    const ports: Record<string, number> = Object.fromEntries(
      [...t.redis, ...t.sentinels, ...t.apps].map((n) => [n.name, n.port]),
    );
    if (this.opts.haproxy !== false) {
      ports['haproxy-http'] = t.haproxy.httpPort;
      ports['haproxy-stats'] = t.haproxy.statsPort;
      ports['haproxy-redis'] = t.haproxy.redisPort;
      for (const p of ['haproxy-http', 'haproxy-stats', 'haproxy-redis'] as const)
        parts.push([p, t.haproxy.host, p]);
    }
    for (const [name, host, what] of parts)
      await assertPortFree(ports[name]!, host, PORT_VARIABLES[name], what);

    const master = this.recordedMaster() ?? t.redis.find((r) => r.initialRole === 'master')!;
    await this.startRedis(master, undefined);
    for (const node of t.redis.filter((r) => r !== master)) await this.startRedis(node, master);
    for (const s of t.sentinels) await this.startSentinel(s.name, master);
    for (const app of t.apps.slice(0, this.appCount)) await this.startApp(app.name);
    if (this.opts.haproxy !== false) await this.startHaproxy();
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

  private async step(
    name: string,
    what: string,
    check: () => Promise<boolean>,
    timeoutMs = this.timeoutMs,
  ): Promise<void> {
    const proc = this.procs.get(name);
    try {
      await waitFor(what, check, {
        timeoutMs,
        abort: () => (proc && proc.status === 'exited' ? `${name} exited` : undefined),
      });
    } catch (err) {
      throw new StackStartError(`${name}: ${what}`, err, proc ? await proc.tail(20) : '');
    }
  }

  private launch(
    name: string,
    command: string,
    args: string[],
    env?: Record<string, string>,
  ): ManagedProcess {
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
    return proc;
  }

  private async startRedis(
    node: RedisNode,
    master: { host: string; port: number } | undefined,
  ): Promise<void> {
    const dir = this.run.nodeDir(node.name);
    const conf = join(dir, 'redis.conf');
    writeFileSync(
      conf,
      renderRedisConf(this.topology, node, { dir, password: this.password, replicaOf: master ?? null }),
      {
        mode: 0o600,
      },
    );
    this.launch(node.name, 'redis-server', [conf]);
    await this.step(node.name, 'PING', () => this.ping(node));
    if (master) {
      await this.step(
        node.name,
        'replication link up',
        async () => (await nodeState(node.host, node.port, this.password)).linkUp,
      );
    }
  }

  private ping(node: { host: string; port: number }): Promise<boolean> {
    return withRedis(node.host, node.port, this.password, async (r) => (await r.ping()) === 'PONG');
  }

  private async startSentinel(name: string, master: { host: string; port: number }): Promise<void> {
    const node = this.topology.sentinels.find((s) => s.name === name)!;
    const dir = this.run.nodeDir(name);
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(conf, renderSentinelConf(this.topology, node, { dir, password: this.password, master }), {
      mode: 0o600,
    });
    this.launch(name, 'redis-sentinel', [conf]);
    const others = this.topology.sentinels.length - 1;
    const replicas = this.topology.redis.length - 1;
    await this.step(name, `a master, ${replicas} replicas and ${others} other Sentinels`, async () => {
      const v = await sentinelView(node.host, node.port, this.topology.masterName);
      const isLast = this.topology.sentinels.at(-1)!.name === name;
      return v.master !== null && v.replicas >= replicas && (!isLast || v.otherSentinels >= others);
    });
    if (this.topology.sentinels.at(-1)!.name === name) {
      for (const s of this.topology.sentinels) {
        await this.step(
          s.name,
          `${others} other Sentinels`,
          async () => (await sentinelView(s.host, s.port, this.topology.masterName)).otherSentinels >= others,
        );
      }
    }
  }

  appEnv(name: string): Record<string, string> {
    const app = this.topology.apps.find((a) => a.name === name)!;
    return {
      HOST: app.host,
      PORT: String(app.port),
      INSTANCE_ID: app.name,
      REDIS_SENTINELS: this.topology.sentinels.map((s) => `${s.host}:${s.port}`).join(','),
      REDIS_MASTER_NAME: this.topology.masterName,
      REDIS_PASSWORD: this.password,
      SESSION_SECRET: this.sessionSecret,
      TRUST_PROXY: '127.0.0.1,::1',
      ...this.opts.appEnv,
    };
  }

  private async startApp(name: string): Promise<void> {
    const [command, ...args] = this.opts.appCommand ?? [
      process.execPath,
      '--import',
      'tsx',
      join(REPO_ROOT, 'src/server.ts'),
    ];
    this.launch(name, command!, args, this.appEnv(name));
    const url = this.appUrl(name);
    await this.step(
      name,
      `HTTP 200 from ${url}/readyz`,
      async () => (await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) })).status === 200,
    );
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
      `backends UP (${apps.join(', ') || 'no apps'}, one Redis master)`,
      async () => {
        const rows = await haproxyStats(this.statsUrl);
        const up = (px: string) =>
          rows
            .filter((r) => r['pxname'] === px && r['svname'] !== 'BACKEND' && r['status'] === 'UP')
            .map((r) => r['svname']);
        return apps.every((a) => up('apps').includes(a)) && up('redis_master').length === 1;
      },
    );
  }

  // --- accessors ---------------------------------------------------------------------------------

  process(name: string): ManagedProcess {
    const p = this.procs.get(name);
    if (!p) throw new Error(`unknown or not started: ${name} (known: ${this.order.join(', ')})`);
    return p;
  }

  get names(): string[] {
    return [...this.order];
  }

  appUrl(name: string): string {
    const a = this.topology.apps.find((x) => x.name === name)!;
    return `http://${a.host}:${a.port}`;
  }

  get appUrls(): string[] {
    return this.topology.apps.slice(0, this.appCount).map((a) => this.appUrl(a.name));
  }

  get frontUrl(): string {
    return `http://${this.topology.haproxy.host}:${this.topology.haproxy.httpPort}`;
  }

  get statsUrl(): string {
    return `http://${this.topology.haproxy.host}:${this.topology.haproxy.statsPort}/stats`;
  }

  redisNode(name: string): RedisNode {
    const n = this.topology.redis.find((r) => r.name === name);
    if (!n) throw new Error(`not a Redis node: ${name}`);
    return n;
  }

  /** The node a majority of the reachable Sentinels names as master. */
  async currentMaster(): Promise<RedisNode | undefined> {
    const votes = new Map<string, number>();
    for (const s of this.topology.sentinels) {
      try {
        const v = await sentinelView(s.host, s.port, this.topology.masterName);
        if (v.master)
          votes.set(
            `${v.master.host}:${v.master.port}`,
            (votes.get(`${v.master.host}:${v.master.port}`) ?? 0) + 1,
          );
      } catch {
        // A Sentinel that is down has no vote.
      }
    }
    const best = [...votes].sort((a, b) => b[1] - a[1])[0];
    return best ? this.topology.redis.find((r) => `${r.host}:${r.port}` === best[0]) : undefined;
  }

  // --- actions -----------------------------------------------------------------------------------

  async kill(name: string): Promise<void> {
    await this.process(name).kill();
  }

  pause(name: string): void {
    this.process(name).pause();
  }

  resume(name: string): void {
    this.process(name).resume();
  }

  /**
   * Starts a stopped process again. A Redis node asks the Sentinels first and comes back as a
   * replica of the current master: never as an empty (or stale) master beside it.
   */
  async restart(name: string): Promise<void> {
    const proc = this.process(name);
    if (proc.running) await proc.stop();
    const node = this.topology.redis.find((r) => r.name === name);
    if (node) {
      const master = await this.currentMaster();
      await this.startRedis(node, master && master.name !== name ? master : undefined);
    } else if (this.topology.sentinels.some((s) => s.name === name)) {
      // Sentinel keeps what it learned in its rewritten config: start it on that file as it is.
      this.launch(name, 'redis-sentinel', [join(this.run.nodeDir(name), 'sentinel.conf')]);
      const s = this.topology.sentinels.find((x) => x.name === name)!;
      await this.step(
        name,
        'a master',
        async () => (await sentinelView(s.host, s.port, this.topology.masterName)).master !== null,
      );
    } else if (name === 'haproxy') {
      await this.startHaproxy();
    } else {
      await this.startApp(name);
    }
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const name of [...this.order].reverse()) {
      await this.procs.get(name)!.stop(name.startsWith('app') ? 15_000 : 5000);
    }
    this.run.release();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

export { ReadinessTimeoutError };
