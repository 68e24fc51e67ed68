/**
 * The write ceiling: `PUT /api/cart` as the app does it, with nothing more. The CSRF header and the
 * signed cookie checked, the JSON body read with the app's own parser, the session and the account's
 * generation read (GETEX renews the session), the quantities set and the cart read back in one MULTI,
 * then one `WAIT` shared by every write of the same event-loop turn (the app's group commit), and the
 * cart sent as the app sends it, under the app's headers. `?wait=0` leaves the WAIT out: the price of durability is the difference.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Redis } from 'ioredis';
import { answerHeaders } from '../../../app/security/headers.ts';
import { parseCookies, type Tokens } from '../../../app/security/tokens.ts';
import { cartFromHash } from '../../../app/stores/carts.ts';
import { cartItemsFromJson } from '../../../app/validate.ts';
import type { AppConfig } from '../../../config/index.ts';
import { together } from '../../../ha/clients.ts';
import { keys } from '../../../ha/keys.ts';
import { sessionValid } from '../../../ha/session.ts';

const LIMIT = 16 * 1024;

export function cartWriter(config: AppConfig, tokens: Tokens, redis: Redis) {
  // The app's headers (its security headers and X-Instance): HAProxy and the load generator pay for
  // every byte of an answer too, so the ceiling sends the same answer.
  const headers = { ...answerHeaders(config.instanceId), 'content-type': 'application/json; charset=utf-8' };
  let pendingWait: Promise<number> | null = null;
  /** One WAIT after every write of this turn: commands on one connection run in order. */
  const groupWait = (): Promise<number> =>
    (pendingWait ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      pendingWait = null;
      return redis.call('WAIT', config.redis.waitReplicas, config.redis.waitTimeoutMs) as Promise<number>;
    }));

  const answer = (res: ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, headers).end(JSON.stringify(body));

  async function write(email: string, sid: string, items: Map<string, number>, wait: boolean) {
    const [raw, gen] = await together(redis, () =>
      Promise.all([
        redis.getex(keys.session(sid), 'EX', config.sessionTtlSeconds),
        redis.hget(keys.user(email), 'gen'),
      ]),
    );
    if (!sessionValid(raw, email, gen, Date.now(), config.sessionMaxAgeSeconds * 1000)) return null;
    const put: string[] = [];
    const remove: string[] = [];
    for (const [id, qty] of items) {
      if (qty > 0) put.push(id, String(qty));
      else remove.push(id);
    }
    const m = redis.multi();
    if (put.length) m.hset(keys.cart(email), ...put);
    if (remove.length) m.hdel(keys.cart(email), ...remove);
    m.hgetall(keys.cart(email));
    const res = (await m.exec()) ?? [];
    for (const [err] of res) if (err) throw err;
    if (wait && config.redis.waitReplicas > 0 && (await groupWait()) < config.redis.waitReplicas)
      throw new Error('not confirmed by a replica');
    return cartFromHash(res[res.length - 1]![1] as Record<string, string>);
  }

  return (req: IncomingMessage, res: ServerResponse, wait: boolean): void => {
    const signed = tokens.readSessionCookie(parseCookies(req.headers.cookie).get('sid'));
    if (!signed) return void answer(res, 401, { error: 'unauthorized' });
    if (!tokens.checkCsrf(req.headers['x-csrf-token'], 'session', signed.sid))
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
        items = cartItemsFromJson(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        return void answer(res, 400, { error: 'bad_request' });
      }
      write(signed.email, signed.sid, items, wait).then(
        (cart) =>
          cart
            ? answer(res, 200, { email: signed.email, items: cart })
            : answer(res, 401, { error: 'unauthorized' }),
        () => answer(res, 503, { error: 'unavailable' }),
      );
    });
  };
}
