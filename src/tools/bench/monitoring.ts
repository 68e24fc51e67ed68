/**
 * `npm run bench -- monitoring`: what the monitoring of `ha-stack up --monitoring` costs page
 * views (goal: under 2 %). One stack started with it; each round measures GET /get through HAProxy
 * with every monitoring process running (Prometheus scraping every 5 s, the Redis and Sentinel
 * exporters, Alertmanager) and with all of them frozen (SIGSTOP, then SIGCONT), the order swapping
 * every round; each round's ratio is taken and their median compared (alternate.ts). The
 * monitoring's own CPU during the measured time is reported beside it.
 *
 * On a shared machine the rounds' ratios spread wider than the goal, so a second figure comes from
 * CPU time, which /proc counts whatever else runs: with no load, the monitoring's processes' CPU
 * and what its scrapes add to the stack's processes (nodes, Sentinels, HAProxy, apps: running
 * against frozen, alternating), as a share of the machine's cores. Page views saturate the cores,
 * so that share is what they lose.
 */
import { availableParallelism } from 'node:os';
import { CliError } from '../../ops/commands/context.ts';
import { type Alternation, alternate, formatAlternation, median } from './alternate.ts';
import type { BenchArgs } from './args.ts';
import type { CaseResult } from './cases.ts';
import { createBenchUsers } from './fixtures.ts';
import { cpuSeconds } from './procs.ts';
import { round } from './redis-stats.ts';
import type { BenchTarget } from './target.ts';

export interface MonitoringBenchReport {
  settings: { rounds: number; durationS: number; connections: number };
  processes: string[];
  pageViews: Alternation;
  /** Prometheus's targets up / all, read before each measurement with the monitoring on. */
  targetsUp: string[];
  /** CPU seconds of the monitoring processes per second of each measurement with them running. */
  monitoringCpuPerS: number[];
  /** With no load: CPU seconds a second, medians of the windows (idleCpu). */
  idle: IdleCpu;
  checks: { what: string; value: string; holds: boolean }[];
}

const GOAL_COST_PCT = 2;
/** The no-load CPU windows: this many of each side, alternating, each twice a round (2-15 s). */
const IDLE_WINDOWS = 4;
const idleWindowS = (durationS: number) => Math.min(15, Math.max(2, 2 * durationS));

export interface IdleCpu {
  windowS: number;
  /** The monitoring's own processes, while running. */
  monitoringPerS: number[];
  /** The stack's processes with the monitoring running and frozen. */
  stackRunningPerS: number[];
  stackFrozenPerS: number[];
  /** (monitoring + median running - median frozen) / cores, in per cent. */
  cpuCostPct: number;
}
/** Prometheus scrapes and evaluates every 5 s. */
const SCRAPE_S = 5;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function targetsUp(m: NonNullable<BenchTarget['monitoring']>): Promise<string> {
  const res = await fetch(`${m.prometheusUrl}/api/v1/targets?state=active`, {
    headers: { authorization: m.authorization },
    signal: AbortSignal.timeout(3000),
  });
  const body = (await res.json()) as { data?: { activeTargets?: { health: string }[] } };
  const all = body.data?.activeTargets ?? [];
  return `${all.filter((t) => t.health === 'up').length}/${all.length}`;
}

export async function runMonitoringBench(
  args: BenchArgs,
  target: BenchTarget,
  say: (m: string) => void,
): Promise<MonitoringBenchReport> {
  const m = target.monitoring;
  if (!m) throw new CliError('bench monitoring needs a stack started with its monitoring');
  const { connections, durationS } = args.scale;
  const rounds = args.rounds;
  const users = await createBenchUsers(target.frontUrl, undefined, connections);
  const up: string[] = [];
  const cpu: number[] = [];
  const monitoringCpu = () => m.names.reduce((sum, name) => sum + (cpuSeconds(target.pidOf(name)) ?? 0), 0);
  // The monitoring runs as the stack started it; "without" freezes every process of it (SIGSTOP:
  // no scrape, no INFO on a node, no CPU) and lets them go on afterwards (SIGCONT). Stopping and
  // starting them instead measured Prometheus's own start (its WAL, its first rule runs) as part
  // of the cost, in the rounds right after it.
  let frozen = false;
  const during = async (measure: () => Promise<CaseResult>) => {
    if (frozen) {
      for (const name of m.names) await target.actions.resume(name);
      frozen = false;
    }
    // Measured only once Prometheus has scraped every target (at most six scrape intervals).
    for (let i = 0; i < 6 * SCRAPE_S * 2; i++) {
      const seen = await targetsUp(m).catch(() => '0/0');
      const [upN, all] = seen.split('/').map(Number);
      if (all! > 0 && upN === all) break;
      await sleep(500);
    }
    up.push(await targetsUp(m).catch((err: Error) => `unknown (${err.message})`));
    const c0 = monitoringCpu();
    const r = await measure();
    cpu.push(round((monitoringCpu() - c0) / r.durationS, 3));
    say(`  (Prometheus targets up ${up.at(-1)}; monitoring CPU ${cpu.at(-1)} s a second)`);
    return r;
  };
  const beforeWithout = async () => {
    for (const name of [...m.names].reverse()) await target.actions.pause(name);
    frozen = true;
  };
  const label: [string, string] = ['monitoring running', 'monitoring stopped'];
  say(`page views with the monitoring running and stopped, ${rounds} rounds each`);
  let pageViews: Alternation;
  try {
    pageViews = await alternate(target, users, {
      rounds,
      connections,
      durationS,
      label,
      say,
      during,
      beforeWithout,
    });
  } finally {
    if (frozen) for (const name of m.names) await target.actions.resume(name);
  }
  const idle = await idleCpu(target, m.names, idleWindowS(durationS), say);
  const failed = pageViews.with.failed + pageViews.without.failed;
  return {
    settings: { rounds, durationS, connections },
    processes: m.names,
    pageViews,
    targetsUp: up,
    monitoringCpuPerS: cpu,
    idle,
    checks: [
      {
        what: `the monitoring's CPU, its own and what its scrapes cost the stack, under ${GOAL_COST_PCT} % of the machine`,
        value: `${idle.cpuCostPct} % of ${availableParallelism()} cores`,
        holds: idle.cpuCostPct < GOAL_COST_PCT,
      },
      {
        what: `page views with the monitoring running cost under ${GOAL_COST_PCT} % (median of the rounds' ratios)`,
        value: `${pageViews.pairedCostPct} % (the sides' medians: ${pageViews.with.medianRps} against ${pageViews.without.medianRps} req/s, ${pageViews.costPct} %)`,
        holds: pageViews.pairedCostPct < GOAL_COST_PCT,
      },
      { what: 'no page view failed', value: String(failed), holds: failed === 0 },
    ],
  };
}

/**
 * With no load: CPU seconds a second of the monitoring's processes and of the stack's, windows
 * with the monitoring running and frozen taking turns (ends with it running).
 */
async function idleCpu(
  target: BenchTarget,
  names: string[],
  windowS: number,
  say: (m: string) => void,
): Promise<IdleCpu> {
  const t = target.actions.topology;
  const stack = [...t.redis, ...t.sentinels, ...target.apps].map((x) => x.name).concat('haproxy');
  const cpuOf = (list: string[]) => list.reduce((sum, n) => sum + (cpuSeconds(target.pidOf(n)) ?? 0), 0);
  const out: IdleCpu = {
    windowS: windowS,
    monitoringPerS: [],
    stackRunningPerS: [],
    stackFrozenPerS: [],
    cpuCostPct: 0,
  };
  say(`no load: CPU of the monitoring and of the stack, ${IDLE_WINDOWS} windows of ${windowS} s each side`);
  try {
    for (let i = 0; i < IDLE_WINDOWS * 2; i++) {
      const running = i % 2 === 1;
      for (const n of running ? names : [...names].reverse())
        await (running ? target.actions.resume(n) : target.actions.pause(n));
      const [m0, s0] = [cpuOf(names), cpuOf(stack)];
      await sleep(windowS * 1000);
      const [m1, s1] = [cpuOf(names), cpuOf(stack)];
      (running ? out.stackRunningPerS : out.stackFrozenPerS).push(round((s1 - s0) / windowS, 4));
      if (running) out.monitoringPerS.push(round((m1 - m0) / windowS, 4));
    }
  } finally {
    for (const n of names) await target.actions.resume(n);
  }
  const induced = median(out.stackRunningPerS) - median(out.stackFrozenPerS);
  out.cpuCostPct = round(((median(out.monitoringPerS) + induced) / availableParallelism()) * 100, 2);
  say(
    `  monitoring ${out.monitoringPerS.join(', ')}; stack with it ${out.stackRunningPerS.join(', ')}, frozen ${out.stackFrozenPerS.join(', ')} CPU s a second`,
  );
  return out;
}

export function formatMonitoringBench(r: MonitoringBenchReport): string {
  return [
    `monitoring processes: ${r.processes.join(', ')}`,
    ...formatAlternation(r.pageViews, ['monitoring running', 'monitoring stopped']),
    `Prometheus targets up before each run with it: ${r.targetsUp.join(', ')}; the monitoring's CPU: ${r.monitoringCpuPerS.join(', ')} s a second`,
    `no load, ${r.idle.windowS} s windows: the monitoring's CPU ${r.idle.monitoringPerS.join(', ')}; the stack's with it running ${r.idle.stackRunningPerS.join(', ')}, frozen ${r.idle.stackFrozenPerS.join(', ')} s a second: ${r.idle.cpuCostPct} % of the cores`,
    ...r.checks.map((c) => `  ${c.holds ? 'holds' : 'MISSED'}  ${c.what}: ${c.value}`),
  ].join('\n');
}
