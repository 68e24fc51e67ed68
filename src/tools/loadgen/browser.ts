import { type Answer, hasRetryAfter, header, origin, UserAgent } from './http.ts';
import { type CartView, formEncode, formToken, parseCartPage } from './page.ts';
import { type LoadStats, recordAnswer, recordStale, shortfalls } from './stats.ts';
import { type LoadUser, lastSent, MAX_QUANTITY, markUnacked } from './user.ts';

/**
 * A person in a browser: views the cart page, changes one quantity in the cart form and saves it,
 * follows the redirect to the cart page, and reloads the cart page after an error.
 */

export const NAVIGATE = {
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-site': 'same-origin',
  'user-agent': 'ha-stack-chaos (a browser-shaped load)',
};

export const formHeaders = (client: UserAgent) => ({
  ...NAVIGATE,
  'content-type': 'application/x-www-form-urlencoded',
  origin: new URL(client.base).origin,
});

/** Where a 303 sends the browser (a path of the site), or undefined. */
export function redirect(answer: Answer): string | undefined {
  if (answer.status !== 303) return undefined;
  const to = header(answer.headers, 'location');
  if (!to) return undefined;
  const url = new URL(to, 'http://site');
  return url.pathname + url.search;
}

/** Why an answer is not what a browser user wanted, in words that group alike failures. */
function why(method: string, path: string, answer: Answer, wanted: string): string {
  const to = redirect(answer);
  const what = to ? `303 to ${to.split('?')[0]}` : `${answer.status} ${origin(answer)}`;
  const noRetry = answer.status === 503 && !hasRetryAfter(answer.headers) ? ' without Retry-After' : '';
  const route = path.split('?')[0];
  return `page ${method} ${route} ${what}${answer.status === 200 ? ` (${wanted})` : ''}${noRetry}`;
}

/** GET of the cart page (`/get`, or where a form sent the browser): a read, checked by its content. */
export async function viewCart(user: LoadUser, stats: LoadStats, path = '/get'): Promise<CartView | null> {
  const at = performance.now();
  const answer = await user.client.send('GET', path, NAVIGATE);
  const view = answer.status === 200 ? parseCartPage(answer.text) : null;
  const ok = view !== null && view.email === user.email;
  recordAnswer(stats, answer, {
    at,
    kind: 'read',
    surface: 'page',
    ok,
    reason: ok ? undefined : why('GET', path, answer, view ? `the cart of ${view.email}` : 'not a cart page'),
  });
  if (!ok) return null;
  if (view.csrf) user.csrf = view.csrf;
  recordStale(stats, shortfalls(user, view.items));
  return view;
}

/**
 * POST of the cart form with every product's field, as the browser sends the whole form: the
 * product being changed gets its next value, the others what the user last saved (never less
 * than acknowledged, so values only grow). Acknowledged means the 303 to the cart page.
 * Returns where the browser was sent, or undefined when the answer was an error.
 */
export async function saveCart(
  user: LoadUser,
  stats: LoadStats,
  product: string,
): Promise<string | undefined> {
  const value = user.next.get(product)!;
  user.next.set(product, value + 1);
  const fields = new Map(user.products.map((p) => [p, p === product ? value : lastSent(user, p)]));
  const body = formEncode({
    _csrf: user.csrf,
    ...Object.fromEntries([...fields].map(([p, v]) => [`qty_${p}`, v])),
  });
  const at = performance.now();
  const answer = await user.client.send('POST', '/add', formHeaders(user.client), body);
  const to = redirect(answer);
  const ok = to?.startsWith('/get?m=saved') === true;
  recordAnswer(stats, answer, {
    at,
    kind: 'write',
    surface: 'page',
    ok,
    retryAfter: hasRetryAfter(answer.headers),
    reason: ok ? undefined : why('POST', '/add', answer, 'the form again'),
  });
  for (const [p, v] of fields) {
    if (ok) user.acked.set(p, Math.max(user.acked.get(p) ?? 0, v));
    else markUnacked(user, p, v);
  }
  if (ok) stats.writesAcked++;
  return ok ? to : undefined;
}

/** One page user's visit until the signal aborts (or nothing is left to write, when `handOver`). */
export async function browse(
  user: LoadUser,
  stats: LoadStats,
  signal: AbortSignal,
  pauseMs: number,
  handOver: boolean,
): Promise<void> {
  let page: CartView | null = null;
  let turn = 0;
  while (!signal.aborted) {
    const product = nextProduct(user, turn++);
    if (page && product) {
      const to = await saveCart(user, stats, product);
      page = to ? await viewCart(user, stats, to) : null;
    } else if (!product && handOver) return;
    else page = await viewCart(user, stats);
    if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
  }
}

/** The product to change on this turn: the products in turn, skipping those already at the maximum. */
function nextProduct(user: LoadUser, turn: number): string | undefined {
  const n = user.products.length;
  for (let k = 0; k < n; k++) {
    const p = user.products[(turn + k) % n]!;
    if (user.next.get(p)! <= MAX_QUANTITY) return p;
  }
  return undefined;
}

/**
 * Signs a person up through the forms: the register page (which sets the anonymous CSRF cookie),
 * its form, and the cart page it leads to. An email already taken logs in through the login form.
 */
export async function browserSignUp(base: string, email: string, password: string, products: string[]) {
  const client = new UserAgent(base);
  const form = async (path: string) => {
    const page = await client.send('GET', path, NAVIGATE);
    const token = formToken(page.text);
    if (page.status !== 200 || !token) throw new Error(`GET ${path}: ${page.status} ${origin(page)}`);
    const sent = await client.send(
      'POST',
      path,
      formHeaders(client),
      formEncode({ _csrf: token, email, password }),
    );
    return sent;
  };
  let sent = await form('/register');
  if (sent.status === 409) sent = await form('/login');
  const to = redirect(sent);
  if (!to?.startsWith('/get')) {
    client.close();
    throw new Error(`sign-up of ${email}: ${sent.status} ${origin(sent)} ${to ?? ''}`.trim());
  }
  const cart = await client.send('GET', to, NAVIGATE);
  const view = parseCartPage(cart.text);
  if (!view?.csrf || view.email !== email) {
    client.close();
    throw new Error(`cart page of ${email} after sign-up: ${cart.status} ${origin(cart)}`);
  }
  const items = Object.fromEntries(products.map((p) => [p, view.items[p] ?? 0]));
  return { client, csrf: view.csrf, items };
}
