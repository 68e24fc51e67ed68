export interface ProxiedServer {
  backend: string;
  server: string;
  /** HAProxy's own word: UP, DOWN, MAINT, "UP 1/2" while rising, "DOWN 1/2" while falling... */
  status: string;
  /** Last health check, e.g. `L7OK/200 in 2ms` or `L7STS/503`. */
  check: string;
  /** True when HAProxy sends requests to it. */
  ready: boolean;
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
        // "UP 1/2" is an up server counting failed checks: HAProxy still sends it requests.
        ready: /^UP\b/.test(status) || status === 'no check',
      };
    });
}

/** `password`: user `operator`'s, who alone may read the stats on HAProxy's operator front. */
export async function fetchStats(
  url: string,
  password: string | undefined,
  timeoutMs: number,
  previous?: string | undefined,
): Promise<ProxiedServer[]> {
  const get = (p: string | undefined) =>
    fetch(`${url};csv`, {
      headers:
        p === undefined ? {} : { authorization: `Basic ${Buffer.from(`operator:${p}`).toString('base64')}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
  let res = await get(password);
  // While the operator's password is rotated, the front may still know only the previous one.
  if (res.status === 401 && previous !== undefined) {
    await res.body?.cancel();
    res = await get(previous);
  }
  if (res.status !== 200) throw new Error(`HTTP ${res.status} from ${url};csv`);
  return parseStatsCsv(await res.text());
}
