import { setMaxListeners } from 'node:events';
import { useApi } from '../loadgen/api-user.ts';
import { browse } from '../loadgen/browser.ts';
import { accountPassword } from '../loadgen/password.ts';
import { type LoadStats, newStats } from '../loadgen/stats.ts';
import { exhausted, type LoadUser, type Surface, sessionId } from '../loadgen/user.ts';
import { logIn, logOut, newCounters, newcomer, register, type SessionCounters } from './session.ts';

/**
 * The soak's mixed load: the chaos load's users (people in a browser and programs on the JSON
 * API, each from a loopback address of its own, every acknowledged write recorded), in seats of
 * which each holds one user at a time. A user's visit is the chaos loop (cart page views and cart
 * writes) for a while; then the user logs out and either logs in again after a moment, or leaves
 * for good and a new user registers in its seat (always so when its cart is full).
 */

export interface MixOptions {
  /** Pause between two requests of a user (bounds the load). */
  pauseMs: number;
  /** Mean length of a visit between logging in and logging out; each is 0.5 to 1.5 times it. */
  visitS: number;
  /** Share of the visits after which the user leaves and a new one registers. */
  leaveShare: number;
  /** Tells the new users' emails apart from other runs'. */
  tag: string;
  random?: () => number;
}

export interface MixedLoad {
  stats: LoadStats;
  counters: SessionCounters;
  /** Every user who took part, seated or gone: each acknowledged write is checked at the end. */
  users: LoadUser[];
  /** The users logged in now: each one's session must be on the master. */
  loggedIn: Set<LoadUser>;
  /** The users told that their account was made: each account must be on the master. */
  signedUp: Set<LoadUser>;
  done: Promise<void>;
  /** Why a user's loop stopped before the end, if one did. */
  error?: string;
}

/** A wait that ends early when the signal aborts. */
export function rest(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/**
 * Runs `fn` with a signal that aborts after `ms` or with `signal`. A timer of its own, held until
 * the end: a timeout signal nobody references may be collected before it fires.
 */
async function during<T>(ms: number, signal: AbortSignal, fn: (s: AbortSignal) => Promise<T>): Promise<T> {
  const visit = new AbortController();
  const end = () => visit.abort();
  const timer = setTimeout(end, ms);
  signal.addEventListener('abort', end, { once: true });
  if (signal.aborted) end();
  try {
    return await fn(visit.signal);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', end);
  }
}

/** Tries `step` until it succeeds or the signal aborts, as a person would, a second apart. */
async function until(step: () => Promise<boolean>, signal: AbortSignal): Promise<boolean> {
  while (!signal.aborted) {
    if (await step()) return true;
    await rest(1000, signal);
  }
  return false;
}

/**
 * Starts one loop per seated user (the `seated` users, already signed up and logged in). Resolves
 * `done` when every loop has seen the abort and finished its request.
 */
export function runMixedLoad(
  base: string,
  seated: LoadUser[],
  signal: AbortSignal,
  opts: MixOptions,
): MixedLoad {
  // Each seat waits on the signal (a visit, a pause): two listeners a seat at most, each removed.
  setMaxListeners(2 * seated.length + 10, signal);
  const stats = newStats();
  const counters = newCounters();
  const users = [...seated];
  const loggedIn = new Set(seated);
  const signedUp = new Set(seated);
  const random = opts.random ?? Math.random;
  let joined = 0;

  const join = async (surface: Surface, products: string[]): Promise<LoadUser> => {
    const n = joined++;
    const user = newcomer(
      base,
      surface,
      `soak-${opts.tag}-${surface}-n${n}@load.test`,
      accountPassword(),
      products,
    );
    users.push(user);
    if (await until(() => register(user, stats, counters), signal)) {
      loggedIn.add(user);
      signedUp.add(user);
    }
    return user;
  };

  const seat = async (first: LoadUser) => {
    let user = first;
    while (!signal.aborted) {
      const visitMs = opts.visitS * 1000 * (0.5 + random());
      const loop = user.surface === 'page' ? browse : useApi;
      // The chaos loop; it returns early once the cart is full (nothing left to write).
      await during(visitMs, signal, (visit) => loop(user, stats, visit, opts.pauseMs, true));
      if (signal.aborted) break;
      const leaves = exhausted(user) || random() < opts.leaveShare;
      // Whatever the answer, the session is no longer expected to last: a person who left
      // closes the tab, and a new login replaces the session anyway.
      loggedIn.delete(user);
      await logOut(user, stats, counters);
      await rest(opts.pauseMs, signal);
      if (leaves) {
        user.client.close();
        user = await join(user.surface, user.products);
      } else if (await until(() => logIn(user, stats, counters), signal)) loggedIn.add(user);
    }
  };

  const load: MixedLoad = { stats, counters, users, loggedIn, signedUp, done: Promise.resolve() };
  // A loop that breaks is reported, never left to crash the run with the stack still up.
  const guarded = (u: LoadUser) =>
    seat(u).catch((err: unknown) => {
      load.error ??= err instanceof Error ? err.message : String(err);
    });
  load.done = Promise.all(seated.map(guarded)).then(() => undefined);
  return load;
}

/** The session ids the master must hold: those of the users logged in, by email. */
export function expectedSessions(loggedIn: Iterable<LoadUser>): Map<string, string> {
  const out = new Map<string, string>();
  for (const u of loggedIn) {
    const sid = sessionId(u);
    if (sid) out.set(u.email, sid);
  }
  return out;
}
