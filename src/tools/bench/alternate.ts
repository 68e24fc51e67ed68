/**
 * Page views measured with something running and without, on one stack, the two taking turns
 * round by round (the machine's speed drifts; a ratio compares runs seconds apart): the `backup`
 * and `monitoring` benches. Each round measures GET /get through HAProxy, as the load bench's
 * `get-haproxy` case does. Two comparisons: the medians of the two sides, and the median of each
 * round's own ratio (with / without, measured seconds apart): the machine's speed drifts by a
 * fifth within a run on a shared machine, which moves the sides' medians apart but cancels out of
 * a ratio of neighbours; the verdicts use the latter.
 */
import { CliError } from '../../ops/commands/context.ts';
import { allCases, type BenchCase, type CaseResult, drive, runCase } from './cases.ts';
import type { BenchUser } from './fixtures.ts';
import { RedisStats, round } from './redis-stats.ts';
import type { BenchTarget } from './target.ts';

export interface Side {
  requestsPerS: number[];
  p99Ms: number[];
  /** Median requests per second and p99 of the rounds. */
  medianRps: number;
  medianP99Ms: number;
  failed: number;
}

export interface Alternation {
  rounds: number;
  durationS: number;
  connections: number;
  with: Side;
  without: Side;
  /** 1 - median with / median without, in per cent (positive: slower with). */
  costPct: number;
  /** Each round's with / without (requests per second). */
  roundRatios: number[];
  /** 1 - the median of roundRatios, in per cent: the cost the verdicts read (pairedCost). */
  pairedCostPct: number;
}

/**
 * Each round's ratio (with / without) and the cost from their median, in per cent. Rounds are
 * paired by index; a side with no requests leaves its round out.
 */
export function pairedCost(withRps: number[], withoutRps: number[]): { ratios: number[]; costPct: number } {
  const ratios: number[] = [];
  for (let i = 0; i < Math.min(withRps.length, withoutRps.length); i++)
    if (withoutRps[i]! > 0) ratios.push(round(withRps[i]! / withoutRps[i]!, 3));
  return { ratios, costPct: ratios.length ? round((1 - median(ratios)) * 100, 1) : 0 };
}

export function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The `get-haproxy` case against the stack's front. */
export function frontGetCase(target: BenchTarget): BenchCase {
  const front = {
    url: target.frontUrl,
    pids: () => target.apps.map((a) => target.pidOf(a.name)),
    haproxyPid: () => target.pidOf('haproxy'),
  };
  const pair = { front, direct: front };
  const c = allCases({ app: pair, ceiling: pair, peer: pair }).find((x) => x.id === 'get-haproxy');
  if (!c) throw new Error('no get-haproxy case');
  return c;
}

/** One measurement of the case on the master the Sentinels name now. */
export async function measureOnce(
  target: BenchTarget,
  c: BenchCase,
  users: BenchUser[],
  opts: { connections: number; durationS: number },
): Promise<CaseResult> {
  const m = await target.actions.currentMaster();
  if (!m) throw new CliError('the Sentinels name no master');
  const stats = await RedisStats.open(m.host, m.port, target.actions.login);
  try {
    return await runCase(c, users, stats, { ...opts, progress: false });
  } finally {
    await stats.close();
  }
}

function side(rows: CaseResult[]): Side {
  const rps = rows.map((r) => r.requestsPerS);
  const p99 = rows.map((r) => r.latencyMs.p99);
  return {
    requestsPerS: rps,
    p99Ms: p99,
    medianRps: median(rps),
    medianP99Ms: median(p99),
    failed: rows.reduce((n, r) => n + r.errors + r.timeouts + r.non2xx, 0),
  };
}

/**
 * `rounds` rounds, each measuring once with (`during` wraps the measurement: it starts what runs
 * alongside and ends it) and once without; the order within a round swaps every round.
 */
export async function alternate(
  target: BenchTarget,
  users: BenchUser[],
  opts: {
    rounds: number;
    connections: number;
    durationS: number;
    label: [string, string];
    during: (measure: () => Promise<CaseResult>) => Promise<CaseResult>;
    /** Called before each measurement without (to stop what runs alongside). */
    beforeWithout?: () => Promise<void>;
    say: (m: string) => void;
  },
): Promise<Alternation> {
  const c = frontGetCase(target);
  const load = { connections: opts.connections, durationS: opts.durationS };
  await drive(c, users, { ...load, durationS: Math.min(2, opts.durationS), progress: false });
  const on: CaseResult[] = [];
  const off: CaseResult[] = [];
  const line = (label: string, r: CaseResult) =>
    `  ${label}: ${r.requestsPerS} req/s, p99 ${r.latencyMs.p99} ms${r.errors + r.timeouts + r.non2xx ? `, ${r.errors + r.timeouts + r.non2xx} failed` : ''}`;
  for (let i = 0; i < opts.rounds; i++) {
    opts.say(`round ${i + 1}/${opts.rounds}`);
    const withFirst = i % 2 === 0;
    for (const w of withFirst ? [true, false] : [false, true]) {
      if (!w) await opts.beforeWithout?.();
      const once = () => measureOnce(target, c, users, load);
      const r = w ? await opts.during(once) : await once();
      (w ? on : off).push(r);
      opts.say(line(opts.label[w ? 0 : 1], r));
    }
  }
  const a = side(on);
  const b = side(off);
  const paired = pairedCost(a.requestsPerS, b.requestsPerS);
  return {
    rounds: opts.rounds,
    durationS: opts.durationS,
    connections: opts.connections,
    with: a,
    without: b,
    costPct: b.medianRps > 0 ? round((1 - a.medianRps / b.medianRps) * 100, 1) : 0,
    roundRatios: paired.ratios,
    pairedCostPct: paired.costPct,
  };
}

export function formatAlternation(a: Alternation, label: [string, string]): string[] {
  const row = (name: string, s: Side) =>
    `| ${name} | ${s.requestsPerS.join(', ')} | ${s.medianRps} | ${s.medianP99Ms} | ${s.failed} |`;
  return [
    `| GET /get via HAProxy (${a.rounds} rounds of ${a.durationS} s, ${a.connections} connections) | req/s per round | median req/s | median p99 ms | failed |`,
    '|---|---|---|---|---|',
    row(label[0], a.with),
    row(label[1], a.without),
    `each round's ${label[0]} / ${label[1]}: ${a.roundRatios.join(', ')}; cost by their median ${a.pairedCostPct} % (by the sides' medians ${a.costPct} %)`,
  ];
}
