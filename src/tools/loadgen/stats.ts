import type { Answer } from './http.ts';
import type { Surface } from './user.ts';

export interface Sample {
  /** performance.now() when the request left. */
  at: number;
  ms: number;
  kind: 'read' | 'write';
  surface: Surface;
  ok: boolean;
  status: number;
  /** A 503 that told the client when to come back. */
  retryAfter?: boolean;
  reason?: string;
}

export interface LoadStats {
  samples: Sample[];
  writesAcked: number;
  /** Reads that showed a quantity below one already acknowledged to that user. */
  staleReads: number;
  /** The first few of them, for the report: which product, what was acknowledged and what was seen. */
  staleSeen: Shortfall[];
  /**
   * Acknowledged quantities the master itself did not hold: below the acknowledged value in a
   * write's answer (the cart the master left after it). Such a write was lost even if the user
   * wrote that product again before the end (the read-back cannot see it).
   */
  missingOnMaster: Shortfall[];
  failures: Map<string, number>;
  /** Requests sent again on a fresh connection after their kept-alive one was found closed. */
  resent: number;
}

/** A product shown below what was acknowledged to its user. */
export interface Shortfall {
  email: string;
  surface: Surface;
  product: string;
  acked: number;
  seen: number;
  /** performance.now() when the answer arrived. */
  at: number;
}

/** How many stale reads a report describes. */
const STALE_KEPT = 5;

export function newStats(): LoadStats {
  return {
    samples: [],
    writesAcked: 0,
    staleReads: 0,
    staleSeen: [],
    missingOnMaster: [],
    failures: new Map(),
    resent: 0,
  };
}

/** Products `items` shows below what was acknowledged to the user (the one just written excepted). */
export function shortfalls(
  user: { email: string; surface: Surface; acked: Map<string, number> },
  items: Record<string, number>,
  except?: string,
): Shortfall[] {
  const at = performance.now();
  const out: Shortfall[] = [];
  for (const [product, acked] of user.acked) {
    const seen = items[product] ?? 0;
    if (product !== except && seen < acked)
      out.push({ email: user.email, surface: user.surface, product, acked, seen, at });
  }
  return out;
}

/** Counts a read that showed `short` (none: not stale); keeps the first few for the report. */
export function recordStale(stats: LoadStats, short: Shortfall[]): void {
  if (short.length === 0) return;
  stats.staleReads++;
  if (stats.staleSeen.length < STALE_KEPT) stats.staleSeen.push(short[0]!);
}

/** Whether two records name the same acknowledged value: one user's product at one quantity. */
export function sameAcked(
  a: { email: string; product: string; acked: number },
  b: { email: string; product: string; acked: number },
): boolean {
  return a.email === b.email && a.product === b.product && a.acked === b.acked;
}

/** Records acknowledged values the master lacked, each (user, product, value) once. */
export function recordMissing(stats: LoadStats, short: Shortfall[]): void {
  for (const s of short)
    if (!stats.missingOnMaster.some((m) => sameAcked(m, s))) stats.missingOnMaster.push(s);
}

export function record(stats: LoadStats, s: Sample): void {
  stats.samples.push(s);
  if (!s.ok) {
    const key = s.reason ?? `${s.surface} ${s.kind} ${s.status}`;
    stats.failures.set(key, (stats.failures.get(key) ?? 0) + 1);
  }
}

/** One answered request: its time from `at`, its status, and whether it had to be sent again. */
export function recordAnswer(stats: LoadStats, answer: Answer, s: Omit<Sample, 'ms' | 'status'>): void {
  if (answer.resent) stats.resent++;
  record(stats, { ...s, ms: performance.now() - s.at, status: answer.status });
}
