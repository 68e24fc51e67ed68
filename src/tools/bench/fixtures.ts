import { PRODUCTS } from '../../app/products.ts';
import type { MadeAccount } from '../loadgen/cleanup.ts';
import { UserAgent } from '../loadgen/http.ts';
import { accountPassword } from '../loadgen/password.ts';

/** A user of the benchmark, logged in on the app and on the peer, with every product in the cart. */
export interface BenchUser {
  email: string;
  password: string;
  /** `sid=...` of the app. */
  cookie: string;
  csrf: string;
  /** `connect.sid=...` of the peer. */
  peerCookie: string;
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  return { status: res.status, text, setCookie: res.headers.getSetCookie() };
}

function cookieNamed(setCookie: string[], name: string): string {
  // An app with COOKIE_SECURE (a stack with TLS) names its cookies `__Host-<name>`.
  const c = setCookie.find((x) => x.startsWith(`${name}=`) || x.startsWith(`__Host-${name}=`))?.split(';')[0];
  if (!c) throw new Error(`no ${name} cookie in the answer`);
  return c;
}

/** Every product with a quantity: the cart page shows a full cart. */
export function fullCart(seed: number): Record<string, number> {
  return Object.fromEntries(PRODUCTS.map((p, i) => [p.id, 1 + ((seed + i) % 9)]));
}

async function createOne(appUrl: string, peerUrl: string | undefined, tag: string, i: number) {
  const email = `bench-${tag}-${i}@bench.test`;
  const password = accountPassword();
  // A user agent of the load: the site's CA checked on HTTPS, and an address of its own on
  // loopback, so that the per-address limits (10 registrations an hour) meet it as one user.
  const client = new UserAgent(appUrl);
  try {
    const json = { 'content-type': 'application/json', accept: 'application/json' };
    const reg = await client.send('POST', '/api/register', json, JSON.stringify({ email, password }));
    if (reg.status !== 201 && reg.status !== 409)
      throw new Error(`register ${email}: ${reg.status} ${reg.text}`);
    const login = await client.send('POST', '/api/login', json, JSON.stringify({ email, password }));
    if (login.status !== 200) throw new Error(`login ${email}: ${login.status} ${login.text}`);
    const cookie = cookieNamed(
      [...client.cookies].map(([k, v]) => `${k}=${v}`),
      'sid',
    );
    const csrf = String((JSON.parse(login.text) as { csrfToken: string }).csrfToken);
    const put = await client.send(
      'PUT',
      '/api/cart',
      { ...json, 'x-csrf-token': csrf },
      JSON.stringify({ items: fullCart(i) }),
    );
    if (put.status !== 200) throw new Error(`fill cart of ${email}: ${put.status} ${put.text}`);
    let peerCookie = '';
    if (peerUrl) {
      const peer = await post(`${peerUrl}/bench-login`, { email });
      if (peer.status !== 200) throw new Error(`peer login ${email}: ${peer.status} ${peer.text}`);
      peerCookie = cookieNamed(peer.setCookie, 'connect.sid');
    }
    return { email, password, cookie, csrf, peerCookie };
  } finally {
    client.close();
  }
}

/** `count` users, registered and logged in through `appUrl`, eight at a time. */
export async function createBenchUsers(
  appUrl: string,
  peerUrl: string | undefined,
  count: number,
): Promise<BenchUser[]> {
  const tag = Date.now().toString(36);
  const users: BenchUser[] = [];
  for (let i = 0; i < count; i += 8) {
    const batch = Array.from({ length: Math.min(8, count - i) }, (_, k) =>
      createOne(appUrl, peerUrl, tag, i + k),
    );
    users.push(...(await Promise.all(batch)));
  }
  return users;
}

/** The accounts of bench users, with the session of each (loadgen/cleanup.ts deletes them). */
export function benchAccounts(users: readonly Pick<BenchUser, 'email' | 'cookie'>[]): MadeAccount[] {
  return users.map((u) => {
    const sid = /^(?:__Host-)?sid=([^.;]+)/.exec(u.cookie)?.[1];
    return { email: u.email, sids: sid ? [sid] : [] };
  });
}
