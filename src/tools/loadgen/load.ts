/**
 * A steady mixed load through the front door, shaped like the site's users: most are people in a
 * browser (cart page views and cart form posts, each person on one kept-alive connection), some
 * are programs on the JSON API. Every request is counted as a read or a write and as page or api;
 * every acknowledged write is recorded so the checker can compare it with what Redis holds.
 */
import { apiSignUp, useApi } from './api-user.ts';
import { browse, browserSignUp } from './browser.ts';
import { UserAgent } from './http.ts';
import { accountPassword } from './password.ts';
import { type LoadStats, newStats } from './stats.ts';
import { exhausted, type LoadUser, type Surface } from './user.ts';

export type { LoadStats, Sample } from './stats.ts';
export type { LoadUser, Surface } from './user.ts';

/** Share of the users that are programs on the JSON API; the others browse the pages. */
export const API_SHARE = 0.25;

async function catalogue(base: string): Promise<string[]> {
  const client = new UserAgent(base);
  try {
    const answer = await client.send('GET', '/api/products', { accept: 'application/json' });
    const products =
      answer.status === 200 ? (JSON.parse(answer.text) as { products?: { id: string }[] }).products : [];
    if (!products?.length)
      throw new Error(`GET /api/products: ${answer.status} ${answer.error ?? ''}`.trim());
    return products.map((p) => p.id);
  } finally {
    client.close();
  }
}

/**
 * Signs up `count` users of each surface, or that many in all split as `split` says (the stack is
 * healthy meanwhile: no retries). Page users go through the register form, API users through
 * /api/register and /api/login.
 */
export async function createUsers(
  base: string,
  total: number | { page: number; api: number },
  tag: string,
): Promise<LoadUser[]> {
  const count = typeof total === 'number' ? split(total) : total;
  const products = await catalogue(base);
  const users: LoadUser[] = [];
  const one = async (surface: Surface, i: number) => {
    const email = `chaos-${tag}-${surface}-${i}@load.test`;
    const password = accountPassword();
    const signUp = surface === 'page' ? browserSignUp : apiSignUp;
    const { client, csrf, items } = await signUp(base, email, password, products);
    client.rest();
    users.push({
      surface,
      products,
      email,
      password,
      client,
      csrf,
      next: new Map(products.map((p) => [p, (items[p] ?? 0) + 1])),
      acked: new Map(products.map((p) => [p, items[p] ?? 0])),
      unacked: new Map(),
    });
  };
  const all = [
    ...Array.from({ length: count.page }, (_, i) => ['page', i] as const),
    ...Array.from({ length: count.api }, (_, i) => ['api', i] as const),
  ];
  try {
    for (let i = 0; i < all.length; i += 8) await Promise.all(all.slice(i, i + 8).map(([s, k]) => one(s, k)));
  } catch (err) {
    for (const u of users) u.client.close();
    throw err;
  }
  return users.sort((a, b) => a.email.localeCompare(b.email, 'en', { numeric: true }));
}

/** How many users of each surface run at once, for `concurrency` users in all. */
export function split(concurrency: number, apiShare = API_SHARE): { page: number; api: number } {
  const api = concurrency > 1 ? Math.max(1, Math.round(concurrency * apiShare)) : 0;
  return { page: concurrency - api, api };
}

/**
 * Starts the load with `concurrency` users at a time, split between the surfaces as `split` says;
 * a user with nothing left to write hands over to a spare of the same surface, so values keep
 * growing however long the run. Resolves when every loop has seen the abort and finished its
 * request. `pauseMs` spaces one user's requests so that the load stays bounded.
 */
export function runLoad(
  users: LoadUser[],
  signal: AbortSignal,
  pauseMs = 20,
  concurrency = users.length,
): { stats: LoadStats; done: Promise<void> } {
  const stats = newStats();
  const want = split(concurrency);
  const workers: Promise<void>[] = [];
  for (const surface of ['page', 'api'] as const) {
    const mine = users.filter((u) => u.surface === surface);
    const queue = mine.slice(want[surface]);
    const loop = surface === 'page' ? browse : useApi;
    const worker = async (first: LoadUser) => {
      let user: LoadUser | undefined = first;
      while (user && !signal.aborted) {
        await loop(user, stats, signal, pauseMs, queue.length > 0);
        if (exhausted(user) && queue.length > 0) user.client.rest();
        user = exhausted(user) ? (queue.shift() ?? user) : undefined;
      }
    };
    workers.push(...mine.slice(0, want[surface]).map(worker));
  }
  return { stats, done: Promise.all(workers).then(() => undefined) };
}

/** Closes every user's connection (after the load and the read-back). */
export function closeUsers(users: LoadUser[]): void {
  for (const u of users) u.client.close();
}
