import type { LoadStats, Shortfall } from '../loadgen/stats.ts';

export interface ScenarioRow {
  scenario: string;
  requests: number;
  reads: number;
  writes: number;
  /** Requests of people in a browser (pages, forms) and of programs (JSON API). */
  pageRequests: number;
  apiRequests: number;
  failed: number;
  failedReads: number;
  failedWrites: number;
  failedWhy: Record<string, number>;
  writesAcked: number;
  writesLost: number;
  phantomWrites: number;
  sessionsLost: number;
  /** Reads that showed a quantity below one already acknowledged to that user. */
  staleReads: number;
  /** The first stale reads in words (surface, user, product, acknowledged > shown, when). */
  staleDetail?: string;
  /** Requests sent again on a new connection after their kept-alive one was found closed (as browsers do). */
  resent: number;
  /** Seconds from the fault to the first successful write that started after it (null: none needed or none seen). */
  writeWindowS: number | null;
  /** The write window of each fault (rounds), in order. */
  writeWindowsS: (number | null)[];
  /** Seconds from each fault to Sentinel's +switch-master (null: no switch), in order. */
  switchesS: (number | null)[];
  p99Ms: number;
  maxMs: number;
  /** Degraded modes any app's /readyz reported during the scenario, in the order first seen. */
  modesSeen: string[];
  /**
   * When each of them was first and last seen, in seconds from the first fault (negative: before
   * it), and in how many answers of /readyz (every 200 ms from each instance).
   */
  modeSpansS: { mode: string; fromS: number; toS: number; polls: number }[];
  /** Redis nodes up and healthy once the scenario ended: the master and the replicas linked to it. */
  nodesAtEnd: number | null;
  /** The longest time two nodes reported role:master and took writes (sampled every 100 ms; a master its guard fenced off takes none), where it was watched. */
  twoMastersS?: number;
  /**
   * Only when something was lost: what each Redis node held at the read-back (role, replication
   * id and offset, key count, how many of the missing sessions and lost values it has), so that a
   * loss seen once can be told apart from a read-back on the wrong node.
   */
  lossDetail?: string;
  goal: string;
  passed: boolean;
  /** The goals the run missed, in words. */
  missed: string[];
  /** Why this scenario could not run on this machine (it then passes nothing and proves nothing). */
  skipped?: string;
  /** The scenario could not complete (a wait timed out, a node would not come back). */
  error?: string;
  note?: string;
  /** The slowest request, when one took over a second: what it was and when it left. */
  slowest?: string;
}

/** Shortfalls in words: surface, user, product, acknowledged > shown, seconds from `from`. */
export function describeShortfalls(list: Shortfall[], from: number): string {
  const shown = list
    .slice(0, 5)
    .map(
      (s) =>
        `${s.surface} ${s.email.split('@')[0]} ${s.product} ${s.acked}>${s.seen} at ${Math.round((s.at - from) / 100) / 10} s`,
    );
  return list.length > 5 ? `${shown.join(', ')} and ${list.length - 5} more` : shown.join(', ');
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * Latency figures cover the requests that started between the fault and the end of the settle
 * phase; the write window runs from the fault to the first write started after it that succeeded.
 */
export function summarize(stats: LoadStats, faultAt: number, settledAt: number) {
  const s = stats.samples;
  const during = s.filter((x) => x.at >= faultAt && x.at <= settledAt).map((x) => x.ms);
  const firstWrite = s
    .filter((x) => x.kind === 'write' && x.ok && x.at >= faultAt)
    .reduce((min, x) => Math.min(min, x.at + x.ms), Number.POSITIVE_INFINITY);
  const count = (f: (x: (typeof s)[number]) => boolean) => s.reduce((n, x) => n + (f(x) ? 1 : 0), 0);
  return {
    requests: s.length,
    reads: count((x) => x.kind === 'read'),
    writes: count((x) => x.kind === 'write'),
    pageRequests: count((x) => x.surface === 'page'),
    apiRequests: count((x) => x.surface === 'api'),
    failed: count((x) => !x.ok),
    failedReads: count((x) => !x.ok && x.kind === 'read'),
    failedWrites: count((x) => !x.ok && x.kind === 'write'),
    failedWhy: Object.fromEntries(stats.failures),
    writesAcked: stats.writesAcked,
    staleReads: stats.staleReads,
    ...(stats.staleSeen.length ? { staleDetail: describeShortfalls(stats.staleSeen, faultAt) } : {}),
    resent: stats.resent,
    writeWindowS: Number.isFinite(firstWrite) ? Math.round(firstWrite - faultAt) / 1000 : null,
    p99Ms: Math.round(percentile(during, 99)),
    maxMs: Math.round(during.reduce((a, b) => Math.max(a, b), 0)),
  };
}

type Cell = (r: ScenarioRow) => string;
const num =
  (k: keyof ScenarioRow): Cell =>
  (r) => {
    const v = r[k];
    return v === null || v === undefined ? '-' : String(v);
  };

const COLUMNS: [string, Cell][] = [
  ['scenario', (r) => r.scenario],
  ['requests', num('requests')],
  ['page/api', (r) => `${r.pageRequests}/${r.apiRequests}`],
  ['failed reads', num('failedReads')],
  ['failed writes', num('failedWrites')],
  ['acked', num('writesAcked')],
  ['lost', num('writesLost')],
  ['sess lost', num('sessionsLost')],
  ['stale', num('staleReads')],
  ['window s', num('writeWindowS')],
  ['p99 ms', num('p99Ms')],
  ['max ms', num('maxMs')],
  ['mode seen', (r) => (r.modesSeen.length ? r.modesSeen.join(',') : '-')],
  ['goal', (r) => (r.skipped ? 'skipped' : r.passed ? 'met' : 'MISSED')],
];

/** The table `ha-stack chaos` prints, then a line per scenario with what the numbers do not say. */
export function formatTable(rows: ScenarioRow[]): string {
  const cells = rows.map((r) => COLUMNS.map(([, cell]) => cell(r)));
  const header = COLUMNS.map(([h]) => h);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)];
  for (const r of rows) {
    const notes = [
      r.error && `error: ${r.error}`,
      ...r.missed.map((m) => `missed: ${m}`),
      ...Object.entries(r.failedWhy).map(([k, v]) => `${k} x${v}`),
    ];
    if (r.switchesS.some((x) => x !== null)) {
      const pairs = r.writeWindowsS.map((w, i) => `${w ?? '-'}/${r.switchesS[i] ?? '-'}`);
      notes.push(`write window / Sentinel switch per fault: ${pairs.join(' ')} s`);
    }
    if (r.modeSpansS.length)
      notes.push(
        `modes: ${r.modeSpansS.map((m) => `${m.mode} ${m.fromS}..${m.toS} s (${m.polls} polls)`).join(', ')}`,
      );
    if (r.staleDetail) notes.push(`stale: ${r.staleDetail}`);
    if (r.phantomWrites) notes.push(`${r.phantomWrites} value(s) nobody wrote`);
    if (r.resent) notes.push(`${r.resent} request(s) resent on a fresh connection`);
    notes.push(r.note, r.slowest, r.skipped && `skipped: ${r.skipped}`);
    const text = notes.filter(Boolean);
    if (text.length) out.push(`  ${r.scenario}: ${text.join('; ')}`);
  }
  return out.join('\n');
}
