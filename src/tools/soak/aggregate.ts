import { percentile } from '../chaos/report.ts';
import type { Sample } from '../loadgen/stats.ts';
import type { Probe } from './resources.ts';
import type { SessionCounters } from './session.ts';

/** One reporting interval of the soak (a minute, unless told otherwise). */
export interface IntervalRow {
  /** 1, 2, ... */
  index: number;
  /** Seconds from the start of the load. */
  fromS: number;
  toS: number;
  /** Requests answered in the interval, per second of it. */
  requests: number;
  reqPerS: number;
  p99Ms: number;
  maxMs: number;
  reads: number;
  writes: number;
  failedReads: number;
  failedWrites: number;
  /** The failures by cause (`page POST /add 503 app`, ...). */
  failedWhy: Record<string, number>;
  /** Failed requests answered 503 with Retry-After: refused as the contract says, still failed. */
  failedRetryAfter: number;
  /** Cart writes acknowledged in the interval. */
  writesAcked: number;
  logins: number;
  logouts: number;
  registrations: number;
  /** Each app's resident memory (MB), the median of the interval's looks. */
  appRssMb: Record<string, number | null>;
  /** The master's used_memory (MB) and connected_clients, medians of the interval's looks. */
  redisUsedMemoryMb: number | null;
  redisConnectedClients: number | null;
  redisConnectedClientsMax: number | null;
  /** The master at the end of the interval. */
  master: string | null;
  /** A master was killed in this interval. */
  kill: boolean;
  /** The interval overlaps a kill's outage (from the kill until the stack was whole again). */
  fault: boolean;
}

export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const present = (v: (number | null)[]) => v.filter((x): x is number => x !== null);

export interface IntervalInput {
  index: number;
  fromS: number;
  toS: number;
  /** The requests answered in the interval. */
  samples: Sample[];
  writesAcked: number;
  /** Logins, logouts and registrations in the interval (differences of the counters). */
  sessions: SessionCounters;
  /** The looks at the stack's resources taken in the interval. */
  probes: Probe[];
  /** Kill times and the outage each one caused, in seconds from the start (`wholeS` null: not whole yet). */
  kills: { atS: number; wholeS: number | null }[];
}

/** The figures of one interval, from its requests and its looks at the stack. */
export function intervalRow(input: IntervalInput): IntervalRow {
  const { samples, probes, fromS, toS } = input;
  const failedWhy: Record<string, number> = {};
  let failedReads = 0;
  let failedWrites = 0;
  let failedRetryAfter = 0;
  for (const s of samples) {
    if (s.ok) continue;
    if (s.kind === 'read') failedReads++;
    else failedWrites++;
    if (s.status === 503 && s.retryAfter) failedRetryAfter++;
    const why = s.reason ?? `${s.surface} ${s.kind} ${s.status}`;
    failedWhy[why] = (failedWhy[why] ?? 0) + 1;
  }
  const ms = samples.map((s) => s.ms);
  const apps = [...new Set(probes.flatMap((p) => Object.keys(p.appRssMb)))].sort();
  const clients = present(probes.map((p) => p.connectedClients));
  const seconds = Math.max(toS - fromS, 0.001);
  return {
    index: input.index,
    fromS: round(fromS, 1),
    toS: round(toS, 1),
    requests: samples.length,
    reqPerS: round(samples.length / seconds, 1),
    p99Ms: Math.round(percentile(ms, 99)),
    maxMs: Math.round(ms.reduce((a, b) => Math.max(a, b), 0)),
    reads: samples.filter((s) => s.kind === 'read').length,
    writes: samples.filter((s) => s.kind === 'write').length,
    failedReads,
    failedWrites,
    failedWhy,
    failedRetryAfter,
    writesAcked: input.writesAcked,
    ...input.sessions,
    appRssMb: Object.fromEntries(
      apps.map((a) => [a, median(present(probes.map((p) => p.appRssMb[a] ?? null)))]),
    ),
    redisUsedMemoryMb: median(present(probes.map((p) => p.usedMemoryMb))),
    redisConnectedClients: median(clients),
    redisConnectedClientsMax: clients.length ? Math.max(...clients) : null,
    master: probes.at(-1)?.master ?? null,
    kill: input.kills.some((k) => k.atS >= fromS && k.atS < toS),
    fault: input.kills.some((k) => k.atS < toS && (k.wholeS === null || k.wholeS >= fromS)),
  };
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

/** (to - from) / from, or null when either is unknown (or from is 0). */
export function growth(from: number | null | undefined, to: number | null | undefined): number | null {
  if (from === null || from === undefined || to === null || to === undefined || from === 0) return null;
  return round((to - from) / from, 4);
}

/** Growth of a figure judged against the limit. */
export interface GrowthFigure {
  what: string;
  from: number | null;
  to: number | null;
  growth: number | null;
}

/** Minutes of warm-up before memory and connections are expected to be flat. */
export const WARM_UP_S = 300;
/** Largest growth allowed after the warm-up. */
export const GROWTH_LIMIT = 0.1;

export interface GrowthJudgement {
  /**
   * False for runs too short to judge (no two intervals from the 5th minute on): the growth is
   * reported all the same.
   */
  judged: boolean;
  /** Rows compared (indexes). */
  fromRow: number | null;
  toRow: number | null;
  figures: GrowthFigure[];
  /** The figures over the limit (only when judged). */
  missed: string[];
}

/**
 * Each app's RSS and the master's connected clients: the first interval that starts once the
 * warm-up is over against the last one; growth must stay under GROWTH_LIMIT. Judged only when the
 * run is longer than the warm-up by more than an interval; a shorter run compares its first and
 * last intervals and says it is not judged.
 */
export function judgeGrowth(rows: IntervalRow[], durationS: number): GrowthJudgement {
  const long = durationS > WARM_UP_S;
  const from = (long ? rows.find((r) => r.fromS >= WARM_UP_S - 0.05) : rows[0]) ?? null;
  const to = rows.at(-1) ?? null;
  const usable = from !== null && to !== null && from !== to;
  const judged = long && usable;
  const apps = [...new Set(rows.flatMap((r) => Object.keys(r.appRssMb)))].sort();
  const figure = (what: string, pick: (r: IntervalRow) => number | null): GrowthFigure => {
    const a = usable ? pick(from) : null;
    const b = usable ? pick(to) : null;
    return { what, from: a, to: b, growth: growth(a, b) };
  };
  const figures = [
    ...apps.map((a) => figure(`${a} RSS`, (r) => r.appRssMb[a] ?? null)),
    figure('Redis connections', (r) => r.redisConnectedClients),
  ];
  const missed = judged
    ? figures
        .filter((f) => f.growth === null || f.growth >= GROWTH_LIMIT)
        .map((f) => `${f.what} grew ${f.growth === null ? '(unknown)' : `${pct(f.growth)}`}`)
    : [];
  return { judged, fromRow: usable ? from.index : null, toRow: usable ? to.index : null, figures, missed };
}

export const pct = (g: number) => `${g >= 0 ? '+' : ''}${Math.round(g * 1000) / 10} %`;

/** p99 may grow by this factor, or by DRIFT_SLACK_MS, whichever is larger (scheduling noise). */
export const DRIFT_FACTOR = 1.5;
export const DRIFT_SLACK_MS = 10;

export interface DriftJudgement {
  judged: boolean;
  /** Median p99 of the first and the last third of the intervals without a kill's outage. */
  firstMs: number | null;
  lastMs: number | null;
  ratio: number | null;
  missed: string[];
}

/**
 * p99 drift: the intervals that overlap no kill's outage, in order, are cut in thirds; the median
 * p99 of the last third must not exceed the first third's by more than DRIFT_FACTOR (or
 * DRIFT_SLACK_MS, when that is more). Judged on the same runs as growth (longer than the warm-up).
 */
export function judgeDrift(rows: IntervalRow[], durationS: number): DriftJudgement {
  const calm = rows.filter((r) => !r.fault && r.requests > 0);
  const third = Math.floor(calm.length / 3);
  if (third === 0) return { judged: false, firstMs: null, lastMs: null, ratio: null, missed: [] };
  const firstMs = median(calm.slice(0, third).map((r) => r.p99Ms))!;
  const lastMs = median(calm.slice(-third).map((r) => r.p99Ms))!;
  const ratio = firstMs > 0 ? round(lastMs / firstMs, 2) : null;
  const judged = durationS > WARM_UP_S;
  const over = lastMs > Math.max(firstMs * DRIFT_FACTOR, firstMs + DRIFT_SLACK_MS);
  const missed = judged && over ? [`p99 drifted from ${firstMs} ms to ${lastMs} ms`] : [];
  return { judged, firstMs, lastMs, ratio, missed };
}
