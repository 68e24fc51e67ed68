import type { LoadStats } from './load.ts';

export interface ScenarioRow {
  scenario: string;
  requests: number;
  failed: number;
  failedWhy: Record<string, number>;
  writesAcked: number;
  writesLost: number;
  phantomWrites: number;
  sessionsLost: number;
  staleReads: number;
  /** Seconds from the fault to the first successful write that started after it (null: none needed or none seen). */
  writeWindowS: number | null;
  /** The write window of each fault (rounds), in order. */
  writeWindowsS: (number | null)[];
  /** Seconds from each fault to Sentinel's +switch-master (null: no switch), in order. */
  switchesS: (number | null)[];
  p99Ms: number;
  maxMs: number;
  goal: string;
  passed: boolean;
  /** Why the scenario could not run on this machine (it then passes nothing and proves nothing). */
  skipped?: string;
  note?: string;
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
  const during = stats.samples.filter((s) => s.at >= faultAt && s.at <= settledAt).map((s) => s.ms);
  const firstWrite = stats.samples
    .filter((s) => s.kind === 'write' && s.ok && s.at >= faultAt)
    .reduce((min, s) => Math.min(min, s.at + s.ms), Number.POSITIVE_INFINITY);
  return {
    requests: stats.samples.length,
    failed: stats.samples.filter((s) => !s.ok).length,
    failedWhy: Object.fromEntries(stats.failures),
    writesAcked: stats.writesAcked,
    staleReads: stats.staleReads,
    writeWindowS: Number.isFinite(firstWrite) ? Math.round(firstWrite - faultAt) / 1000 : null,
    p99Ms: Math.round(percentile(during, 99)),
    maxMs: Math.round(during.reduce((a, b) => Math.max(a, b), 0)),
  };
}

const COLUMNS: [keyof ScenarioRow, string][] = [
  ['scenario', 'scenario'],
  ['requests', 'requests'],
  ['failed', 'failed'],
  ['writesAcked', 'acked'],
  ['writesLost', 'lost'],
  ['sessionsLost', 'sess lost'],
  ['staleReads', 'stale'],
  ['writeWindowS', 'window s'],
  ['p99Ms', 'p99 ms'],
  ['maxMs', 'max ms'],
  ['passed', 'goal'],
];

export function formatTable(rows: ScenarioRow[]): string {
  const cells = rows.map((r) =>
    COLUMNS.map(([k]) => {
      const v = r[k];
      if (k === 'passed') return r.skipped ? 'skipped' : v ? 'met' : 'MISSED';
      return v === null || v === undefined ? '-' : String(v);
    }),
  );
  const header = COLUMNS.map(([, h]) => h);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)];
  for (const r of rows) {
    const why = Object.entries(r.failedWhy).map(([k, v]) => `${k} x${v}`);
    if (r.switchesS.some((x) => x !== null)) {
      const pairs = r.writeWindowsS.map((w, i) => `${w ?? '-'}/${r.switchesS[i] ?? '-'}`);
      why.push(`write window / Sentinel switch per fault: ${pairs.join(' ')} s`);
    }
    const notes = [...why, r.note, r.skipped && `skipped: ${r.skipped}`].filter(Boolean);
    if (notes.length) out.push(`  ${r.scenario}: ${notes.join('; ')}`);
  }
  return out.join('\n');
}
