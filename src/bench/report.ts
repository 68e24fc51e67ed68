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
}

export interface Targets {
  ratios: Ratios;
  getP99Ms: number | null;
  checks: { what: string; value: string; holds: boolean }[];
}

const find = (rows: CaseResult[], id: string) => rows.find((r) => r.case === id);
const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || b === 0 ? null : Math.round((a / b) * 100) / 100;

/** The ratios the issue asks for, each with whether it holds. */
export function judgeTargets(rows: CaseResult[], hashesPerS: number | null): Targets {
  const rps = (id: string) => find(rows, id)?.requestsPerS;
  const ratios: Ratios = {
    getVsCeiling: ratio(rps('get-haproxy'), rps('get-ceiling-haproxy')),
    getVsPeer: ratio(rps('get-haproxy'), rps('get-peer-haproxy')),
    getVsDirectCeiling: ratio(rps('get-haproxy'), rps('get-ceiling')),
    getAppVsCeiling: ratio(rps('get-app'), rps('get-ceiling')),
    getAppVsPeer: ratio(rps('get-app'), rps('get-peer')),
    loginVsHashCeiling: ratio(rps('login-haproxy'), hashesPerS ?? undefined),
  };
  const get = find(rows, 'get-haproxy');
  const checks: Targets['checks'] = [];
  const { getVsCeiling, getVsPeer } = ratios;
  if (getVsCeiling !== null)
    checks.push({
      what: 'GET /get via HAProxy >= 0.8 x the ceiling via HAProxy',
      value: `${getVsCeiling} x`,
      holds: getVsCeiling >= 0.8,
    });
  if (getVsPeer !== null)
    checks.push({
      what: 'GET /get via HAProxy ahead of the peer via HAProxy',
      value: `${getVsPeer} x`,
      holds: getVsPeer > 1,
    });
  if (get)
    checks.push({
      what: 'p99 of GET /get via HAProxy <= 20 ms',
      value: `${get.latencyMs.p99} ms`,
      holds: get.latencyMs.p99 <= 20,
    });
  const newConns = rows.flatMap((r) => r.redis.newClientConnections.map((n) => `${r.case}: ${n}`));
  checks.push({
    what: 'no new Redis connection from a client during a run',
    value: newConns.length ? newConns.join(', ') : 'none',
    holds: newConns.length === 0,
  });
  const failed = rows.filter((r) => r.errors + r.timeouts + r.non2xx > 0).map((r) => r.case);
  checks.push({
    what: 'no request failed',
    value: failed.length ? failed.join(', ') : 'none',
    holds: failed.length === 0,
  });
  return { ratios, getP99Ms: get?.latencyMs.p99 ?? null, checks };
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
