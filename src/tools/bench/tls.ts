// `bench tls`: what TLS on every hop costs (docs/tls.md). Page views and durable cart writes through
// the front, on a stack with TLS and on the same stack without, in alternating rounds (the stack
// of each round started afresh: one process speaks to one stack's TLS at a time, ha/tls.ts).
import type { BenchArgs } from './args.ts';
import { allCases, type CaseResult, drive, runCase } from './cases.ts';
import { createBenchUsers } from './fixtures.ts';
import { RedisStats, round } from './redis-stats.ts';
import { ownStack } from './target.ts';
import { type HandshakeResult, handshakes, PARTS, type PartCpu, partCpu, perRequest } from './tls-cost.ts';

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
  /** CPU per request (µs) of each part of the stack and of the load's client. */
  cpuUs: PartCpu;
}

export interface HandshakeRound extends HandshakeResult {
  round: number;
  tls: boolean;
}

export interface TlsReport {
  rounds: TlsRound[];
  handshakes: HandshakeRound[];
  /** Per case and part: the median CPU per request (µs) without and with TLS. */
  cpu: { case: string; part: string; plain: number; tls: number }[];
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
): Promise<{ rows: TlsRound[]; handshake: HandshakeRound }> {
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
        const cpu0 = partCpu(target);
        const r: CaseResult = await runCase(c, users, stats, {
          connections: args.connections,
          durationS: args.durationS,
          progress: false,
        });
        const cpuUs = perRequest(cpu0, partCpu(target), r.requests);
        const row = {
          round: n,
          tls,
          case: c.id as TlsRound['case'],
          requestsPerS: r.requestsPerS,
          p99Ms: r.latencyMs.p99,
          errors: r.errors + r.timeouts + r.non2xx,
          cpuUs,
        };
        say(
          `  round ${n} ${tls ? 'TLS  ' : 'plain'} ${c.id}: ${row.requestsPerS} req/s, p99 ${row.p99Ms} ms, ${row.errors} failed`,
        );
        say(`    CPU per request (µs): ${PARTS.map((p) => `${p} ${cpuUs[p]}`).join(', ')}`);
        out.push(row);
      }
      const h = await handshakes(target, Math.min(args.durationS, 5));
      say(
        `  round ${n} ${tls ? 'TLS  ' : 'plain'} a new connection per request: ${h.perS} req/s, HAProxy ${h.haproxyUsPerConnection} µs CPU per connection, ${h.failed} failed`,
      );
      return { rows: out, handshake: { round: n, tls, ...h } };
    } finally {
      await stats.close();
    }
  } finally {
    await target.stop();
  }
}

export async function runTls(args: BenchArgs, say: (m: string) => void): Promise<TlsReport> {
  const rounds: TlsRound[] = [];
  const shakes: HandshakeRound[] = [];
  for (let n = 1; n <= args.rounds; n++) {
    // Alternating which goes first, so that neither always meets the machine warmer.
    const order = n % 2 ? [false, true] : [true, false];
    for (const tls of order) {
      const { rows, handshake } = await oneRound(args, tls, n, say);
      rounds.push(...rows);
      shakes.push(handshake);
    }
  }
  const cpu = CASES.flatMap((id) =>
    PARTS.map((part) => {
      const of = (tls: boolean) =>
        median(rounds.filter((r) => r.case === id && r.tls === tls).map((r) => r.cpuUs[part]));
      return { case: id, part, plain: round(of(false), 1), tls: round(of(true), 1) };
    }),
  );
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
  return { rounds, handshakes: shakes, cpu, summary };
}

export function formatTls(r: TlsReport): string {
  const lines = ['case            plain req/s   TLS req/s   TLS/plain   p99 plain/TLS ms   goal'];
  for (const s of r.summary)
    lines.push(
      `${s.case.padEnd(16)}${String(s.plain).padStart(11)}${String(s.tls).padStart(12)}${String(s.ratio).padStart(12)}${`${s.p99Plain}/${s.p99Tls}`.padStart(19)}   >= ${TLS_GOAL}: ${s.met ? 'met' : 'MISSED'}`,
    );
  lines.push(
    `(medians of ${new Set(r.rounds.map((x) => x.round)).size} alternating rounds, each on a fresh stack)`,
    '',
    'CPU per request (µs, medians): plain -> TLS',
    `case            ${PARTS.map((p) => p.padStart(16)).join('')}           total`,
  );
  for (const id of CASES) {
    const rows = r.cpu.filter((c) => c.case === id);
    const total = (k: 'plain' | 'tls') =>
      round(
        rows.reduce((n, c) => n + c[k], 0),
        0,
      );
    lines.push(
      `${id.padEnd(16)}${rows.map((c) => `${round(c.plain, 0)} -> ${round(c.tls, 0)}`.padStart(16)).join('')}${`${total('plain')} -> ${total('tls')}`.padStart(16)}   (all CPU: ${total('tls') > 0 ? round(total('plain') / total('tls'), 2) : 0}x)`,
    );
  }
  const shake = (tls: boolean) => r.handshakes.filter((h) => h.tls === tls);
  const med = (tls: boolean, f: (h: HandshakeRound) => number) => round(median(shake(tls).map(f)), 1);
  if (r.handshakes.length)
    lines.push(
      '',
      `a new connection per request (GET /healthz through the front): plain ${med(false, (h) => h.perS)} req/s, TLS ${med(true, (h) => h.perS)} req/s; HAProxy CPU per connection ${med(false, (h) => h.haproxyUsPerConnection)} -> ${med(true, (h) => h.haproxyUsPerConnection)} µs`,
    );
  return lines.join('\n');
}
