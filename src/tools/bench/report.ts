import type { CaseResult } from './cases.ts';

export interface Ratios {
  /** GET /get through HAProxy over two instances, app / ceiling in the same shape. */
  getVsCeiling: number | null;
  /** GET /get through HAProxy: app / peer, both over two instances. */
  getVsPeer: number | null;
  /** GET /get through HAProxy / one ceiling process hit directly. */
  getVsDirectCeiling: number | null;
  /** One instance each, hit directly. */
  getAppVsCeiling: number | null;
  getAppVsPeer: number | null;
  loginVsHashCeiling: number | null;
  /** PUT /api/cart through HAProxy / the write ceiling through HAProxy (the same write, WAIT 1 shared). */
  putVsCeiling: number | null;
  /** The /add form post through HAProxy / the same write ceiling. */
  addVsCeiling: number | null;
  /** One instance each, hit directly. */
  putAppVsCeiling: number | null;
  /** The write ceiling with WAIT / without: what durability costs in throughput. */
  ceilingWaitVsNoWait: number | null;
  /** PUT /api/cart through HAProxy / the bare durable write (HSET + shared WAIT) through HAProxy. */
  putVsBare: number | null;
  /** POST /add through HAProxy / the bare durable write through HAProxy. */
  addVsBare: number | null;
  /** One instance each, hit directly: PUT /api/cart / the bare durable write. */
  putAppVsBare: number | null;
}

export interface Targets {
  ratios: Ratios;
  getP99Ms: number | null;
  /** The ratios of each slice, in order. */
  perSlice: Ratios[];
  checks: { what: string; value: string; holds: boolean }[];
}

const find = (rows: CaseResult[], id: string) => rows.find((r) => r.case === id);
const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || b === 0 ? null : Math.round((a / b) * 100) / 100;

function ratiosOf(rows: CaseResult[], hashesPerS: number | null): Ratios {
  const rps = (id: string) => find(rows, id)?.requestsPerS;
  return {
    getVsCeiling: ratio(rps('get-haproxy'), rps('get-ceiling-haproxy')),
    getVsPeer: ratio(rps('get-haproxy'), rps('get-peer-haproxy')),
    getVsDirectCeiling: ratio(rps('get-haproxy'), rps('get-ceiling')),
    getAppVsCeiling: ratio(rps('get-app'), rps('get-ceiling')),
    getAppVsPeer: ratio(rps('get-app'), rps('get-peer')),
    loginVsHashCeiling: ratio(rps('login-haproxy'), hashesPerS ?? undefined),
    putVsCeiling: ratio(rps('put-haproxy'), rps('put-ceiling-haproxy')),
    addVsCeiling: ratio(rps('add-haproxy'), rps('put-ceiling-haproxy')),
    putAppVsCeiling: ratio(rps('put-app'), rps('put-ceiling')),
    ceilingWaitVsNoWait: ratio(rps('put-ceiling-haproxy'), rps('put-nowait-ceiling-haproxy')),
    putVsBare: ratio(rps('put-haproxy'), rps('put-bare-haproxy')),
    addVsBare: ratio(rps('add-haproxy'), rps('put-bare-haproxy')),
    putAppVsBare: ratio(rps('put-app'), rps('put-bare')),
  };
}

/** The middle value (the lower of the two middle ones for an even count); null when there is none. */
export function medianOf(values: (number | null | undefined)[]): number | null {
  const v = values.filter((x): x is number => typeof x === 'number').sort((a, b) => a - b);
  return v.length ? v[Math.floor((v.length - 1) / 2)]! : null;
}

/**
 * The targets of the benchmark, each with whether it holds. `slices` holds one row per case for each
 * slice of the load. A ratio is taken within each slice, between cases measured seconds apart, and
 * the median of those is judged: on a shared machine the speed drifts over a minute far more than
 * over a few seconds. Failures and new connections count in every slice. `rows` holds each case
 * over all its slices (the p99 target is judged on it).
 */
export function judgeTargets(slices: CaseResult[][], rows: CaseResult[], hashesPerS: number | null): Targets {
  const perSlice = slices.map((slice) => ratiosOf(slice, hashesPerS));
  const m = (k: keyof Ratios) => medianOf(perSlice.map((r) => r[k]));
  const ratios: Ratios = {
    getVsCeiling: m('getVsCeiling'),
    getVsPeer: m('getVsPeer'),
    getVsDirectCeiling: m('getVsDirectCeiling'),
    getAppVsCeiling: m('getAppVsCeiling'),
    getAppVsPeer: m('getAppVsPeer'),
    loginVsHashCeiling: m('loginVsHashCeiling'),
    putVsCeiling: m('putVsCeiling'),
    addVsCeiling: m('addVsCeiling'),
    putAppVsCeiling: m('putAppVsCeiling'),
    ceilingWaitVsNoWait: m('ceilingWaitVsNoWait'),
    putVsBare: m('putVsBare'),
    addVsBare: m('addVsBare'),
    putAppVsBare: m('putAppVsBare'),
  };
  const spread = (k: keyof Ratios) =>
    perSlice.length > 1 ? ` (slices: ${perSlice.map((r) => r[k] ?? '-').join(', ')})` : '';
  // The p99 of every response of the case (all slices together); each slice's own for reference.
  const p99s = slices.map((r) => find(r, 'get-haproxy')?.latencyMs.p99);
  const getP99Ms = find(rows, 'get-haproxy')?.latencyMs.p99 ?? null;
  const checks: Targets['checks'] = [];
  const { getVsCeiling, getVsPeer } = ratios;
  if (getVsCeiling !== null)
    checks.push({
      what: 'GET /get via HAProxy >= 0.95 x the ceiling via HAProxy',
      value: `${getVsCeiling} x${spread('getVsCeiling')}`,
      holds: getVsCeiling >= 0.95,
    });
  if (getVsPeer !== null)
    checks.push({
      what: 'GET /get via HAProxy ahead of the peer via HAProxy',
      value: `${getVsPeer} x${spread('getVsPeer')}`,
      holds: getVsPeer > 1,
    });
  if (getP99Ms !== null)
    checks.push({
      what: 'p99 of GET /get via HAProxy <= 20 ms',
      value: `${getP99Ms} ms${slices.length > 1 ? ` (slices: ${p99s.map((p) => p ?? '-').join(', ')})` : ''}`,
      holds: getP99Ms <= 20,
    });
  for (const [key, what] of [
    ['putVsCeiling', 'PUT /api/cart via HAProxy >= 0.9 x the write ceiling via HAProxy'],
    ['addVsCeiling', 'POST /add via HAProxy >= 0.9 x the write ceiling via HAProxy'],
  ] as const) {
    const v = ratios[key];
    if (v !== null) checks.push({ what, value: `${v} x${spread(key)}`, holds: v >= 0.9 });
  }
  for (const [key, what] of [
    ['putVsBare', 'PUT /api/cart via HAProxy >= 0.8 x the bare durable write via HAProxy'],
    ['putAppVsBare', 'PUT /api/cart, one process directly, >= 0.8 x the bare durable write directly'],
  ] as const) {
    const v = ratios[key];
    if (v !== null) checks.push({ what, value: `${v} x${spread(key)}`, holds: v >= 0.8 });
  }
  // The p99 of each case over all its responses, against the bare write's in the same shape.
  for (const [id, bareId] of [
    ['put-haproxy', 'put-bare-haproxy'],
    ['put-app', 'put-bare'],
  ] as const) {
    const row = find(rows, id);
    const bareRow = find(rows, bareId);
    if (row && bareRow)
      checks.push({
        what: `p99 of ${id} <= 2 x the p99 of ${bareId}`,
        value: `${row.latencyMs.p99} ms against ${bareRow.latencyMs.p99} ms`,
        holds: row.latencyMs.p99 <= 2 * bareRow.latencyMs.p99,
      });
  }
  for (const id of ['put-haproxy', 'add-haproxy']) {
    const row = find(rows, id);
    if (row)
      checks.push({
        what: `p99 of ${row.route} via HAProxy <= 20 ms`,
        value: `${row.latencyMs.p99} ms`,
        holds: row.latencyMs.p99 <= 20,
      });
  }
  const all = slices.flat();
  const newConns = all.flatMap((r) => r.redis.newClientConnections.map((n) => `${r.case}: ${n}`));
  checks.push({
    what: 'no new Redis connection from a client during a run',
    value: newConns.length ? newConns.join(', ') : 'none',
    holds: newConns.length === 0,
  });
  const failed = [...new Set(all.filter((r) => r.errors + r.timeouts + r.non2xx > 0).map((r) => r.case))];
  checks.push({
    what: 'no request failed',
    value: failed.length ? failed.join(', ') : 'none',
    holds: failed.length === 0,
  });
  return { ratios, getP99Ms, perSlice, checks };
}

const COLUMNS: [string, (r: CaseResult) => string | number][] = [
  ['case', (r) => r.case],
  ['route', (r) => r.route],
  ['req/s', (r) => r.requestsPerS],
  ['p50', (r) => r.latencyMs.p50],
  ['p90', (r) => r.latencyMs.p90],
  ['p99', (r) => r.latencyMs.p99],
  ['max', (r) => r.latencyMs.max],
  ['err', (r) => r.errors + r.timeouts],
  ['non2xx', (r) => r.non2xx],
  ['cmd/req', (r) => r.redis.commandsPerRequest],
  ['conn', (r) => `${r.redis.connectionsOpened}/${r.redis.newClientConnections.length}`],
  ['cpu s', (r) => r.cpuS ?? '-'],
  ['µs/req', (r) => r.cpuUsPerRequest ?? '-'],
  ['haproxy s', (r) => r.haproxyCpuS ?? '-'],
];

export function formatTable(rows: CaseResult[]): string {
  const cells = [COLUMNS.map(([h]) => h), ...rows.map((r) => COLUMNS.map(([, f]) => String(f(r))))];
  const widths = COLUMNS.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  const line = (row: string[]) => `| ${row.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [
    line(cells[0]!),
    `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`,
    ...cells.slice(1).map(line),
  ].join('\n');
}

export function formatTargets(t: Targets): string {
  return t.checks.map((c) => `  ${c.holds ? 'holds' : 'MISSED'}  ${c.what}: ${c.value}`).join('\n');
}
