import { type DriftJudgement, type GrowthJudgement, type IntervalRow, pct } from './aggregate.ts';

/** m:ss of a time in seconds. */
export function clock(s: number): string {
  const whole = Math.round(s);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, '0')}`;
}

const num = (v: number | null | undefined, digits = 1) =>
  v === null || v === undefined ? '-' : v.toFixed(digits);

/** The header of the per-interval lines; the apps' columns as the rows name them. */
export function headerLine(apps: string[]): string {
  const cols = [
    'until'.padStart(6),
    'req/s'.padStart(7),
    'p99 ms'.padStart(7),
    'failed'.padStart(7),
    'acked'.padStart(6),
    'logins'.padStart(7),
    'regs'.padStart(5),
    ...apps.map((a) => `${a} MB`.padStart(10)),
    'redis MB'.padStart(9),
    'conns'.padStart(6),
    '  master',
  ];
  return cols.join('');
}

/** One line per interval: the figures, and the kill when one happened. */
export function rowLine(row: IntervalRow, apps: string[]): string {
  const failed = row.failedReads + row.failedWrites;
  const cols = [
    clock(row.toS).padStart(6),
    num(row.reqPerS).padStart(7),
    String(row.p99Ms).padStart(7),
    String(failed).padStart(7),
    String(row.writesAcked).padStart(6),
    String(row.logins).padStart(7),
    String(row.registrations).padStart(5),
    ...apps.map((a) => num(row.appRssMb[a]).padStart(10)),
    num(row.redisUsedMemoryMb, 2).padStart(9),
    num(row.redisConnectedClients, 0).padStart(6),
    `  ${row.master ?? '-'}${row.kill ? '  (master killed)' : ''}`,
  ];
  const lines = [cols.join('')];
  for (const [why, n] of Object.entries(row.failedWhy)) lines.push(`        ${n} x ${why}`);
  return lines.join('\n');
}

/** The growth and drift judgements in words. */
export function judgementLines(g: GrowthJudgement, d: DriftJudgement): string[] {
  const out: string[] = [];
  const figures = g.figures
    .map(
      (f) =>
        `${f.what} ${num(f.from, f.what.endsWith('RSS') ? 1 : 0)} -> ${num(f.to, f.what.endsWith('RSS') ? 1 : 0)}${f.growth === null ? '' : ` (${pct(f.growth)})`}`,
    )
    .join(', ');
  const rows = g.fromRow === null ? 'no two intervals to compare' : `interval ${g.fromRow} vs ${g.toRow}`;
  out.push(
    `growth (${rows}): ${figures || '-'}; ${g.judged ? (g.missed.length ? 'MISSED' : 'met (< 10 %)') : 'not judged (no two intervals after the first 5 minutes)'}`,
  );
  out.push(
    d.firstMs === null
      ? 'p99 drift: too few intervals without a kill to compare; not judged'
      : `p99 drift (median p99 of the first vs the last third of the intervals without a kill's outage): ${d.firstMs} -> ${d.lastMs} ms${d.ratio === null ? '' : ` (x${d.ratio})`}; ${d.judged ? (d.missed.length ? 'MISSED' : 'met (<= x1.5 or +10 ms)') : 'not judged (5 minutes or less)'}`,
  );
  return out;
}
