import { body, call } from '../loadgen/api-user.ts';
import { formHeaders, NAVIGATE, redirect, viewCart } from '../loadgen/browser.ts';
import { type Answer, hasRetryAfter, origin, UserAgent } from '../loadgen/http.ts';
import { formEncode, formToken } from '../loadgen/page.ts';
import { type LoadStats, record } from '../loadgen/stats.ts';
import type { LoadUser, Surface } from '../loadgen/user.ts';

/**
 * Logging out, logging in and registering as the soak's users do them, each request counted in
 * the load's figures like a cart page view or a cart write: a person through the forms, a program
 * through the JSON API. Nothing is retried here; the caller decides when to try again.
 */

/** Logins, logouts and registrations that succeeded. */
export interface SessionCounters {
  logins: number;
  logouts: number;
  registrations: number;
}

export function newCounters(): SessionCounters {
  return { logins: 0, logouts: 0, registrations: 0 };
}

/** Why an answer is not the one wanted, in the words the chaos report groups failures by. */
export function reasonOf(surface: Surface, method: string, path: string, answer: Answer): string {
  const to = redirect(answer);
  const what = to ? `303 to ${to.split('?')[0]}` : `${answer.status} ${origin(answer)}`;
  const noRetry = answer.status === 503 && !hasRetryAfter(answer.headers) ? ' without Retry-After' : '';
  return `${surface} ${method} ${path} ${what}${noRetry}`;
}

type Client = { client: UserAgent; csrf?: string };

/** Sends one request of a user and counts it; `ok` decides whether the answer is the wanted one. */
async function counted(
  stats: LoadStats,
  surface: Surface,
  kind: 'read' | 'write',
  method: string,
  path: string,
  send: () => Promise<Answer>,
  ok: (a: Answer) => boolean,
): Promise<{ answer: Answer; ok: boolean }> {
  const at = performance.now();
  const answer = await send();
  const good = ok(answer);
  if (answer.resent) stats.resent++;
  record(stats, {
    at,
    ms: performance.now() - at,
    kind,
    surface,
    ok: good,
    status: answer.status,
    ...(kind === 'write' ? { retryAfter: hasRetryAfter(answer.headers) } : {}),
    reason: good ? undefined : reasonOf(surface, method, path, answer),
  });
  return { answer, ok: good };
}

/** A form page (login, register) and its token; null when the page did not come. */
async function formPage(client: UserAgent, stats: LoadStats, path: string): Promise<string | null> {
  const got = await counted(
    stats,
    'page',
    'read',
    'GET',
    path,
    () => client.send('GET', path, NAVIGATE),
    (a) => a.status === 200 && formToken(a.text) !== undefined,
  );
  return got.ok ? formToken(got.answer.text)! : null;
}

/** POST of a form with the email and password; returns where the 303 sent the browser, or the answer's status. */
async function postForm(
  user: Pick<LoadUser, 'client' | 'email' | 'password'>,
  stats: LoadStats,
  path: string,
  token: string,
): Promise<{ to: string | undefined; status: number }> {
  const fields = formEncode({ _csrf: token, email: user.email, password: user.password });
  const sent = await counted(
    stats,
    'page',
    'write',
    'POST',
    path,
    () => user.client.send('POST', path, formHeaders(user.client), fields),
    // 409 on the register form: the account is there (an earlier attempt of this user made it).
    (a) => redirect(a)?.startsWith('/get') === true || (path === '/register' && a.status === 409),
  );
  return { to: sent.ok ? redirect(sent.answer) : undefined, status: sent.answer.status };
}

/** The user logs out (the session's form or POST /api/logout); true when the app said so. */
export async function logOut(user: LoadUser, stats: LoadStats, counters: SessionCounters): Promise<boolean> {
  const done =
    user.surface === 'page'
      ? await counted(
          stats,
          'page',
          'write',
          'POST',
          '/logout',
          () =>
            user.client.send('POST', '/logout', formHeaders(user.client), formEncode({ _csrf: user.csrf })),
          (a) => redirect(a)?.startsWith('/login') === true,
        )
      : await counted(
          stats,
          'api',
          'write',
          'POST',
          '/api/logout',
          () => call(user, 'POST', '/api/logout'),
          (a) => a.status === 204,
        );
  if (done.ok) counters.logouts++;
  return done.ok;
}

/**
 * The user logs in again: the login page and its form, then the cart page it leads to (a person),
 * or POST /api/login (a program). Sets the new session's CSRF token; true once logged in.
 */
export async function logIn(user: LoadUser, stats: LoadStats, counters: SessionCounters): Promise<boolean> {
  let ok = false;
  if (user.surface === 'page') {
    const token = await formPage(user.client, stats, '/login');
    const to = token ? (await postForm(user, stats, '/login', token)).to : undefined;
    ok = to !== undefined && (await viewCart(user, stats, to)) !== null;
  } else {
    const anon: Client = { client: user.client };
    const sent = await counted(
      stats,
      'api',
      'write',
      'POST',
      '/api/login',
      () => call(anon, 'POST', '/api/login', { email: user.email, password: user.password }),
      (a) => a.status === 200 && typeof body(a)?.['csrfToken'] === 'string',
    );
    if (sent.ok) user.csrf = body(sent.answer)!['csrfToken'] as string;
    ok = sent.ok && user.client.session !== undefined;
  }
  if (ok) counters.logins++;
  return ok;
}

/** A user who has not signed up yet: an account to make, an empty cart, a browser of its own. */
export function newcomer(
  base: string,
  surface: Surface,
  email: string,
  password: string,
  products: string[],
) {
  const user: LoadUser = {
    surface,
    products,
    email,
    password,
    client: new UserAgent(base),
    csrf: '',
    next: new Map(products.map((p) => [p, 1])),
    acked: new Map(products.map((p) => [p, 0])),
    unacked: new Map(),
  };
  return user;
}

/**
 * A new user joins: the register page and its form (then the cart page), or POST /api/register
 * and POST /api/login. An account an earlier attempt already made (409) logs in instead. True
 * once the user is registered and logged in (counted as a registration, not as a login).
 */
export async function register(
  user: LoadUser,
  stats: LoadStats,
  counters: SessionCounters,
): Promise<boolean> {
  let ok = false;
  if (user.surface === 'page') {
    const token = await formPage(user.client, stats, '/register');
    const sent = token ? await postForm(user, stats, '/register', token) : undefined;
    if (sent?.status === 409) ok = await logIn(user, stats, newCounters());
    else ok = sent?.to !== undefined && (await viewCart(user, stats, sent.to)) !== null;
  } else {
    const anon: Client = { client: user.client };
    const made = await counted(
      stats,
      'api',
      'write',
      'POST',
      '/api/register',
      () => call(anon, 'POST', '/api/register', { email: user.email, password: user.password }),
      (a) => a.status === 201 || a.status === 409,
    );
    ok = made.ok && (await logIn(user, stats, newCounters()));
  }
  if (ok) counters.registrations++;
  return ok;
}
