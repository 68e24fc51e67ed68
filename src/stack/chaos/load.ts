/**
 * A steady mixed load through the front door: each user, logged in, alternates a read of its cart
 * with a write that raises one product's quantity. Every request is counted; every acknowledged
 * write is recorded so the checker can compare it with what Redis holds at the end.
 */
export interface LoadUser {
  /** Product ids of the catalogue, as the app serves them. */
  products: string[];
  email: string;
  password: string;
  cookie: string;
  csrf: string;
  /** Next value to write per product; values only grow, so an older one read back is a stale read. */
  next: Map<string, number>;
  /** Last acknowledged value per product. */
  acked: Map<string, number>;
  /** Values sent but not acknowledged (failed, timed out): the store may hold them. */
  unacked: Map<string, Set<number>>;
}

export interface Sample {
  at: number;
  ms: number;
  kind: 'read' | 'write';
  ok: boolean;
  status: number;
  /** A 503 that told the client when to come back. */
  retryAfter?: boolean;
  reason?: string;
}

export interface LoadStats {
  samples: Sample[];
  writesAcked: number;
  staleReads: number;
  failures: Map<string, number>;
}

const TIMEOUT_MS = 15_000;

async function call(
  base: string,
  method: string,
  path: string,
  opts: { cookie?: string; csrf?: string; json?: unknown },
): Promise<{
  status: number;
  body: Record<string, unknown>;
  setCookie: string[];
  retryAfter?: boolean;
  reason?: string;
}> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (opts.cookie) headers['cookie'] = opts.cookie;
  if (opts.csrf) headers['x-csrf-token'] = opts.csrf;
  if (opts.json !== undefined) headers['content-type'] = 'application/json';
  try {
    const res = await fetch(new URL(path, base), {
      method,
      headers,
      body: opts.json === undefined ? undefined : JSON.stringify(opts.json),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const text = await res.text();
    let body: Record<string, unknown> = {};
    try {
      body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      body = { raw: text.slice(0, 200) };
    }
    const retryAfter = /^\d+$/.test(res.headers.get('retry-after') ?? '');
    // HAProxy's own error pages are HTML; the app answers JSON with an error code.
    const origin = res.ok ? undefined : typeof body['error'] === 'string' ? String(body['error']) : 'proxy';
    return {
      status: res.status,
      body,
      setCookie: res.headers.getSetCookie(),
      retryAfter,
      reason: origin && `${method} ${res.status} ${origin}`,
    };
  } catch (err) {
    const reason =
      err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.name) : String(err);
    return { status: 0, body: {}, setCookie: [], reason };
  }
}

/** Registers and logs in `count` users (retrying through a failover is not needed here: the stack is healthy). */
export async function createUsers(base: string, count: number, tag: string): Promise<LoadUser[]> {
  const catalogue = await call(base, 'GET', '/api/products', {});
  const products = ((catalogue.body['products'] ?? []) as { id: string }[]).map((p) => p.id);
  if (products.length === 0)
    throw new Error(`GET /api/products: ${catalogue.status} ${catalogue.reason ?? ''}`);
  const users: LoadUser[] = [];
  const one = async (i: number) => {
    const email = `chaos-${tag}-${i}@load.test`;
    const password = `pw-${tag}-${i}-load`;
    const reg = await call(base, 'POST', '/api/register', { json: { email, password } });
    if (reg.status !== 201 && reg.status !== 409)
      throw new Error(`register ${email}: ${reg.status} ${reg.reason ?? ''}`);
    const login = await call(base, 'POST', '/api/login', { json: { email, password } });
    if (login.status !== 200)
      throw new Error(`login ${email}: ${login.status} ${JSON.stringify(login.body)}`);
    const sid = login.setCookie.find((c) => c.startsWith('sid='))?.split(';')[0];
    if (!sid) throw new Error(`login ${email}: no session cookie`);
    const cart = await call(base, 'GET', '/api/cart', { cookie: sid });
    const items = (cart.body['items'] ?? {}) as Record<string, number>;
    const next = new Map(products.map((p) => [p, (items[p] ?? 0) + 1]));
    users.push({
      products,
      email,
      password,
      cookie: sid,
      csrf: String(login.body['csrfToken']),
      next,
      acked: new Map(products.map((p) => [p, items[p] ?? 0])),
      unacked: new Map(),
    });
  };
  for (let i = 0; i < count; i += 8) {
    await Promise.all(Array.from({ length: Math.min(8, count - i) }, (_, k) => one(i + k)));
  }
  return users.sort((a, b) => a.email.localeCompare(b.email, 'en', { numeric: true }));
}

function record(stats: LoadStats, s: Sample): void {
  stats.samples.push(s);
  if (!s.ok) {
    const key = s.reason ?? String(s.status);
    stats.failures.set(key, (stats.failures.get(key) ?? 0) + 1);
  }
}

/** Runs one user's loop until the signal aborts; `pauseMs` spaces requests so the load stays bounded. */
async function userLoop(
  base: string,
  user: LoadUser,
  stats: LoadStats,
  signal: AbortSignal,
  pauseMs: number,
  canSwitch: boolean,
) {
  let turn = 0;
  while (!signal.aborted) {
    if (canSwitch && exhausted(user)) return;
    // Reads on even turns, writes on odd ones: each write goes to the next product in turn.
    const product = user.products[Math.floor(turn / 2) % user.products.length]!;
    const at = performance.now();
    if (turn % 2 === 0) {
      const res = await call(base, 'GET', '/api/cart', { cookie: user.cookie });
      const ok = res.status === 200;
      record(stats, {
        at,
        ms: performance.now() - at,
        kind: 'read',
        ok,
        status: res.status,
        reason: res.reason ?? (ok ? undefined : `GET ${res.status}`),
      });
      if (ok) {
        const items = res.body['items'] as Record<string, number>;
        for (const [p, v] of user.acked) if ((items[p] ?? 0) < v) stats.staleReads++;
      }
    } else {
      const value = user.next.get(product)!;
      if (value > 99) {
        turn++;
        continue;
      }
      user.next.set(product, value + 1);
      const res = await call(base, 'PUT', '/api/cart', {
        cookie: user.cookie,
        csrf: user.csrf,
        json: { items: { [product]: value } },
      });
      const ok = res.status === 200;
      record(stats, {
        at,
        ms: performance.now() - at,
        kind: 'write',
        ok,
        status: res.status,
        retryAfter: res.retryAfter,
        reason: ok
          ? undefined
          : `${res.reason ?? `PUT ${res.status}`}${res.status === 503 && !res.retryAfter ? ' without Retry-After' : ''}`,
      });
      if (ok) {
        user.acked.set(product, value);
        stats.writesAcked++;
      } else {
        const set = user.unacked.get(product) ?? new Set<number>();
        set.add(value);
        user.unacked.set(product, set);
      }
    }
    turn++;
    if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
  }
}

export function newStats(): LoadStats {
  return { samples: [], writesAcked: 0, staleReads: 0, failures: new Map() };
}

/** Quantities stop at MAX_QUANTITY (99): a user whose every product got there has nothing left to write. */
function exhausted(user: LoadUser): boolean {
  return [...user.next.values()].every((v) => v > 99);
}

/**
 * Starts the load with `concurrency` users at a time (all of them by default); a user with nothing
 * left to write hands over to the next unused one, so values keep growing however long the run.
 * Resolves when every loop has seen the abort and finished its request.
 */
export function runLoad(
  base: string,
  users: LoadUser[],
  signal: AbortSignal,
  pauseMs = 20,
  concurrency = users.length,
): { stats: LoadStats; done: Promise<void> } {
  const stats = newStats();
  const queue = users.slice(concurrency);
  const worker = async (first: LoadUser) => {
    let user: LoadUser | undefined = first;
    while (user && !signal.aborted) {
      await userLoop(base, user, stats, signal, pauseMs, queue.length > 0);
      user = exhausted(user) ? (queue.shift() ?? user) : undefined;
    }
  };
  const done = Promise.all(users.slice(0, concurrency).map(worker)).then(() => undefined);
  return { stats, done };
}
