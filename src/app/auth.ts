import type { FastifyReply, FastifyRequest } from 'fastify';
import { newGeneration } from '../ha/session.ts';
import { type Deps, deviceFor, setDeviceCookie, setSessionCookie, signedSession } from './context.ts';
import { HttpError } from './errors.ts';
import { inSlot, type Release } from './security/hash-slots.ts';
import { hashPassword, verifyAgainstDummy, verifyPassword } from './security/password.ts';
import { isTicket, type LoginAttempt, loginRefusalMessage } from './stores/limits.ts';
import type { Session } from './stores/sessions.ts';

const busy = (what: string) =>
  new HttpError(503, 'busy', `too many ${what} at once; try again in a second`, undefined, {
    'retry-after': '1',
  });

const giveBack = (slot: Promise<Release>) => void slot.then((release) => release());

/**
 * Creates the account (atomic: of two concurrent registrations one wins) and returns its
 * generation. Refused at once, before anything is counted, when this instance hashes too many
 * passwords already; refused when the address registered too often.
 */
export async function register(
  deps: Deps,
  email: string,
  password: string,
  clientIp: string,
): Promise<string> {
  const slot = deps.hashes.registration();
  if (!slot) {
    deps.metrics.registrationRefused('busy');
    throw busy('registrations');
  }
  let wait: number;
  try {
    wait = await deps.limiter.reserveRegistration(clientIp);
  } catch (err) {
    giveBack(slot);
    throw err;
  }
  if (wait > 0) {
    giveBack(slot);
    deps.metrics.registrationRefused('address');
    throw new HttpError(
      429,
      'too_many_registrations',
      `too many accounts registered from your address: wait ${wait} s and try again`,
      'email',
      { 'retry-after': String(wait) },
    );
  }
  const hash = await inSlot(slot, () =>
    hashPassword(password, deps.config.scryptCost, deps.hashes.background),
  );
  const gen = newGeneration();
  if (!(await deps.users.create(email, hash, gen))) {
    throw new HttpError(409, 'email_taken', 'this email is already registered', 'email');
  }
  return gen;
}

/** A new session of the account (the previous one of this browser deleted), once a replica holds it. */
export async function startSession(deps: Deps, email: string, gen: string, previousSid?: string) {
  const session = await deps.sessions.create(email, gen, deps.tokens.newId(), previousSid);
  deps.metrics.count('sessionsCreated');
  return session;
}

/**
 * Checks the password and opens a new session. The attempt is counted before the password is
 * checked, so concurrent attempts cannot pass the limits: in the browser's own budget when its
 * device cookie (`device`) is of this account, in the shared ones (per email and address, per
 * address, per email) otherwise. A success gives its own attempt back, and so does an attempt
 * refused for want of a hashing slot (503): it was never checked.
 */
export async function login(
  deps: Deps,
  email: string,
  password: string,
  clientIp: string,
  previousSid?: string,
  device?: LoginAttempt['device'],
): Promise<Session & { gen: string }> {
  const attempt: LoginAttempt = { email, address: clientIp, device };
  const reserved = await deps.limiter.reserveLogin(attempt);
  if (!isTicket(reserved)) {
    deps.metrics.loginRefused(reserved.reason);
    throw new HttpError(429, 'too_many_attempts', loginRefusalMessage(reserved), 'email', {
      'retry-after': String(reserved.waitSeconds),
    });
  }
  const account = await deps.users.account(email);
  const slot = deps.hashes.login();
  if (!slot) {
    // Losing the refund costs one attempt of the window, never more than before.
    await deps.limiter.refundLogin(attempt, reserved).catch(() => undefined);
    throw busy('logins');
  }
  const ok = await inSlot(slot, () =>
    account
      ? verifyPassword(password, account.passwordHash)
      : verifyAgainstDummy(password, deps.config.scryptCost),
  );
  deps.metrics.count('passwordChecks');
  const gen = ok ? (account?.gen ?? (await deps.users.ensureGeneration(email))) : null;
  if (!gen) throw new HttpError(401, 'bad_credentials', 'wrong email or password', 'password');
  const [session] = await Promise.all([
    startSession(deps, email, gen, previousSid),
    // Losing the refund costs the owner one attempt of the window, never the login.
    deps.limiter.loginSucceeded(attempt, reserved).catch(() => undefined),
  ]);
  return { ...session, gen };
}

/**
 * A login from a request (the API's and the form's): replaces the browser's session, if any, and
 * sets the session and device cookies on the reply.
 */
export async function loginWithCookies(
  deps: Deps,
  req: FastifyRequest,
  reply: FastifyReply,
  email: string,
  password: string,
): Promise<Session> {
  const session = await login(
    deps,
    email,
    password,
    req.ip,
    signedSession(deps, req)?.sid,
    deviceFor(deps, req, email),
  );
  setSessionCookie(deps, reply, session.sid, session.email);
  setDeviceCookie(deps, req, reply, email, session.gen);
  return session;
}
