import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { haproxyStats, upServers } from '../../ha/probes.ts';
import { renderHaproxyCfg } from '../../ops/render/haproxy.ts';
import { ManagedProcess } from '../../ops/supervisor/managed.ts';
import { freePort, freePorts } from '../../ops/supervisor/ports.ts';
import { REPO_ROOT } from '../../ops/supervisor/supervisor.ts';
import { waitFor } from '../../ops/supervisor/wait.ts';
import { defineTopology } from '../../ops/topology.ts';

let ticks: number | undefined;

/** Clock ticks per second of /proc/<pid>/stat's times. */
function clockTicks(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** The live children of a process (HAProxy's master-worker mode does its work in a child). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * User + system CPU seconds a process and its live children have used so far (fields 14 and 15 of
 * /proc/<pid>/stat for each).
 */
export function cpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const own = (Number(fields[11]) + Number(fields[12])) / clockTicks();
    return childrenOf(pid).reduce((sum, child) => sum + (cpuSeconds(child) ?? 0), own);
  } catch {
    return null;
  }
}

/** A server of the benchmark (the ceiling or the peer) running as its own process, like an app instance. */
export interface BenchServer {
  url: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

async function startProcess(
  name: string,
  workDir: string,
  command: string,
  args: string[],
  env: Record<string, string>,
  readyUrl: string,
): Promise<BenchServer & { proc: ManagedProcess }> {
  const proc = new ManagedProcess({
    name,
    command,
    args,
    env,
    cwd: REPO_ROOT,
    logFile: join(workDir, `${name}.log`),
    pidFile: join(workDir, `${name}.pid`),
  });
  proc.start();
  try {
    await waitFor(
      `${name} to answer ${readyUrl}`,
      async () => (await fetch(readyUrl, { signal: AbortSignal.timeout(1000) })).status === 200,
      { timeoutMs: 20_000, abort: () => (proc.running ? undefined : `${name} exited`) },
    );
  } catch (err) {
    const tail = await proc.tail(20);
    await proc.stop(2000);
    throw new Error(`${(err as Error).message}\n--- ${name} log ---\n${tail}`);
  }
  proc.markReady();
  return { url: new URL(readyUrl).origin, pid: proc.pid, proc, stop: () => proc.stop(3000) };
}

const HAPROXY = existsSync('/usr/sbin/haproxy') ? '/usr/sbin/haproxy' : 'haproxy';

/**
 * An HAProxy in front of two servers with the HTTP part of the stack's own config (round robin,
 * checks on /readyz, retries), so the ceiling and the peer are measured in the same shape as the app.
 */
async function startProxy(name: string, workDir: string, ports: [number, number]): Promise<BenchServer> {
  const all = await freePorts();
  all['app-1'] = ports[0];
  all['app-2'] = ports[1];
  const t = defineTopology({ ports: all, host: '127.0.0.1' });
  const operatorPassword = randomBytes(18).toString('base64url');
  const full = renderHaproxyCfg(t, { target: 'local', password: undefined, operatorPassword });
  // The Redis front is the stack's business: leave it out.
  const cfg = full.slice(0, full.indexOf('frontend redis'));
  const file = join(workDir, `${name}.cfg`);
  writeFileSync(file, cfg);
  const url = `http://${t.haproxy.host}:${t.haproxy.httpPort}`;
  const started = await startProcess(name, workDir, HAPROXY, ['-db', '-f', file], {}, `${url}/readyz`);
  // Both servers must be up before measuring, not only the first one HAProxy saw.
  await waitFor(`${name}: both servers up`, async () => {
    const stats = {
      url: `http://${t.haproxy.host}:${t.haproxy.statsPort}/stats`,
      password: operatorPassword,
    };
    return upServers(await haproxyStats(stats), 'apps').length === 2;
  });
  return started;
}

/** Two processes of the ceiling or the peer, each reached directly or through an HAProxy of its own. */
export interface BenchGroup {
  name: 'ceiling' | 'peer';
  /** The first process, directly. */
  directUrl: string;
  /** The HAProxy in front of both. */
  frontUrl: string;
  pids: (number | undefined)[];
  haproxyPid: number | undefined;
}

export async function startBenchGroup(
  name: 'ceiling' | 'peer',
  workDir: string,
  env: Record<string, string>,
  onStop: (stop: () => Promise<void>) => void,
): Promise<BenchGroup> {
  const servers: BenchServer[] = [];
  for (const i of [1, 2]) {
    const port = await freePort();
    const s = await startProcess(
      `bench-${name}-${i}`,
      workDir,
      process.execPath,
      ['--import', 'tsx', join(REPO_ROOT, `src/tools/bench/servers/${name}.ts`)],
      {
        ...env,
        HOST: '127.0.0.1',
        PORT: String(port),
        INSTANCE_ID: `bench-${name}-${i}`,
        LOG_LEVEL: 'silent',
      },
      `http://127.0.0.1:${port}/readyz`,
    );
    onStop(s.stop);
    servers.push(s);
  }
  const ports = servers.map((s) => Number(new URL(s.url).port)) as [number, number];
  const proxy = await startProxy(`bench-${name}-haproxy`, workDir, ports);
  onStop(proxy.stop);
  return {
    name,
    directUrl: servers[0]!.url,
    frontUrl: proxy.url,
    pids: servers.map((s) => s.pid),
    haproxyPid: proxy.pid,
  };
}
