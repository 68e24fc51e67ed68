/**
 * The write ceilings: `PUT /api/cart` as the app does it, with nothing more, and the bare durable
 * write under it.
 * - Like for like: the CSRF header and the signed cookie checked, the JSON body read with the app's
 *   own parser, one call of the app's function cart_set_by (the session checked and renewed, the
 *   quantities set, the cart read back), then one `WAIT` shared by every write of the same
 *   event-loop turn (the app's group commit), and the cart sent as the app sends it, under the app's
 *   headers. `?wait=0` leaves the WAIT out: the price of durability is the difference.
 * - `?bare`: the physical limit of a durable write: the signed cookie read (whose cart), the body
 *   parsed, `HSET` of the quantities and the shared `WAIT`; no CSRF, no session, no read-back.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';
import { answerHeaders } from '../../../app/security/headers.ts';
import { cookieNames, parseCookies, type Tokens } from '../../../app/security/tokens.ts';
import { CART_KEYS, cartCallArgs, cartFromHash } from '../../../app/stores/carts.ts';
import { cartItemsFromJson } from '../../../app/validate.ts';
import type { AppConfig } from '../../../config/index.ts';
import { fieldsOf } from '../../../ha/fields.ts';
import { keys } from '../../../ha/keys.ts';

const LIMIT = 16 * 1024;

export function cartWriter(config: AppConfig, tokens: Tokens, redis: Redis) {
  // The app's headers (its security headers and X-Instance): HAProxy and the load generator pay for
  // every byte of an answer too, so the ceiling sends the same answer.
  const headers = { ...answerHeaders(config.instanceId), 'content-type': 'application/json; charset=utf-8' };
  const sessionCookie = cookieNames(config.cookieSecure).session;
  const lifetimes = { ttlSeconds: config.sessionTtlSeconds, maxAgeSeconds: config.sessionMaxAgeSeconds };
  let pendingWait: Promise<number> | null = null;
  /** One WAIT after every write of this turn: commands on one connection run in order. */
  const groupWait = (): Promise<number> =>
    (pendingWait ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      pendingWait = null;
      return redis.call('WAIT', config.redis.waitReplicas, config.redis.waitTimeoutMs) as Promise<number>;
    }));

  const answer = (res: ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, headers).end(JSON.stringify(body));

  /** The app's write: one call of cart_set_by (session checked and renewed, cart written and read). */
  async function write(email: string, sid: string, items: Map<string, number>, wait: boolean) {
    const now = Date.now();
    const args = cartCallArgs(sid, email, lifetimes, now, now + config.redis.writeDeadlineMs, items);
    const reply = await redis.call('FCALL', 'cart_set_by', CART_KEYS, ...args);
    if (reply === null) return null;
    if (wait && config.redis.waitReplicas > 0 && (await groupWait()) < config.redis.waitReplicas)
      throw new Error('not confirmed by a replica');
    return cartFromHash(fieldsOf(reply));
  }

  /** The bare durable write: HSET of the quantities and the shared WAIT; nothing checked, nothing read. */
  async function bare(email: string, items: Map<string, number>) {
    const flat: string[] = [];
    for (const [id, qty] of items) flat.push(id, String(qty));
    await redis.hset(keys.cart(email), ...flat);
    if (config.redis.waitReplicas > 0 && (await groupWait()) < config.redis.waitReplicas)
      throw new Error('not confirmed by a replica');
    return Object.fromEntries(items);
  }

  return (req: IncomingMessage, res: ServerResponse, mode: 'wait' | 'nowait' | 'bare'): void => {
    const signed = tokens.readSessionCookie(parseCookies(req.headers.cookie).get(sessionCookie));
    if (!signed) return void answer(res, 401, { error: 'unauthorized' });
    if (mode !== 'bare' && !tokens.checkCsrf(req.headers['x-csrf-token'], 'session', signed.sid))
      return void answer(res, 403, { error: 'csrf' });
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= LIMIT) chunks.push(c);
    });
    req.on('end', () => {
      let items: Map<string, number>;
      try {
        if (size > LIMIT) throw new Error('too large');
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        items = mode === 'bare' ? new Map(Object.entries(body.items)) : cartItemsFromJson(body);
      } catch {
        return void answer(res, 400, { error: 'bad_request' });
      }
      if (mode === 'bare') {
        bare(signed.email, items).then(
          (cart) => answer(res, 200, { email: signed.email, items: cart }),
          () => answer(res, 503, { error: 'unavailable' }),
        );
        return;
      }
      write(signed.email, signed.sid, items, mode === 'wait').then(
        (cart) =>
          cart
            ? answer(res, 200, { email: signed.email, items: cart })
            : answer(res, 401, { error: 'unauthorized' }),
        () => answer(res, 503, { error: 'unavailable' }),
      );
    });
  };
}
