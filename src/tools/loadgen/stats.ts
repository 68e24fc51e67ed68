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
  failures: Map<string, number>;
  /** Requests sent again on a fresh connection after their kept-alive one was found closed. */
  resent: number;
}

export function newStats(): LoadStats {
  return { samples: [], writesAcked: 0, staleReads: 0, failures: new Map(), resent: 0 };
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
