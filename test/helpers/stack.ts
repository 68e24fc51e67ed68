import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { Redis } from 'ioredis';
import { nodeState } from '../../src/ha/probes.ts';
import { freePorts } from '../../src/ops/supervisor/ports.ts';
import { Stack, type StackOptions } from '../../src/ops/supervisor/supervisor.ts';
import { waitFor } from '../../src/ops/supervisor/wait.ts';
import { type PortName, portVariable, type RedisNode } from '../../src/ops/topology.ts';

export { freePorts };

/** The variables that give these ports to `ha-stack up` (REDIS_1_PORT=...). */
export function portEnv(ports: Partial<Record<PortName, number>>): Record<string, string> {
  return Object.fromEntries(
    (Object.entries(ports) as [PortName, number][]).map(([name, port]) => [portVariable(name), String(port)]),
  );
}

/**
 * A maker of temporary directories for one test file; they are removed after its tests
 * (kept when KEEP_RUN_DIRS is set, to read the logs of a failed run).
 */
export function tempDirs(): (tag: string) => string {
  const dirs: string[] = [];
  after(() => {
    if (!process.env['KEEP_RUN_DIRS']) for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  return (tag) => {
    const d = mkdtempSync(join(tmpdir(), `ha-stack-${tag}-`));
    dirs.push(d);
    return d;
  };
}

export function tempRunDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `ha-stack-${tag}-`));
}

/** Starts a stack on free ports in a temporary run directory, removed again by stop(). */
export async function startTestStack(tag: string, opts: Partial<StackOptions> = {}): Promise<Stack> {
  const runDir = opts.runDir ?? tempRunDir(tag);
  const stack = await Stack.start({
    runDir,
    topology: { ports: await freePorts(opts.topology?.counts), ...opts.topology },
    ...opts,
    // Test loads register many accounts from one address (loopback).
    appEnv: { SCRYPT_COST: '1024', LOG_LEVEL: 'info', REGISTER_LIMIT_PER_IP: '100000', ...opts.appEnv },
  }).catch((err) => {
    rmSync(runDir, { recursive: true, force: true });
    throw err;
  });
  const stop = stack.stop.bind(stack);
  // stop(name) stops one node; stop() the whole stack, and then its run directory goes too.
  stack.stop = async (name?: string) => {
    if (name !== undefined) return stop(name);
    await stop();
    if (!process.env['KEEP_RUN_DIRS']) rmSync(runDir, { recursive: true, force: true });
  };
  return stack;
}

/** A client of the current master, found through the Sentinels as the app finds it. */
export function masterClient(stack: Stack): Promise<Redis> {
  const r = new Redis({
    sentinels: stack.topology.sentinels.map((s) => ({ host: s.host, port: s.port })),
    name: stack.topology.masterName,
    username: stack.username,
    password: stack.password,
    sentinelPassword: stack.sentinelPassword,
    maxRetriesPerRequest: 2,
  });
  r.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    r.once('ready', () => resolve(r));
    r.once('end', () => reject(new Error('no master')));
  });
}

/** Kills the master with SIGKILL and waits until the Sentinels name another node that says it is master. */
export async function killMaster(stack: Stack, old: RedisNode): Promise<RedisNode> {
  await stack.kill(old.name);
  let next: RedisNode | undefined;
  await waitFor(
    'the Sentinels to promote another node',
    async () => {
      next = await stack.redisMaster();
      return (
        !!next &&
        next.name !== old.name &&
        (await nodeState(next.host, next.port, stack.login)).role === 'master'
      );
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
  return next!;
}

export interface AppStack {
  appUrls: string[];
  masterClient: () => Promise<Redis>;
  restartApp: (name: string) => Promise<void>;
  appLogs: () => string[];
  stop: () => Promise<void>;
}

/** Redis, Sentinels and two app instances (no HAProxy): what the web app's tests need. */
export async function startAppStack(appEnv: Record<string, string> = {}): Promise<AppStack> {
  const stack = await startTestStack('app', { haproxy: false, apps: 2, appEnv });
  return {
    appUrls: stack.appUrls,
    masterClient: () => masterClient(stack),
    restartApp: (name) => stack.restart(name),
    appLogs: () => stack.topology.apps.map((a) => stack.run.log(a.name)),
    stop: () => stack.stop(),
  };
}
