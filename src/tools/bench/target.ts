import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StackActions } from '../../ops/actions.ts';
import { runDirPath, runningStack } from '../../ops/commands/context.ts';
import { isSameProcess, type PidRecord } from '../../ops/supervisor/managed.ts';
import { freePorts } from '../../ops/supervisor/ports.ts';
import { RunDir } from '../../ops/supervisor/rundir.ts';
import { LOAD_LIMITS } from '../../ops/supervisor/stack-options.ts';
import { Stack } from '../../ops/supervisor/supervisor.ts';
import { tlsEnvironment } from '../../ops/tls/certs.ts';

/** The stack under test: its own on free ports, or one already running (`--url`). */
export interface BenchTarget {
  actions: StackActions;
  /** HAProxy's front. */
  frontUrl: string;
  /** One app instance hit directly. */
  directUrl: string;
  /** App instances behind HAProxy (name, URL). */
  apps: { name: string; url: string }[];
  sessionSecret: string;
  /** Where the ceiling's and the peer's logs and pid files go. */
  workDir: string;
  /** The pid of a stack process (app-1, app-2, haproxy, redis-1, ...), if it runs. */
  pidOf(name: string): number | undefined;
  /**
   * The environment of the ceiling and the peer: an app instance's, logged in to Redis as the
   * operator (the peer keeps its sessions under `peer-sess:`, outside the app user's keys).
   */
  appEnv(): Record<string, string>;
  /** With `monitoring` (own stack only): its processes, in start order, and Prometheus. */
  monitoring?: { names: string[]; prometheusUrl: string; authorization: string } | undefined;
  stop(): Promise<void>;
}

export interface OwnStackOptions {
  scryptCost?: number;
  /** Each Redis node's maxmemory (`scale` stores a million sessions: more than the default). */
  maxMemory?: string;
  /** How the apps are started (`profile` runs them under `node --cpu-prof`). */
  appCommand?: string[];
  logLevel?: string;
  /** TLS on every hop (docs/tls.md): `bench tls` compares it with the same stack without. */
  tls?: boolean;
  /** Also Prometheus, Alertmanager and the exporters (`ha-stack up --monitoring`). */
  monitoring?: boolean;
  onEvent?: (message: string) => void;
}

export async function ownStack(opts: OwnStackOptions = {}): Promise<BenchTarget> {
  const runDir = mkdtempSync(join(tmpdir(), 'ha-stack-bench-'));
  const ports = await freePorts();
  // The load comes from one address (loopback): the per-address limits would refuse it.
  const appEnv: Record<string, string> = { ...LOAD_LIMITS };
  if (opts.scryptCost) appEnv['SCRYPT_COST'] = String(opts.scryptCost);
  if (opts.logLevel) appEnv['LOG_LEVEL'] = opts.logLevel;
  let stack: Stack;
  try {
    const topology = { ports, ...(opts.maxMemory ? { maxMemory: opts.maxMemory } : {}) };
    stack = await Stack.start({
      runDir,
      topology,
      appEnv,
      onEvent: opts.onEvent,
      tls: opts.tls === true,
      ...(opts.monitoring ? { monitoring: true } : {}),
      ...(opts.appCommand ? { appCommand: opts.appCommand } : {}),
    });
  } catch (err) {
    rmSync(runDir, { recursive: true, force: true });
    throw err;
  }
  const apps = stack.topology.apps.slice(0, stack.appCount).map((a) => ({
    name: a.name,
    url: stack.appUrl(a.name),
  }));
  return {
    actions: stack,
    frontUrl: stack.frontUrl,
    directUrl: apps[0]!.url,
    apps,
    sessionSecret: stack.sessionSecret,
    workDir: runDir,
    monitoring: stack.monitoring && {
      names: stack.monitoring.names,
      prometheusUrl: stack.monitoring.prometheusUrl,
      authorization: stack.monitoring.authorization,
    },
    pidOf: (name) => {
      try {
        const p = stack.process(name);
        return p.running ? p.pid : undefined;
      } catch {
        return undefined;
      }
    },
    appEnv: () => ({
      ...stack.appEnv('app-1'),
      REDIS_USERNAME: stack.username,
      REDIS_PASSWORD: stack.password,
    }),
    stop: async () => {
      await stack.stop();
      if (!process.env['KEEP_RUN_DIRS']) rmSync(runDir, { recursive: true, force: true });
    },
  };
}

/**
 * The stack `npm start` runs from the run directory. `url` replaces its HAProxy front (another
 * proxy in front of the same apps, for instance); everything else comes from the stack's files.
 */
export function runningTarget(url: string | undefined): BenchTarget {
  const client = runningStack();
  const run = new RunDir(runDirPath());
  const secretFile = join(run.dir, 'session.secret');
  if (!existsSync(secretFile)) throw new Error(`no session secret in ${run.dir}`);
  const sessionSecret = readFileSync(secretFile, 'utf8').trim();
  const t = client.topology;
  const apps = t.apps.map((a) => ({ name: a.name, url: `http://${a.host}:${a.port}` }));
  const workDir = mkdtempSync(join(tmpdir(), 'ha-stack-bench-'));
  return {
    actions: client,
    frontUrl: url ?? client.frontUrl,
    directUrl: apps[0]!.url,
    apps,
    sessionSecret,
    workDir,
    pidOf: (name) => {
      const rec: PidRecord | undefined = run.readPid(name);
      return rec && isSameProcess(rec) ? rec.pid : undefined;
    },
    appEnv: () => ({
      REDIS_SENTINELS: t.sentinels.map((s) => `${s.host}:${s.port}`).join(','),
      REDIS_MASTER_NAME: t.masterName,
      REDIS_USERNAME: client.username,
      REDIS_PASSWORD: client.password,
      REDIS_SENTINEL_PASSWORD: client.sentinelPassword,
      SESSION_SECRET: sessionSecret,
      ...(client.file.tls ? tlsEnvironment(client.file.tls) : {}),
    }),
    stop: async () => {
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}
