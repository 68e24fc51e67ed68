import type { FastifyInstance, FastifyRequest } from 'fastify';
import { clientOf } from '../../ha/client-scope.ts';
import { loginWithCookies, register } from '../auth.ts';
import { checkApiCsrf, clearSessionCookie, type Deps, signedSession } from '../context.ts';
import { HttpError } from '../errors.ts';
import { collectOpenApi } from '../openapi.ts';
import { PRODUCTS } from '../products.ts';
import { SCHEMAS } from '../schemas.ts';
import { cartFromHash } from '../stores/carts.ts';
import { cartItemsFromJson, credentials } from '../validate.ts';

const unauthorized = () => new HttpError(401, 'not_logged_in', 'log in first (POST /api/login)');

/** JSON API: same behaviour as the pages, for programs. */
export function apiRoutes(app: FastifyInstance, deps: Deps): void {
  // Before the routes: it sees each of them as it is added.
  const openApi = collectOpenApi(app);
  // The CSRF check comes before the body's: a forged request is refused as forged, whatever it sends.
  const csrf = {
    preValidation: (req: FastifyRequest, _reply: unknown, done: (err?: Error) => void) => {
      try {
        checkApiCsrf(deps, req);
        done();
      } catch (err) {
        done(err as Error);
      }
    },
  };

  async function requireSession(req: FastifyRequest) {
    const signed = signedSession(deps, req);
    if (!signed) throw unauthorized();
    const { session } = await deps.sessions.load(signed.sid, signed.email);
    if (!session) throw unauthorized();
    return session;
  }

  // Outside the document it serves (no schema).
  app.get('/api/openapi.json', async () => openApi());

  app.get('/api/products', { schema: SCHEMAS.products }, async () => ({ products: PRODUCTS }));

  app.post('/api/register', { schema: SCHEMAS.register }, async (req, reply) => {
    const { email, password } = credentials(req.body, true);
    await register(deps, email, password, req.ip);
    return reply.code(201).send({ email });
  });

  app.post('/api/login', { schema: SCHEMAS.login }, async (req, reply) => {
    const { email, password } = credentials(req.body, false);
    const session = await loginWithCookies(deps, req, reply, email, password);
    return { email, csrfToken: deps.tokens.csrfFor('session', session.sid) };
  });

  app.post('/api/logout', { schema: SCHEMAS.logout, ...csrf }, async (req, reply) => {
    const signed = signedSession(deps, req);
    if (signed) await deps.sessions.destroy(signed.sid);
    clearSessionCookie(deps, reply);
    return reply.code(204).send();
  });

  app.get('/api/session', { schema: SCHEMAS.session }, async (req) => {
    const session = await requireSession(req);
    return { email: session.email, csrfToken: deps.tokens.csrfFor('session', session.sid) };
  });

  app.get('/api/cart', { schema: SCHEMAS.getCart }, async (req, reply) => {
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

  app.put('/api/cart', { schema: SCHEMAS.putCart, ...csrf }, async (req) => {
    // The schema checked the types; this turns the body into the store's map.
    const items = cartItemsFromJson(req.body);
    const signed = signedSession(deps, req);
    if (!signed) throw unauthorized();
    // One function call checks and renews the session, writes, and returns the cart it left.
    const cart = await deps.carts.set(signed.sid, signed.email, items, clientOf(req.raw));
    if (!cart) throw unauthorized();
    return { email: signed.email, items: cart };
  });

  app.delete('/api/cart', { schema: SCHEMAS.deleteCart, ...csrf }, async (req) => {
    const signed = signedSession(deps, req);
    if (!signed || !(await deps.carts.clear(signed.sid, signed.email, clientOf(req.raw))))
      throw unauthorized();
    return { email: signed.email, items: cartFromHash({}) };
  });
}
