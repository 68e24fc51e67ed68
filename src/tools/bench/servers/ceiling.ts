/**
 * The ceiling: a bare `node:http` server that gives `GET /get` the same answer as the app and does
 * nothing more: the signed cookie checked, the session read with its TTL renewed (GETEX), the
 * account's generation and the cart read, sent in one write on one connection as the app sends
 * them, the session checked as the app checks it, and the same page
 * (the app's view, with its CSRF token) under the same headers. Same Redis, same client, same
 * configuration variables as an app instance; no framework, no logging, no metrics, no fallback.
 * `PUT /api/cart` likewise (ceiling-write.ts): the ceiling of durable writes.
 */
import { createServer } from 'node:http';
import { cookieNames, parseCookies } from '../../../app/security/tokens.ts';
import { loadConfig } from '../../../config/index.ts';
import { createClient, together } from '../../../ha/clients.ts';
import { keys } from '../../../ha/keys.ts';
import { sessionValid } from '../../../ha/session.ts';
import { useStackTls } from '../../../ha/tls.ts';
import { cartAnswer } from './answer.ts';
import { cartWriter } from './ceiling-write.ts';
import { stopOnSignal } from './stop.ts';

const config = loadConfig();
const { tokens, headers, page } = cartAnswer(config);
// `__Host-sid` where the cookies are Secure (a stack with TLS), as the app names it.
const SESSION_COOKIE = cookieNames(config.cookieSecure).session;
// Nodes and Sentinels on TLS: the stack's files, as the app takes them (src/server.ts).
useStackTls(config.redis.tls);
const redis = createClient(config.redis, 'master', `${config.instanceId}:master`);
redis.on('error', () => undefined);
const putCart = cartWriter(config, tokens, redis);

const server = createServer((req, res) => {
  if (req.url === '/healthz' || req.url === '/readyz') {
    res.writeHead(redis.status === 'ready' ? 200 : 503).end();
    return;
  }
  if (req.method === 'PUT' && req.url?.startsWith('/api/cart')) {
    putCart(req, res, req.url.endsWith('?wait=0') ? 'nowait' : req.url.endsWith('?bare') ? 'bare' : 'wait');
    return;
  }
  if (req.method !== 'GET' || !req.url?.startsWith('/get')) {
    res.writeHead(404).end();
    return;
  }
  const signed = tokens.readSessionCookie(parseCookies(req.headers.cookie).get(SESSION_COOKIE));
  if (!signed) {
    res.writeHead(303, { location: '/login' }).end();
    return;
  }
  together(redis, () =>
    Promise.all([
      redis.getex(keys.session(signed.sid), 'EX', config.sessionTtlSeconds),
      redis.hget(keys.user(signed.email), 'gen'),
      redis.hgetall(keys.cart(signed.email)),
    ]),
  ).then(
    ([raw, gen, cart]) => {
      if (!sessionValid(raw, signed.email, gen, Date.now(), config.sessionMaxAgeSeconds * 1000)) {
        res.writeHead(303, { location: '/login' }).end();
        return;
      }
      res.writeHead(200, headers).end(page(signed.sid, signed.email, cart));
    },
    () => res.writeHead(503).end(),
  );
});
server.keepAliveTimeout = 65_000;
server.listen(config.port, config.host);

stopOnSignal(server, redis);
