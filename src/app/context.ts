import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppConfig } from '../config/index.ts';
import type { RedisLayer } from '../ha/index.ts';
import { HttpError } from './errors.ts';
import type { Metrics } from './metrics.ts';
import type { HashSlots } from './security/hash-slots.ts';
import {
  DEVICE_COOKIE_MAX_AGE_SECONDS,
  parseCookies,
  serializeCookie,
  type Tokens,
} from './security/tokens.ts';
import type { CartStore } from './stores/carts.ts';
import type { AttemptLimiter } from './stores/limits.ts';
import type { SessionStore } from './stores/sessions.ts';
import type { UserStore } from './stores/users.ts';
import type { PageContext } from './views/html.ts';

/** Everything a route needs, built once per process. */
export interface Deps {
  config: AppConfig;
  redis: RedisLayer;
  tokens: Tokens;
  /** Names of the session and anonymous CSRF cookies (`__Host-` prefixed when they are Secure). */
  cookies: { session: string; anon: string; device: string };
  sessions: SessionStore;
  users: UserStore;
  carts: CartStore;
  limiter: AttemptLimiter;
  hashes: HashSlots;
  metrics: Metrics;
  state: { draining: boolean };
}

const cookiesOf = (req: FastifyRequest) => parseCookies(req.headers.cookie);

/** The session id and email named by a correctly signed cookie; not yet checked against Redis. */
export function signedSession(deps: Deps, req: FastifyRequest) {
  return deps.tokens.readSessionCookie(cookiesOf(req).get(deps.cookies.session));
}

export function setSessionCookie(deps: Deps, reply: FastifyReply, sid: string, email: string): void {
  reply.header(
    'set-cookie',
    serializeCookie(deps.cookies.session, deps.tokens.sessionCookie(sid, email), {
      secure: deps.config.cookieSecure,
    }),
  );
}

/**
 * The browser's device cookie when it is correctly signed and names `email`: the browser logged in
 * to that account before. Whether the account is still of that generation is for the limiter.
 */
export function deviceFor(deps: Deps, req: FastifyRequest, email: string) {
  const d = deps.tokens.readDeviceCookie(cookiesOf(req).get(deps.cookies.device));
  return d && d.email === email ? { id: d.id, gen: d.gen } : undefined;
}

/**
 * After a successful login: the device cookie for this account (the browser's id kept when it has
 * one), long-lived and HttpOnly, so that its next logins are judged by a budget of their own.
 */
export function setDeviceCookie(
  deps: Deps,
  req: FastifyRequest,
  reply: FastifyReply,
  email: string,
  gen: string,
) {
  const known = deps.tokens.readDeviceCookie(cookiesOf(req).get(deps.cookies.device));
  const value = deps.tokens.deviceCookie(known?.id ?? deps.tokens.newId(), email, gen);
  reply.header(
    'set-cookie',
    serializeCookie(deps.cookies.device, value, {
      secure: deps.config.cookieSecure,
      maxAge: DEVICE_COOKIE_MAX_AGE_SECONDS,
    }),
  );
}

export function clearSessionCookie(deps: Deps, reply: FastifyReply): void {
  reply.header(
    'set-cookie',
    serializeCookie(deps.cookies.session, '', { secure: deps.config.cookieSecure, maxAge: 0 }),
  );
}

/** The anonymous CSRF nonce, set on the reply when the browser has none yet. */
function anonNonce(deps: Deps, req: FastifyRequest, reply: FastifyReply): string {
  const existing = deps.tokens.readAnonCookie(cookiesOf(req).get(deps.cookies.anon));
  if (existing) return existing;
  const nonce = deps.tokens.newId();
  reply.header(
    'set-cookie',
    serializeCookie(deps.cookies.anon, deps.tokens.anonCookie(nonce), { secure: deps.config.cookieSecure }),
  );
  return nonce;
}

export function pageContext(
  deps: Deps,
  req: FastifyRequest,
  reply: FastifyReply,
  session: { sid: string; email: string } | null,
  notice?: string,
): PageContext {
  // The token that checkFormCsrf will ask for: the session's whenever a signed session cookie is
  // there (even one whose session has ended), the anonymous nonce's only without one.
  const sid = session?.sid ?? signedSession(deps, req)?.sid;
  const csrf = sid
    ? deps.tokens.csrfFor('session', sid)
    : deps.tokens.csrfFor('anon', anonNonce(deps, req, reply));
  return {
    instance: deps.config.instanceId,
    email: session?.email ?? null,
    csrf,
    notice,
    path: req.url.split('?')[0],
  };
}

/**
 * A form post must carry the token of the browser's session when it has a session cookie, and
 * that of its anonymous nonce only when it has none: a token obtained anonymously (by anyone) is
 * worth nothing on a logged-in browser.
 */
export function checkFormCsrf(deps: Deps, req: FastifyRequest, token: unknown): void {
  const cookies = cookiesOf(req);
  const signed = deps.tokens.readSessionCookie(cookies.get(deps.cookies.session));
  const ok = signed
    ? deps.tokens.checkCsrf(token, 'session', signed.sid)
    : deps.tokens.checkCsrf(token, 'anon', deps.tokens.readAnonCookie(cookies.get(deps.cookies.anon)));
  if (!ok)
    throw new HttpError(
      403,
      'csrf',
      'the form is missing a valid CSRF token; reload the page and try again',
      '_csrf',
    );
}

/** An API call that carries the session cookie must also carry its token in X-CSRF-Token. */
export function checkApiCsrf(deps: Deps, req: FastifyRequest): void {
  const signed = signedSession(deps, req);
  if (!signed) return;
  if (!deps.tokens.checkCsrf(req.headers['x-csrf-token'], 'session', signed.sid)) {
    throw new HttpError(403, 'csrf', 'X-CSRF-Token header missing or wrong for this session', 'x-csrf-token');
  }
}

/** Body of a form post as a plain record of fields (an object made by the form parser). */
export function formBody(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'invalid_input', 'expected a form body', 'body');
  }
  return body as Record<string, unknown>;
}
