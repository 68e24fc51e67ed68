import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { clientOf } from '../../ha/client-scope.ts';
import { UnavailableError } from '../../ha/errors.ts';
import { loginWithCookies, register, startSession } from '../auth.ts';
import {
  checkFormCsrf,
  clearSessionCookie,
  type Deps,
  formBody,
  pageContext,
  setDeviceCookie,
  setSessionCookie,
  signedSession,
} from '../context.ts';
import { HttpError } from '../errors.ts';
import { cartFromHash } from '../stores/carts.ts';
import { cartItemsFromForm, checkPassword, normaliseEmail } from '../validate.ts';
import { addPage, cartPage, deletePage, loginPage, registerPage } from '../views/pages.ts';

const NOTICES: Record<string, string> = {
  welcome: 'Welcome! Your account is ready and you are logged in.',
  in: 'You are logged in.',
  out: 'You are logged out.',
  saved: 'Cart saved.',
  emptied: 'The cart is empty now.',
  expired: 'Your session has ended; please log in again.',
};

/** Server-rendered pages. Writes answer with 303 to a page, after the write is durable. */
export function pageRoutes(app: FastifyInstance, deps: Deps): void {
  const notice = (req: FastifyRequest) => {
    const m = String((req.query as Record<string, unknown>)['m'] ?? '');
    return Object.hasOwn(NOTICES, m) ? NOTICES[m] : undefined;
  };
  const html = (reply: FastifyReply, body: string, status = 200) =>
    reply.code(status).type('text/html; charset=utf-8').send(body);

  async function currentSession(req: FastifyRequest) {
    const signed = signedSession(deps, req);
    if (!signed) return null;
    return (await deps.sessions.load(signed.sid, signed.email)).session;
  }

  /** For a page's header only: a session a replica could not confirm shows as none (and stays). */
  const headerSession = (req: FastifyRequest) =>
    currentSession(req).catch((err: unknown) => {
      if (err instanceof UnavailableError) return null;
      throw err;
    });

  async function sessionOrRedirect(req: FastifyRequest, reply: FastifyReply) {
    const session = await currentSession(req);
    if (!session) {
      if (signedSession(deps, req)) clearSessionCookie(deps, reply);
      reply.redirect('/login', 303);
    }
    return session;
  }

  /** A write refused for want of a valid session: as sessionOrRedirect answers a signed cookie without one. */
  function endedSession(reply: FastifyReply) {
    clearSessionCookie(deps, reply);
    return reply.redirect('/login', 303);
  }

  /** Renders the form again with the error next to its field, keeping the typed email. */
  function formError(err: unknown, reply: FastifyReply, render: (field: string, message: string) => string) {
    if (!(err instanceof HttpError) || err.code === 'csrf' || err.statusCode >= 500) throw err;
    for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
    return html(reply, render(err.field ?? 'form', err.message), err.statusCode);
  }

  app.get('/', async (req, reply) => reply.redirect((await currentSession(req)) ? '/get' : '/login', 303));

  app.get('/login', async (req, reply) => {
    const session = await headerSession(req);
    return html(reply, loginPage(pageContext(deps, req, reply, session, notice(req))));
  });

  app.post('/login', async (req, reply) => {
    const body = formBody(req.body);
    checkFormCsrf(deps, req, body['_csrf']);
    const typed = typeof body['email'] === 'string' ? body['email'].slice(0, 254) : '';
    try {
      const email = normaliseEmail(body['email']);
      const password = checkPassword(body['password'], false);
      await loginWithCookies(deps, req, reply, email, password);
      return reply.redirect('/get?m=in', 303);
    } catch (err) {
      return formError(err, reply, (field, message) =>
        loginPage(pageContext(deps, req, reply, null), { email: typed, error: { field, message } }),
      );
    }
  });

  app.get('/register', async (req, reply) => {
    const session = await headerSession(req);
    return html(reply, registerPage(pageContext(deps, req, reply, session, notice(req))));
  });

  app.post('/register', async (req, reply) => {
    const body = formBody(req.body);
    checkFormCsrf(deps, req, body['_csrf']);
    const typed = typeof body['email'] === 'string' ? body['email'].slice(0, 254) : '';
    try {
      const email = normaliseEmail(body['email']);
      const password = checkPassword(body['password'], true);
      const gen = await register(deps, email, password, req.ip);
      // The password was just hashed: the new account is logged in without hashing it again.
      const session = await startSession(deps, email, gen, signedSession(deps, req)?.sid);
      setSessionCookie(deps, reply, session.sid, session.email);
      setDeviceCookie(deps, req, reply, email, gen);
      return reply.redirect('/get?m=welcome', 303);
    } catch (err) {
      return formError(err, reply, (field, message) =>
        registerPage(pageContext(deps, req, reply, null), { email: typed, error: { field, message } }),
      );
    }
  });

  app.post('/logout', async (req, reply) => {
    checkFormCsrf(deps, req, formBody(req.body)['_csrf']);
    const signed = signedSession(deps, req);
    if (signed) await deps.sessions.destroy(signed.sid);
    clearSessionCookie(deps, reply);
    return reply.redirect('/login?m=out', 303);
  });

  app.get('/get', async (req, reply) => {
    const signed = signedSession(deps, req);
    const found = signed ? await deps.sessions.loadWithCart(signed.sid, signed.email) : null;
    if (!found?.session) {
      if (signed) clearSessionCookie(deps, reply);
      return reply.redirect(signed ? '/login?m=expired' : '/login', 303);
    }
    const ctx = pageContext(deps, req, reply, found.session, notice(req));
    return html(reply, cartPage(ctx, cartFromHash(found.cart), found.fromReplica));
  });

  app.get('/add', async (req, reply) => {
    const session = await sessionOrRedirect(req, reply);
    if (!session) return reply;
    return html(reply, addPage(pageContext(deps, req, reply, session), await deps.carts.get(session.email)));
  });

  app.post('/add', async (req, reply) => {
    const body = formBody(req.body);
    checkFormCsrf(deps, req, body['_csrf']);
    const signed = signedSession(deps, req);
    let items: Map<string, number> | undefined;
    let invalid: unknown;
    try {
      items = cartItemsFromForm(body);
    } catch (err) {
      invalid = err;
    }
    if (!signed || !items) {
      // Nothing to write: the session is checked on its own, then the form shown with its error.
      const session = await sessionOrRedirect(req, reply);
      if (!session) return reply;
      const cart = await deps.carts.get(session.email);
      return formError(invalid, reply, (field, message) =>
        addPage(pageContext(deps, req, reply, session), cart, { field, message }, body),
      );
    }
    // One function call checks and renews the session and writes.
    if (!(await deps.carts.set(signed.sid, signed.email, items, clientOf(req.raw))))
      return endedSession(reply);
    return reply.redirect('/get?m=saved', 303);
  });

  app.get('/delete', async (req, reply) => {
    const session = await sessionOrRedirect(req, reply);
    if (!session) return reply;
    return html(reply, deletePage(pageContext(deps, req, reply, session)));
  });

  app.post('/delete', async (req, reply) => {
    checkFormCsrf(deps, req, formBody(req.body)['_csrf']);
    const signed = signedSession(deps, req);
    if (!signed) return reply.redirect('/login', 303);
    if (!(await deps.carts.clear(signed.sid, signed.email, clientOf(req.raw)))) return endedSession(reply);
    return reply.redirect('/get?m=emptied', 303);
  });
}
