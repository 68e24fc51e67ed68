// `bench tls`: what TLS on every hop costs (docs/tls.md). Page views and durable cart writes through
// the front, on a stack with TLS and on the same stack without, in alternating rounds (the stack
// of each round started afresh: one process speaks to one stack's TLS at a time, ha/tls.ts).
import type { BenchArgs } from './args.ts';
import { allCases, type CaseResult, drive, runCase } from './cases.ts';
import { createBenchUsers } from './fixtures.ts';
import { RedisStats, round } from './redis-stats.ts';
import { ownStack } from './target.ts';

/** The goal: with TLS at least this share of the same stack's figure without (issue: 0.85x). */
export const TLS_GOAL = 0.85;
const CASES = ['get-haproxy', 'put-haproxy'] as const;

export interface TlsRound {
  round: number;
  tls: boolean;
  case: (typeof CASES)[number];
  requestsPerS: number;
  p99Ms: number;
  errors: number;
}

export interface TlsReport {
  rounds: TlsRound[];
  /** Per case: the median req/s and p99 with and without TLS, and the ratio of the medians. */
  summary: {
    case: string;
    plain: number;
    tls: number;
    ratio: number;
    p99Plain: number;
    p99Tls: number;
    met: boolean;
  }[];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** One round on one stack: warm-up, then each case for the run's duration. */
async function oneRound(
  args: BenchArgs,
  tls: boolean,
  n: number,
  say: (m: string) => void,
): Promise<TlsRound[]> {
  const target = await ownStack({ tls, ...(args.scryptCost ? { scryptCost: args.scryptCost } : {}) });
  try {
    // Made on one app directly (plain HTTP on loopback): the cookies serve the front as well.
    const users = await createBenchUsers(target.directUrl, undefined, args.connections);
    const master = await target.actions.currentMaster();
    if (!master) throw new Error('the Sentinels name no master');
    const stats = await RedisStats.open(master.host, master.port, target.actions.login);
    const none = { url: target.directUrl, pids: () => [] };
    const cases = allCases({
      app: {
        front: {
          url: target.frontUrl,
          pids: () => target.apps.map((a) => target.pidOf(a.name)),
          haproxyPid: () => target.pidOf('haproxy'),
        },
        direct: none,
      },
      ceiling: { front: none, direct: none },
      peer: { front: none, direct: none },
    }).filter((c) => (CASES as readonly string[]).includes(c.id));
    const out: TlsRound[] = [];
    try {
      for (const c of cases)
        if (args.warmupS > 0)
          await drive(c, users, { connections: args.connections, durationS: args.warmupS, progress: false });
      for (const c of cases) {
        const r: CaseResult = await runCase(c, users, stats, {
          connections: args.connections,
          durationS: args.durationS,
          progress: false,
        });
        const row = {
          round: n,
          tls,
          case: c.id as TlsRound['case'],
          requestsPerS: r.requestsPerS,
          p99Ms: r.latencyMs.p99,
          errors: r.errors + r.timeouts + r.non2xx,
        };
        say(
          `  round ${n} ${tls ? 'TLS  ' : 'plain'} ${c.id}: ${row.requestsPerS} req/s, p99 ${row.p99Ms} ms, ${row.errors} failed`,
        );
        out.push(row);
      }
    } finally {
      await stats.close();
    }
    return out;
  } finally {
    await target.stop();
  }
}

export async function runTls(args: BenchArgs, say: (m: string) => void): Promise<TlsReport> {
  const rounds: TlsRound[] = [];
  for (let n = 1; n <= args.rounds; n++) {
    // Alternating which goes first, so that neither always meets the machine warmer.
    const order = n % 2 ? [false, true] : [true, false];
    for (const tls of order) rounds.push(...(await oneRound(args, tls, n, say)));
  }
  const summary = CASES.map((id) => {
    const of = (tls: boolean) => rounds.filter((r) => r.case === id && r.tls === tls);
    const plain = median(of(false).map((r) => r.requestsPerS));
    const tls = median(of(true).map((r) => r.requestsPerS));
    const ratio = plain > 0 ? round(tls / plain, 2) : 0;
    return {
      case: id,
      plain: round(plain, 0),
      tls: round(tls, 0),
      ratio,
      p99Plain: median(of(false).map((r) => r.p99Ms)),
      p99Tls: median(of(true).map((r) => r.p99Ms)),
      met: ratio >= TLS_GOAL,
    };
  });
  return { rounds, summary };
}

export function formatTls(r: TlsReport): string {
  const lines = ['case            plain req/s   TLS req/s   TLS/plain   p99 plain/TLS ms   goal'];
  for (const s of r.summary)
    lines.push(
      `${s.case.padEnd(16)}${String(s.plain).padStart(11)}${String(s.tls).padStart(12)}${String(s.ratio).padStart(12)}${`${s.p99Plain}/${s.p99Tls}`.padStart(19)}   >= ${TLS_GOAL}: ${s.met ? 'met' : 'MISSED'}`,
    );
  lines.push(
    `(medians of ${new Set(r.rounds.map((x) => x.round)).size} alternating rounds, each on a fresh stack)`,
  );
  return lines.join('\n');
}
