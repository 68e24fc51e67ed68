import type { FastifyInstance, FastifyRequest } from 'fastify';
import { login, register } from '../auth.ts';
import { checkApiCsrf, clearSessionCookie, type Deps, setSessionCookie, signedSession } from '../context.ts';
import { HttpError } from '../errors.ts';
import { PRODUCTS } from '../products.ts';
import { cartFromHash } from '../stores/carts.ts';
import { cartItemsFromJson, credentials } from '../validate.ts';

const unauthorized = () => new HttpError(401, 'not_logged_in', 'log in first (POST /api/login)');

/** JSON API: same behaviour as the pages, for programs. */
export function apiRoutes(app: FastifyInstance, deps: Deps): void {
  async function requireSession(req: FastifyRequest) {
    const signed = signedSession(deps, req);
    if (!signed) throw unauthorized();
    const { session } = await deps.sessions.load(signed.sid, signed.email);
    if (!session) throw unauthorized();
    return session;
  }

  app.get('/api/products', async () => ({ products: PRODUCTS }));

  app.post('/api/register', async (req, reply) => {
    const { email, password } = credentials(req.body, true);
    await register(deps, email, password, req.ip);
    return reply.code(201).send({ email });
  });

  app.post('/api/login', async (req, reply) => {
    const { email, password } = credentials(req.body, false);
    const session = await login(deps, email, password, req.ip, signedSession(deps, req)?.sid);
    setSessionCookie(deps, reply, session.sid, session.email);
    return { email, csrfToken: deps.tokens.csrfFor('session', session.sid) };
  });

  app.post('/api/logout', async (req, reply) => {
    checkApiCsrf(deps, req);
    const signed = signedSession(deps, req);
    if (signed) await deps.sessions.destroy(signed.sid);
    clearSessionCookie(deps, reply);
    return reply.code(204).send();
  });

  app.get('/api/session', async (req) => {
    const session = await requireSession(req);
    return { email: session.email, csrfToken: deps.tokens.csrfFor('session', session.sid) };
  });

  app.get('/api/cart', async (req, reply) => {
    const signed = signedSession(deps, req);
    if (!signed) throw unauthorized();
    const { session, cart, fromReplica } = await deps.sessions.loadWithCart(signed.sid, signed.email);
    if (!session) throw unauthorized();
    if (fromReplica) reply.header('x-served-by', 'replica');
    return {
      email: session.email,
      items: cartFromHash(cart),
      csrfToken: deps.tokens.csrfFor('session', session.sid),
    };
  });

  app.put('/api/cart', async (req) => {
    checkApiCsrf(deps, req);
    const items = cartItemsFromJson(req.body);
    const session = await requireSession(req);
    await deps.carts.set(session.email, items);
    return { email: session.email, items: await deps.carts.get(session.email) };
  });

  app.delete('/api/cart', async (req) => {
    checkApiCsrf(deps, req);
    const session = await requireSession(req);
    await deps.carts.clear(session.email);
    return { email: session.email, items: cartFromHash({}) };
  });
}
