/**
 * Stored data at scale for `npm run bench -- scale`: sessions, accounts and carts written straight
 * to the master in pipelines, in the app's own formats (the session's JSON, the account's hash with
 * a real scrypt hash, a full cart), under names derived from an index so that they can be removed
 * again by name. What each kind costs in Redis memory is measured twice: the `used_memory` delta of
 * a whole kind divided by its count, and `MEMORY USAGE` of sample keys.
 */
import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import type { Redis } from 'ioredis';
import { parseMemory, parseReplication } from '../../ha/info.ts';
import { keys } from '../../ha/keys.ts';
import { encodeSession, newGeneration } from '../../ha/session.ts';
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

/** The command that stores entry `i` of a kind, as its words. */
function command(kind: Kind, spec: FillSpec, i: number, now: number): string[] {
  const email = fillEmail(spec.tag, i);
  if (kind === 'session') {
    const body = encodeSession({ email, gen: newGeneration(), created: now });
    return ['SET', fillKey(kind, spec.tag, i), body, 'EX', String(FILL_TTL_S)];
  }
  if (kind === 'user') {
    const fields = [
      'email',
      email,
      'password',
      spec.passwordHash,
      'created',
      String(now),
      'gen',
      newGeneration(),
    ];
    return ['HSET', keys.user(email), ...fields];
  }
  return ['HSET', keys.cart(email), ...Object.entries(fullCart(i)).flatMap(([id, n]) => [id, String(n)])];
}

/** A command in RESP: an array of bulk strings. */
export function resp(words: string[]): string {
  let out = `*${words.length}\r\n`;
  for (const w of words) out += `$${Buffer.byteLength(w)}\r\n${w}\r\n`;
  return out;
}

/**
 * A connection that sends commands as RESP text it wrote itself and counts their one-line replies
 * (`+OK`, `:1`, `-ERR ...`), like `redis-cli --pipe`: a client library's command objects and
 * promises cost several times what Redis spends on a SET. One batch at a time is answered.
 */
export class RawPipe {
  private carry = '';
  /** The batches sent and not yet wholly answered, oldest first (replies come in order). */
  private readonly waiting: { left: number; errors: string[]; done: (errors: string[]) => void }[] = [];

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.replies(chunk));
    socket.on('error', () => undefined);
  }

  static async open(host: string, port: number, username?: string, password?: string): Promise<RawPipe> {
    const socket = connect({ host, port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const pipe = new RawPipe(socket);
    if (password) {
      const [error] = await pipe.send(resp(username ? ['AUTH', username, password] : ['AUTH', password]), 1);
      if (error) throw new Error(`AUTH: ${error}`);
    }
    return pipe;
  }

  /** Sends `count` commands and resolves with the errors among their replies. */
  send(text: string, count: number): Promise<string[]> {
    return new Promise((done, fail) => {
      const closed = () => fail(new Error('the connection closed before every reply came'));
      this.socket.once('close', closed);
      this.waiting.push({
        left: count,
        errors: [],
        done: (errors) => {
          this.socket.off('close', closed);
          done(errors);
        },
      });
      this.socket.write(text);
    });
  }

  private replies(chunk: string): void {
    const text = this.carry + chunk;
    let at = 0;
    for (let end = text.indexOf('\r\n'); end !== -1; end = text.indexOf('\r\n', at)) {
      const w = this.waiting[0];
      if (w) {
        if (text.charCodeAt(at) === 45 /* - */) w.errors.push(text.slice(at + 1, end));
        if (--w.left === 0) {
          this.waiting.shift();
          w.done(w.errors);
        }
      }
      at = end + 2;
    }
    this.carry = text.slice(at);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Pipelines in flight at once: the client encodes the next while Redis runs the previous. */
const IN_FLIGHT = 4;

async function inBatches(
  from: number,
  to: number,
  each: (start: number, end: number) => Promise<void>,
  inFlight = IN_FLIGHT,
) {
  let next = from;
  const worker = async () => {
    while (next < to) {
      const start = next;
      next = Math.min(to, start + BATCH);
      await each(start, next);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
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

/**
 * Writes entries [from, to) of one kind through a `RawPipe` to where `r` is connected; resolves with
 * the seconds it took. A batch refused for a moment (NOREPLICAS, LOADING) is sent again: every
 * command sets absolute values.
 */
export async function fill(r: Redis, kind: Kind, spec: FillSpec, from: number, to: number): Promise<number> {
  const t0 = performance.now();
  const now = Date.now();
  const { host, port, username, password } = r.options;
  const pipe = await RawPipe.open(host ?? '127.0.0.1', port ?? 6379, username, password);
  try {
    // Two batches in flight: Redis runs one while the next is written.
    await inBatches(
      from,
      to,
      async (start, end) => {
        let text = '';
        for (let i = start; i < end; i++) text += resp(command(kind, spec, i, now));
        await patiently(async () => {
          const errors = await pipe.send(text, end - start);
          if (errors.length) throw new Error(errors[0]);
        });
      },
      2,
    );
  } finally {
    pipe.close();
  }
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
  return parseMemory(await r.info('memory'))?.used ?? Number.NaN;
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
    const { offset, replicas } = parseReplication(await r.info('replication'));
    const behind = replicas.filter((x) => x.offset < offset);
    if (replicas.length > 0 && behind.length === 0) return;
    if (Date.now() > deadline) throw new Error(`replicas still behind after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
