/**
 * Stored data at scale for `npm run bench -- scale`: sessions, accounts and carts written straight
 * to the master in pipelines, in the app's own formats (the session's JSON, the account's hash with
 * a real scrypt hash, a full cart), under names derived from an index so that they can be removed
 * again by name. What each kind costs in Redis memory is measured twice: the `used_memory` delta of
 * a whole kind divided by its count, and `MEMORY USAGE` of sample keys.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { keys } from '../app/stores/keys.ts';
import { newGeneration } from '../app/stores/users.ts';
import { parseInfo } from '../redis/observe.ts';
import { fullCart } from './fixtures.ts';

/** Commands per pipeline: large enough to keep Redis busy, small enough to bound the client's memory. */
const BATCH = 5000;
/** Filler sessions outlive the run (the app's idle lifetime is shorter; the bytes are the same). */
const FILL_TTL_S = 3600;

export type Kind = 'session' | 'user' | 'cart';

/** A session id shaped like the app's (24 random bytes, base64url), derived from the index. */
export const fillSid = (tag: string, i: number) =>
  createHash('sha256').update(`${tag}:${i}`).digest().subarray(0, 24).toString('base64url');
export const fillEmail = (tag: string, i: number) => `fill-${tag}-${i}@scale.test`;

export function fillKey(kind: Kind, tag: string, i: number): string {
  if (kind === 'session') return keys.session(fillSid(tag, i));
  return kind === 'user' ? keys.user(fillEmail(tag, i)) : keys.cart(fillEmail(tag, i));
}

export interface FillSpec {
  tag: string;
  /** A real password hash of the app's cost: every filler account stores one of that length. */
  passwordHash: string;
}

function add(p: ReturnType<Redis['pipeline']>, kind: Kind, spec: FillSpec, i: number, now: number): void {
  const email = fillEmail(spec.tag, i);
  if (kind === 'session') {
    const body = JSON.stringify({ email, gen: newGeneration(), created: now });
    p.set(fillKey(kind, spec.tag, i), body, 'EX', FILL_TTL_S);
  } else if (kind === 'user') {
    p.hset(
      keys.user(email),
      'email',
      email,
      'password',
      spec.passwordHash,
      'created',
      String(now),
      'gen',
      newGeneration(),
    );
  } else {
    const cart = fullCart(i);
    p.hset(keys.cart(email), ...Object.entries(cart).flatMap(([id, n]) => [id, String(n)]));
  }
}

/** Pipelines in flight at once: the client encodes the next while Redis runs the previous. */
const IN_FLIGHT = 4;

async function inBatches(from: number, to: number, each: (start: number, end: number) => Promise<void>) {
  let next = from;
  const worker = async () => {
    while (next < to) {
      const start = next;
      next = Math.min(to, start + BATCH);
      await each(start, next);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
}

/**
 * Runs `fn` again while the master refuses writes for a moment (a replica still loading what a
 * failover sent it: NOREPLICAS; a node loading its files: LOADING), for at most two minutes.
 */
async function patiently<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!/^(NOREPLICAS|LOADING)/.test((err as Error).message) || Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/** Writes entries [from, to) of one kind; resolves with the seconds it took. */
export async function fill(r: Redis, kind: Kind, spec: FillSpec, from: number, to: number): Promise<number> {
  const t0 = performance.now();
  const now = Date.now();
  await inBatches(from, to, async (start, end) => {
    await patiently(async () => {
      const p = r.pipeline();
      for (let i = start; i < end; i++) add(p, kind, spec, i, now);
      for (const [err] of (await p.exec()) ?? []) if (err) throw err;
    });
  });
  return Math.round(performance.now() - t0) / 1000;
}

/** Removes entries [from, to) of one kind (UNLINK: freed in the background). */
export async function unfill(r: Redis, kind: Kind, tag: string, from: number, to: number): Promise<void> {
  await inBatches(from, to, async (start, end) => {
    const names = Array.from({ length: end - start }, (_, k) => fillKey(kind, tag, start + k));
    await patiently(() => r.unlink(...names));
  });
}

export async function usedMemory(r: Redis): Promise<number> {
  return Number(parseInfo(await r.info('memory'))['used_memory']);
}

/** The mean `MEMORY USAGE` (every element counted) of `samples` keys of a kind spread over [0, count). */
export async function memoryUsage(
  r: Redis,
  kind: Kind,
  tag: string,
  count: number,
  samples = 20,
): Promise<number> {
  const n = Math.min(samples, count);
  let total = 0;
  for (let k = 0; k < n; k++) {
    const i = Math.floor((k * count) / n);
    total += Number(await r.call('MEMORY', 'USAGE', fillKey(kind, tag, i), 'SAMPLES', '0'));
  }
  return n ? Math.round(total / n) : 0;
}

/**
 * What one stored account is made of: the bytes of its key and of each field's name and value, and
 * what Redis adds around them (MEMORY USAGE minus those bytes: the key's and the hash's headers,
 * the encoding of the field list, the allocator's rounding).
 */
export async function accountBytes(r: Redis, tag: string): Promise<Record<string, number>> {
  const key = fillKey('user', tag, 0);
  const hash = await r.hgetall(key);
  const out: Record<string, number> = { key: Buffer.byteLength(key) };
  for (const [field, value] of Object.entries(hash))
    out[field] = Buffer.byteLength(field) + Buffer.byteLength(value);
  const usage = Number(await r.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
  out['overhead'] = usage - Object.values(out).reduce((a, b) => a + b, 0);
  out['total'] = usage;
  return out;
}

/** Waits until every replica has acknowledged the master's whole replication stream. */
export async function replicasCaughtUp(r: Redis, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = parseInfo(await r.info('replication'));
    const offset = Number(info['master_repl_offset']);
    const replicas = Object.entries(info).filter(([k]) => /^slave\d+$/.test(k));
    const behind = replicas.filter(([, v]) => Number(/offset=(\d+)/.exec(v)?.[1] ?? -1) < offset);
    if (replicas.length > 0 && behind.length === 0) return;
    if (Date.now() > deadline) throw new Error(`replicas still behind after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
