import { getText } from './tls.ts';
/**
 * HAProxy's stats page, read by the app (topology), the stack (readiness, rolling restarts,
 * status) and the tests: one parser and one meaning of "up".
 */

/** A server of a backend as the stats page shows it. */
export interface ProxiedServer {
  backend: string;
  server: string;
  /** HAProxy's own word: UP, DOWN, MAINT, "UP 1/2" while falling, "DOWN 1/2" while rising... */
  status: string;
  /** Last health check, e.g. `L7OK/200 in 2ms` or `L7STS/503`. */
  check: string;
  /** True when HAProxy sends it traffic: the one meaning of "up" everywhere. */
  ready: boolean;
}

/**
 * Whether HAProxy sends a server traffic: "UP", also "UP 1/2" (an up server counting failed checks,
 * still in use until the last one), and a server without checks; never DOWN, "DOWN 1/2" (rising),
 * MAINT or DRAIN.
 */
export function isReady(status: string): boolean {
  return /^UP\b/.test(status) || status === 'no check';
}

/** Parses HAProxy's stats CSV (`<stats uri>;csv`) into its servers (frontends and backend totals left out). */
export function parseStatsCsv(text: string): ProxiedServer[] {
  const [head, ...rows] = text.trim().split('\n');
  if (!head?.startsWith('# ')) throw new Error('not an HAProxy stats CSV');
  const cols = head.slice(2).split(',');
  return rows
    .map((row) => Object.fromEntries(row.split(',').map((v, i) => [cols[i] ?? String(i), v])))
    .filter((r) => r['svname'] !== 'FRONTEND' && r['svname'] !== 'BACKEND' && r['type'] === '2')
    .map((r) => {
      const status = r['status'] ?? '';
      const check = [r['check_status'], r['check_code']].filter((x) => x).join('/');
      const duration = r['check_duration'] ? ` in ${r['check_duration']}ms` : '';
      return {
        backend: r['pxname'] ?? '',
        server: r['svname'] ?? '',
        status,
        check: check ? `${check}${duration}` : '',
        ready: isReady(status),
      };
    });
}

/** Names of the servers of one backend that HAProxy sends traffic to. */
export function readyServers(servers: ProxiedServer[], backend: string): string[] {
  return servers.filter((s) => s.backend === backend && s.ready).map((s) => s.server);
}

/** The Authorization header of user `operator` on the operator front. */
export const operatorAuthorization = (password: string) =>
  `Basic ${Buffer.from(`operator:${password}`).toString('base64')}`;

/**
 * The stats page's servers; `password` is user `operator`'s, who alone may read it on the operator
 * front. While that password is rotated the front may still know only `previous`: tried on a 401.
 */
export async function fetchStats(
  url: string,
  password: string | undefined,
  timeoutMs: number,
  previous?: string | undefined,
): Promise<ProxiedServer[]> {
  // The operator front is HTTPS where the stack speaks TLS: getText checks it against the stack's CA.
  const get = (p: string | undefined) =>
    getText(`${url};csv`, p === undefined ? {} : { authorization: operatorAuthorization(p) }, timeoutMs);
  let res = await get(password);
  if (res.status === 401 && previous !== undefined) res = await get(previous);
  if (res.status !== 200) throw new Error(`HTTP ${res.status} from ${url};csv`);
  return parseStatsCsv(res.text);
}
