import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { haproxyStats, nodeState, redisBusy, sentinelView, upServers, withRedis } from '../../ha/probes.ts';
import { setSentinelTimers } from '../../ha/sentinel/timers.ts';
import { renderHaproxyCfg } from '../render/haproxy.ts';
import { renderRedisConf } from '../render/redis.ts';
import { renderSentinelConf } from '../render/sentinel.ts';
import { tlsEnvironment } from '../tls/certs.ts';
import { appEnvironment, PROXY_SOURCE_ADDRESS, type RedisNode, type Topology } from '../topology.ts';
import { defaultAppCommand } from './app-command.ts';
import { loadFunctions } from './functions.ts';
import { reloadHaproxy } from './haproxy-admin.ts';
import type { StartStep } from './healer.ts';
import type { LiveSecrets } from './live-secrets.ts';
import type { Monitoring } from './monitoring.ts';
import { writePrivate } from './private-files.ts';
import { type ProcessSet, REPO_ROOT } from './process-set.ts';
import { rejoinTarget } from './rejoin.ts';
import type { RunDir } from './rundir.ts';
import { binaries, type ServerChoice } from './servers.ts';
import type { StackOptions } from './stack-options.ts';
import type { Addr, StackView } from './stack-view.ts';

const HAPROXY = existsSync('/usr/sbin/haproxy') ? '/usr/sbin/haproxy' : 'haproxy';

export interface StarterDeps {
  readonly opts: StackOptions;
  readonly run: RunDir;
  readonly secrets: LiveSecrets;
  readonly view: StackView;
  readonly processes: ProcessSet;
  /** The server each Redis node and Sentinel runs (ha-stack upgrade changes it node by node). */
  readonly servers: ServerChoice;
  /** With `--monitoring`: its processes are started again by it. */
  readonly monitoring?: Monitoring | undefined;
}

/**
 * How each kind of process is started and known ready: the config it is rendered, the environment
 * it is given, the readiness it is waited on. The stack (boot.ts) and the healer decide when.
 */
export class Starter {
  private readonly topology: Topology;

  constructor(private readonly deps: StarterDeps) {
    this.topology = deps.view.topology;
  }

  get withHaproxy(): boolean {
    return this.deps.opts.haproxy !== false;
  }

  /**
   * `replicaOf` null: start as master. `copyTarget`: a Redis 7.0 replica of a Valkey 8 master for a
   * rollback (rollback.ts): ready at PING, since no sync can succeed; writable, and keeping what it
   * holds through each failed sync (swapdb).
   */
  async startRedis(
    node: RedisNode,
    replicaOf: Addr | null,
    signal?: AbortSignal,
    copyTarget = false,
  ): Promise<void> {
    const { run, secrets, view, processes } = this.deps;
    const dir = run.nodeDir(node.name);
    const conf = join(dir, 'redis.conf');
    const tls = view.certs?.of(node.name);
    const text = renderRedisConf(this.topology, node, {
      dir,
      users: secrets.passwords.redis,
      replicaOf,
      tls,
    });
    writePrivate(conf, copyTarget ? `${text}\nrepl-diskless-load swapdb\nreplica-read-only no\n` : text);
    processes.launch(node.name, binaries(this.deps.servers.of(node.name)).server, [conf]);
    const ping = () => withRedis(node.host, node.port, view.login, async (r) => (await r.ping()) === 'PONG');
    const busy = () => redisBusy(node.host, node.port, view.login);
    if (!replicaOf || copyTarget) return processes.waitReady(node.name, 'PING', ping, signal, busy);
    await processes.waitReady(
      node.name,
      `PING and master_link_status:up (replica of ${replicaOf.host}:${replicaOf.port})`,
      async () => {
        return (await ping()) && (await nodeState(node.host, node.port, view.login)).linkUp;
      },
      signal,
      busy,
    );
  }

  /** The app's function library on the master: this version's code, or (`replace` false) only if missing. */
  async loadFunctions(master: Addr, replace: boolean, signal?: AbortSignal): Promise<void> {
    const { view, opts } = this.deps;
    const loaded = await loadFunctions(master, view.login, { replace, timeoutMs: opts.timeoutMs, signal });
    if (loaded && !replace)
      opts.onEvent?.(`the function library was missing on ${master.host}:${master.port}: loaded it`);
  }

  /** `master` given: a first start on a freshly rendered config; else on the config as Sentinel rewrote it. */
  async startSentinel(name: string, master?: Addr, signal?: AbortSignal): Promise<void> {
    const { run, secrets, view, processes } = this.deps;
    const node = this.topology.sentinels.find((s) => s.name === name)!;
    const dir = run.nodeDir(name);
    const conf = join(dir, 'sentinel.conf');
    // Its own writable copy: Sentinel rewrites its config file with what it learns.
    if (master) {
      const text = renderSentinelConf(this.topology, node, {
        dir,
        authPass: secrets.passwords.redis.sentinel,
        requirePass: view.sentinelPassword,
        hashed: true,
        readerPass: secrets.passwords.sentinelReader,
        master,
        tls: view.certs?.of(name),
      });
      writePrivate(conf, text);
    }
    processes.launch(name, binaries(this.deps.servers.of(name)).sentinel, [conf]);
    await processes.waitReady(
      name,
      'the master',
      async () =>
        (await sentinelView(node.host, node.port, this.topology.masterName, view.sentinelPassword)).master !==
        null,
      signal,
    );
    // Its timers are not in its config: set at every start (ha/sentinel/timers.ts). A Sentinel
    // without them still works, on Sentinel's own timings: said, not fatal.
    await withRedis(node.host, node.port, { password: view.sentinelPassword }, setSentinelTimers).catch(
      (err: Error) => this.deps.opts.onEvent?.(`${name}: its timers were not set: ${err.message}`),
    );
  }

  /** The environment an app instance is started with, from the secrets as they are now. */
  appEnv(name: string): Record<string, string> {
    const { opts, secrets, view, run } = this.deps;
    const app = this.topology.apps.find((a) => a.name === name)!;
    return {
      ...appEnvironment(this.topology, app, {
        listen: app.host,
        password: secrets.passwords.redis.app,
        sentinelPassword: secrets.passwords.sentinelReader,
        sessionSecret: secrets.sessionSecret,
        trustProxy: PROXY_SOURCE_ADDRESS,
        ...(this.withHaproxy ? { statsUrl: view.statsUrl } : {}),
      }),
      // With an operator front, the app reads HAProxy's stats and serves its operator views (topology,
      // metrics) only with the operator's password.
      ...(this.withHaproxy
        ? secrets.operatorPasswordNext
          ? {
              HAPROXY_OPERATOR_PASSWORD: secrets.operatorPasswordNext,
              HAPROXY_OPERATOR_PASSWORD_PREVIOUS: secrets.operatorPassword,
            }
          : { HAPROXY_OPERATOR_PASSWORD: secrets.operatorPassword }
        : {}),
      ...(secrets.sessionSecretPrevious ? { SESSION_SECRET_PREVIOUS: secrets.sessionSecretPrevious } : {}),
      HA_STACK_STATE_FILE: run.stateFile,
      ...(view.certs ? tlsEnvironment(view.certs.of(name)) : {}),
      ...opts.appEnv,
    };
  }

  async startApp(name: string, signal?: AbortSignal): Promise<void> {
    const [command, ...args] = this.deps.opts.appCommand ?? defaultAppCommand(REPO_ROOT);
    if (!command) throw new Error('appCommand is empty');
    this.deps.processes.launch(name, command, args, this.appEnv(name));
    const url = `${this.deps.view.appUrl(name)}/readyz`;
    await this.deps.processes.waitReady(
      name,
      `HTTP 200 from ${url}`,
      async () => (await fetch(url, { signal: AbortSignal.timeout(1000) })).status === 200,
      signal,
    );
  }

  /** HAProxy's config, admin socket and saved server states, in its folder of the run directory. */
  private get haproxyFiles(): { cfg: string; socket: string; stateFile: string } {
    const dir = this.deps.run.nodeDir('haproxy');
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
      password: this.deps.secrets.passwords.redis.haproxy,
      operatorPassword: this.deps.secrets.operatorPassword,
      connectionsPerAddress: this.deps.opts.connectionsPerAddress,
      reload: { socket, stateFile },
      tls: this.deps.view.certs && { pem: this.deps.view.certs.frontPem, ca: this.deps.view.certs.ca },
    });
    writePrivate(cfg, text);
    return cfg;
  }

  /**
   * HAProxy takes a config rendered from the current secrets without a lost request: its master
   * starts a new worker on it, the old one finishes what it serves (haproxy-admin.ts).
   */
  async reloadHaproxy(): Promise<void> {
    const proc = this.deps.processes.process('haproxy');
    if (!proc.running || proc.pid === undefined) throw new Error('HAProxy is not running');
    this.writeHaproxyCfg();
    await reloadHaproxy(proc.pid, this.haproxyFiles, this.deps.opts.timeoutMs ?? 30_000);
  }

  async startHaproxy(signal?: AbortSignal): Promise<void> {
    const cfg = this.writeHaproxyCfg();
    // Master and worker (-W): a reload (SIGUSR2 to the master) starts a new worker on the
    // listening sockets of the old one; killing the master ends its worker too.
    this.deps.processes.launch('haproxy', HAPROXY, ['-W', '-db', '-f', cfg]);
    const apps = this.topology.apps.slice(0, this.deps.view.appCount).map((a) => a.name);
    await this.deps.processes.waitReady(
      'haproxy',
      `stats: ${apps.join(', ') || 'no app'} UP and exactly one Redis UP`,
      async () => {
        const rows = await haproxyStats(this.deps.view.stats);
        const upApps = upServers(rows, 'apps');
        return apps.every((a) => upApps.includes(a)) && upServers(rows, 'redis_master').length === 1;
      },
      signal,
    );
  }

  /**
   * Starts one process again, the way each kind must: a Redis node asks the Sentinels first and
   * comes back as a replica of the master they name, never as a master beside it; a Sentinel
   * starts on the config it rewrote with what it learned.
   */
  async startAgain(name: string, signal: AbortSignal, step: (s: StartStep) => void): Promise<void> {
    const redis = this.topology.redis.find((r) => r.name === name);
    if (redis) {
      const target = await rejoinTarget(this.topology, redis, {
        sentinelPassword: this.deps.view.sentinelPassword,
        signal,
        waiting: () => step('waiting-for-failover'),
      });
      step('launching');
      await this.startRedis(redis, target, signal);
      // A master that lost its data (every node restarted empty) has no library: the app would
      // answer 503. The node itself is up either way: a refusal is reported, not a failed start.
      if (target)
        await this.loadFunctions(target, false, signal).catch((err: Error) =>
          this.deps.opts.onEvent?.(`the function library could not be loaded: ${err.message}`),
        );
      return;
    }
    signal.throwIfAborted();
    step('launching');
    if (this.deps.monitoring?.owns(name)) return this.deps.monitoring.start(name, signal);
    if (this.topology.sentinels.some((s) => s.name === name))
      return this.startSentinel(name, undefined, signal);
    if (name === 'haproxy') return this.startHaproxy(signal);
    return this.startApp(name, signal);
  }
}
