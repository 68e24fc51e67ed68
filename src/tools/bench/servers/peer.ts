/**
 * The peer: the usual way to build the same page, Express with express-session and connect-redis
 * on the same Redis through the same client. Each request reads the session, renews its TTL with a
 * separate command (connect-redis's touch) and reads the cart; the answer is the app's (same view,
 * same CSRF token, same headers). Used by the benchmark only.
 */
import { RedisStore } from 'connect-redis';
import express from 'express';
import session from 'express-session';
import { loadConfig } from '../../../config/index.ts';
import { createClient } from '../../../ha/clients.ts';
import { keys } from '../../../ha/keys.ts';
import { useStackTls } from '../../../ha/tls.ts';
import { cartAnswer } from './answer.ts';
import { stopOnSignal } from './stop.ts';

declare module 'express-session' {
  interface SessionData {
    email: string;
  }
}

const config = loadConfig();
// Nodes and Sentinels on TLS: the stack's files, as the app takes them (src/server.ts).
useStackTls(config.redis.tls);
const redis = createClient(config.redis, 'master', `${config.instanceId}:master`);
redis.on('error', () => undefined);
const { headers, page } = cartAnswer(config);

const app = express();
app.disable('x-powered-by');
app.use(
  session({
    store: new RedisStore({ client: redis, prefix: 'peer-sess:', ttl: config.sessionTtlSeconds }),
    secret: config.sessionSecret,
    resave: false,
    saveUninitialized: false,
    cookie: { httpOnly: true, sameSite: 'lax', secure: false },
  }),
);

app.get(['/healthz', '/readyz'], (_req, res) => {
  res.status(redis.status === 'ready' ? 200 : 503).end();
});

// Set-up only: the benchmark logs its users in here before it measures GET /get.
app.post('/bench-login', express.json(), (req, res, next) => {
  const email = (req.body as { email?: unknown } | undefined)?.email;
  if (typeof email !== 'string') {
    res.status(400).end();
    return;
  }
  req.session.regenerate((err) => {
    if (err) return next(err);
    req.session.email = email;
    req.session.save((e) => (e ? next(e) : res.json({ email })));
  });
});

app.get('/get', (req, res, next) => {
  const email = req.session.email;
  if (!email) {
    res.redirect(303, '/login');
    return;
  }
  redis.hgetall(keys.cart(email)).then((cart) => {
    res.set(headers).send(page(req.sessionID, email, cart));
  }, next);
});

const server = app.listen(config.port, config.host);
server.keepAliveTimeout = 65_000;

stopOnSignal(server, redis);
