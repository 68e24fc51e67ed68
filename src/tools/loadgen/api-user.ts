import { type Answer, hasRetryAfter, origin, UserAgent } from './http.ts';
import { type LoadStats, recordAnswer, recordMissing, recordStale, shortfalls } from './stats.ts';
import { type LoadUser, MAX_QUANTITY, markUnacked } from './user.ts';

/** A program on the JSON API: reads its cart, then raises one product's quantity, in turn. */

const JSON_HEADERS = { accept: 'application/json', 'user-agent': 'ha-stack-chaos (an API client)' };

export function body(answer: Answer): Record<string, unknown> | null {
  try {
    const v = JSON.parse(answer.text) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export function call(
  user: LoadUser | { client: UserAgent; csrf?: string },
  method: string,
  path: string,
  json?: unknown,
) {
  const headers: Record<string, string> = { ...JSON_HEADERS };
  if (user.csrf) headers['x-csrf-token'] = user.csrf;
  if (json !== undefined) headers['content-type'] = 'application/json';
  return user.client.send(method, path, headers, json === undefined ? undefined : JSON.stringify(json));
}

function why(method: string, path: string, answer: Answer, ok200: string): string {
  const noRetry = answer.status === 503 && !hasRetryAfter(answer.headers) ? ' without Retry-After' : '';
  const what = answer.status === 200 ? `200 (${ok200})` : `${answer.status} ${origin(answer)}`;
  return `api ${method} ${path} ${what}${noRetry}`;
}

/** The items of an answer that names this user, or null. */
function itemsOf(user: LoadUser, answer: Answer): Record<string, number> | null {
  const b = answer.status === 200 ? body(answer) : null;
  const items = b?.['items'];
  if (!b || b['email'] !== user.email || typeof items !== 'object' || items === null) return null;
  return items as Record<string, number>;
}

async function readCart(user: LoadUser, stats: LoadStats): Promise<void> {
  const at = performance.now();
  const answer = await call(user, 'GET', '/api/cart');
  const items = itemsOf(user, answer);
  recordAnswer(stats, answer, {
    at,
    kind: 'read',
    surface: 'api',
    ok: items !== null,
    reason: items ? undefined : why('GET', '/api/cart', answer, "not this user's cart"),
  });
  if (!items) return;
  // Stale only, whoever served it: a replica, or a master the Sentinels left that still answers
  // reads (fenced off, refusing writes). A write's answer is what tells a loss (writeCart).
  recordStale(stats, shortfalls(user, items));
}

async function writeCart(user: LoadUser, stats: LoadStats, product: string): Promise<void> {
  const value = user.next.get(product)!;
  user.next.set(product, value + 1);
  const at = performance.now();
  const answer = await call(user, 'PUT', '/api/cart', { items: { [product]: value } });
  const items = itemsOf(user, answer);
  const ok = items !== null;
  recordAnswer(stats, answer, {
    at,
    kind: 'write',
    surface: 'api',
    ok,
    retryAfter: hasRetryAfter(answer.headers),
    reason: ok ? undefined : why('PUT', '/api/cart', answer, "not this user's cart"),
  });
  if (ok) {
    user.acked.set(product, value);
    stats.writesAcked++;
    // The answer is the cart left by the node that took this write and had a replica confirm it
    // (a master, not one fenced off): every other product acknowledged before must be there at
    // least as high.
    recordMissing(stats, shortfalls(user, items, product));
  } else markUnacked(user, product, value);
}

/** One API user's loop until the signal aborts (or nothing is left to write, when `handOver`). */
export async function useApi(
  user: LoadUser,
  stats: LoadStats,
  signal: AbortSignal,
  pauseMs: number,
  handOver: boolean,
): Promise<void> {
  let turn = 0;
  while (!signal.aborted) {
    const product = user.products[Math.floor(turn / 2) % user.products.length]!;
    const exhausted = [...user.next.values()].every((v) => v > MAX_QUANTITY);
    if (exhausted && handOver) return;
    // Reads on even turns, writes on odd ones.
    if (turn++ % 2 === 0 || exhausted) await readCart(user, stats);
    else if (user.next.get(product)! <= MAX_QUANTITY) await writeCart(user, stats, product);
    else continue;
    if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
  }
}

/** Registers (409: already there) and logs in through the API; returns the session's client. */
export async function apiSignUp(base: string, email: string, password: string, products: string[]) {
  const client = new UserAgent(base);
  const anon = { client };
  const reg = await call(anon, 'POST', '/api/register', { email, password });
  const login =
    reg.status === 201 || reg.status === 409
      ? await call(anon, 'POST', '/api/login', { email, password })
      : reg;
  const token = body(login)?.['csrfToken'];
  if (login.status !== 200 || typeof token !== 'string' || client.session === undefined) {
    client.close();
    throw new Error(`sign-up of ${email}: ${login.status} ${origin(login)}`);
  }
  const cart = await call({ client, csrf: token }, 'GET', '/api/cart');
  const items = (body(cart)?.['items'] ?? {}) as Record<string, number>;
  return { client, csrf: token, items: Object.fromEntries(products.map((p) => [p, items[p] ?? 0])) };
}
