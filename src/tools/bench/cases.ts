import autocannon from 'autocannon';
import type { BenchUser } from './fixtures.ts';
import { fullCart } from './fixtures.ts';
import { cpuSeconds } from './procs.ts';
import { type RedisDelta, RedisStats, round } from './redis-stats.ts';

export type Via = 'haproxy' | 'app' | 'ceiling' | 'peer';

export interface BenchCase {
  /** `get-haproxy`, `put-app`, `get-ceiling`, ... */
  id: string;
  route: 'GET /get' | 'PUT /api/cart' | 'POST /add' | 'POST /api/login';
  via: Via;
  url: string;
  /** Appended to the route's path (`?wait=0`: the ceiling's write without WAIT). */
  query?: string;
  /** The answer that counts as success when it is not a 2xx (the form post's 303). */
  okStatus?: number;
  /** Processes that serve the requests (their CPU is the case's CPU). */
  servers: () => (number | undefined)[];
  /** The HAProxy in front of them, if any. */
  haproxyPid: () => number | undefined;
  /** Headers and body of connection `i` (each connection is one user). */
  request: (user: BenchUser, i: number) => { headers: Record<string, string>; body?: string };
}

export interface CaseResult {
  case: string;
  route: string;
  via: Via;
  connections: number;
  durationS: number;
  requests: number;
  requestsPerS: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  redis: RedisDelta;
  /** CPU seconds of the processes that served the case (both instances behind HAProxy). */
  cpuS: number | null;
  cpuUsPerRequest: number | null;
  haproxyCpuS: number | null;
  /** Slices the case ran in (its load time split, alternating with the other cases). */
  slices: number;
}

export interface Endpoint {
  url: string;
  /** Processes that serve the requests. */
  pids: () => (number | undefined)[];
  haproxyPid?: () => number | undefined;
}

/** The stack's front and one app, and the ceiling's and the peer's, each directly and behind HAProxy. */
export interface CaseTargets {
  app: { front: Endpoint; direct: Endpoint };
  ceiling: { front: Endpoint; direct: Endpoint };
  peer: { front: Endpoint; direct: Endpoint };
}

const withSession = (u: BenchUser) => ({ headers: { cookie: u.cookie, accept: 'text/html' } });
const putCart = (u: BenchUser, i: number) => ({
  headers: { cookie: u.cookie, 'x-csrf-token': u.csrf, 'content-type': 'application/json' },
  body: JSON.stringify({ items: fullCart(i + 1) }),
});
/** The /add form as a browser posts it: every product's quantity and the session's CSRF token. */
const addForm = (u: BenchUser, i: number) => ({
  headers: { cookie: u.cookie, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
  body: new URLSearchParams({
    ...Object.fromEntries(Object.entries(fullCart(i + 2)).map(([id, n]) => [`qty_${id}`, String(n)])),
    _csrf: u.csrf,
  }).toString(),
});
const login = (u: BenchUser) => ({
  headers: { 'content-type': 'application/json', accept: 'application/json' },
  body: JSON.stringify({ email: u.email, password: u.password }),
});

const at = (via: Via, e: Endpoint) => ({
  via,
  url: e.url,
  servers: e.pids,
  haproxyPid: e.haproxyPid ?? (() => undefined),
});

const peerSession = (u: BenchUser) => ({ headers: { cookie: u.peerCookie, accept: 'text/html' } });

/**
 * Every case, in the order they run: the /get comparison first and interleaved (ceiling, app,
 * peer, through HAProxy and then directly), so that its ratios share the same moment of the machine.
 */
export function allCases(t: CaseTargets): BenchCase[] {
  return [
    { id: 'get-ceiling-haproxy', route: 'GET /get', ...at('ceiling', t.ceiling.front), request: withSession },
    { id: 'get-haproxy', route: 'GET /get', ...at('haproxy', t.app.front), request: withSession },
    { id: 'get-peer-haproxy', route: 'GET /get', ...at('peer', t.peer.front), request: peerSession },
    { id: 'get-ceiling', route: 'GET /get', ...at('ceiling', t.ceiling.direct), request: withSession },
    { id: 'get-app', route: 'GET /get', ...at('app', t.app.direct), request: withSession },
    { id: 'get-peer', route: 'GET /get', ...at('peer', t.peer.direct), request: peerSession },
    // Durable writes beside their two ceilings: the bare one (HSET and a shared WAIT 1, the physical
    // limit) and the like-for-like one (the app's function call and a shared WAIT 1); then the
    // ceiling without WAIT (the price of durability) and the form post of a browser.
    {
      id: 'put-bare-haproxy',
      route: 'PUT /api/cart',
      ...at('ceiling', t.ceiling.front),
      query: '?bare',
      request: putCart,
    },
    {
      id: 'put-ceiling-haproxy',
      route: 'PUT /api/cart',
      ...at('ceiling', t.ceiling.front),
      request: putCart,
    },
    { id: 'put-haproxy', route: 'PUT /api/cart', ...at('haproxy', t.app.front), request: putCart },
    {
      id: 'put-nowait-ceiling-haproxy',
      route: 'PUT /api/cart',
      ...at('ceiling', t.ceiling.front),
      query: '?wait=0',
      request: putCart,
    },
    { id: 'add-haproxy', route: 'POST /add', ...at('haproxy', t.app.front), okStatus: 303, request: addForm },
    {
      id: 'put-bare',
      route: 'PUT /api/cart',
      ...at('ceiling', t.ceiling.direct),
      query: '?bare',
      request: putCart,
    },
    { id: 'put-ceiling', route: 'PUT /api/cart', ...at('ceiling', t.ceiling.direct), request: putCart },
    { id: 'put-app', route: 'PUT /api/cart', ...at('app', t.app.direct), request: putCart },
    { id: 'login-haproxy', route: 'POST /api/login', ...at('haproxy', t.app.front), request: login },
    { id: 'login-app', route: 'POST /api/login', ...at('app', t.app.direct), request: login },
  ];
}

export const CASE_IDS = [
  'get-ceiling-haproxy',
  'get-haproxy',
  'get-peer-haproxy',
  'get-ceiling',
  'get-app',
  'get-peer',
  'put-bare-haproxy',
  'put-ceiling-haproxy',
  'put-haproxy',
  'put-nowait-ceiling-haproxy',
  'add-haproxy',
  'put-bare',
  'put-ceiling',
  'put-app',
  'login-haproxy',
  'login-app',
];

export interface LoadOptions {
  connections: number;
  durationS: number;
  progress: boolean;
  /** Receives the response time (ms) of every successful response. */
  onLatency?: (ms: number) => void;
}

function sumCpu(pids: (number | undefined)[]): number | null {
  let total = 0;
  for (const pid of pids) {
    const s = cpuSeconds(pid);
    if (s === null) return null;
    total += s;
  }
  return total;
}

const succeeded = (c: BenchCase, status: number) =>
  c.okStatus === undefined ? status >= 200 && status < 300 : status === c.okStatus;

/** Answers that are not the case's success (autocannon's non2xx counts a 303 as one). */
export function failedAnswers(c: BenchCase, r: autocannon.Result): number {
  if (c.okStatus === undefined) return r.non2xx;
  const byStatus =
    (r as unknown as { statusCodeStats?: Record<string, { count: number }> }).statusCodeStats ?? {};
  return Object.entries(byStatus).reduce(
    (n, [status, s]) => (Number(status) === c.okStatus ? n : n + s.count),
    0,
  );
}

/** Drives one case with autocannon: a fixed number of connections for a fixed time. */
export function drive(c: BenchCase, users: BenchUser[], opts: LoadOptions): Promise<autocannon.Result> {
  const [method, path] = c.route.split(' ') as ['GET' | 'PUT' | 'POST', string];
  let next = 0;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${c.url}${path}${c.query ?? ''}`,
        method,
        connections: opts.connections,
        duration: opts.durationS,
        timeout: 10,
        setupClient: (client) => {
          const i = next++;
          const { headers, body } = c.request(users[i % users.length]!, i);
          client.setHeadersAndBody(headers, body);
        },
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    const onLatency = opts.onLatency;
    if (onLatency) {
      instance.on('response', (_client, status, _bytes, ms) => {
        if (succeeded(c, status)) onLatency(ms);
      });
    }
    if (opts.progress) {
      autocannon.track(instance, {
        renderProgressBar: true,
        renderResultsTable: false,
        renderLatencyTable: false,
        progressBarString: `  ${c.id.padEnd(14)} [:bar] :percent :elapseds`,
      });
    }
  });
}

/** Runs one case and gathers its figures: load, latency, Redis commands and connections, CPU. */
export async function runCase(
  c: BenchCase,
  users: BenchUser[],
  stats: RedisStats,
  opts: LoadOptions,
): Promise<CaseResult> {
  const before = await stats.snapshot();
  const cpu0 = sumCpu(c.servers());
  const hap0 = cpuSeconds(c.haproxyPid());
  const r = await drive(c, users, opts);
  const cpu1 = sumCpu(c.servers());
  const hap1 = cpuSeconds(c.haproxyPid());
  const after = await stats.snapshot();
  const requests = r.requests.total;
  const cpuS = cpu0 === null || cpu1 === null ? null : round(cpu1 - cpu0, 2);
  return {
    case: c.id,
    route: c.route,
    via: c.via,
    connections: opts.connections,
    durationS: r.duration,
    requests,
    requestsPerS: Math.round(requests / r.duration),
    latencyMs: {
      p50: r.latency.p50,
      p90: r.latency.p90,
      p99: r.latency.p99,
      max: r.latency.max,
      mean: round(r.latency.mean, 2),
    },
    errors: r.errors,
    timeouts: r.timeouts,
    non2xx: failedAnswers(c, r),
    redis: RedisStats.delta(before, after, requests),
    cpuS,
    cpuUsPerRequest: cpuS === null || requests === 0 ? null : Math.round((cpuS * 1e6) / requests),
    haproxyCpuS: hap0 !== null && hap1 !== null ? round(hap1 - hap0, 2) : null,
    slices: 1,
  };
}
