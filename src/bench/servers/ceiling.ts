/**
 * The ceiling: a bare `node:http` server that does for `GET /get` what the app does and nothing
 * more: the signed cookie checked, the session read with its TTL renewed (GETEX) and the cart read,
 * both sent back to back on one connection, and a small HTML page. Same Redis, same client, same
 * configuration variables as an app instance; no framework, no logging, no metrics.
 */
import { createServer } from 'node:http';
import { PRODUCTS } from '../../app/products.ts';
import { parseCookies, Tokens } from '../../app/security/tokens.ts';
import { escapeHtml } from '../../app/views/html.ts';
import { loadConfig } from '../../config/index.ts';
import { createClient } from '../../redis/clients.ts';
import { stopOnSignal } from './stop.ts';

const config = loadConfig();
const tokens = new Tokens(config.sessionSecret);
const redis = createClient(config.redis, 'master', `${config.instanceId}:master`);
redis.on('error', () => undefined);

function page(email: string, cart: Record<string, string>): string {
  let rows = '';
  for (const p of PRODUCTS) {
    const n = Number(cart[p.id] ?? 0);
    rows += `<tr><td>${escapeHtml(p.name)}</td><td>${Number.isInteger(n) && n > 0 ? n : 0}</td></tr>`;
  }
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Cart</title></head><body><h1>Cart of ${escapeHtml(email)}</h1><table>${rows}</table></body></html>`;
}

const server = createServer((req, res) => {
  if (req.url === '/healthz' || req.url === '/readyz') {
    res.writeHead(redis.status === 'ready' ? 200 : 503).end();
    return;
  }
  if (req.method !== 'GET' || !req.url?.startsWith('/get')) {
    res.writeHead(404).end();
    return;
  }
  const signed = tokens.readSessionCookie(parseCookies(req.headers.cookie).get('sid'));
  if (!signed) {
    res.writeHead(303, { location: '/login' }).end();
    return;
  }
  Promise.all([
    redis.getex(`sess:${signed.sid}`, 'EX', config.sessionTtlSeconds),
    redis.hgetall(`cart:{${signed.email}}`),
  ]).then(
    ([raw, cart]) => {
      let ok = false;
      try {
        ok = raw !== null && (JSON.parse(raw) as { email?: unknown }).email === signed.email;
      } catch {
        ok = false;
      }
      if (!ok) {
        res.writeHead(303, { location: '/login' }).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page(signed.email, cart));
    },
    () => res.writeHead(503).end(),
  );
});
server.keepAliveTimeout = 65_000;
server.listen(config.port, config.host);

stopOnSignal(server, redis);
