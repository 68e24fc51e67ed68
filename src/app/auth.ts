import type { Deps } from './context.ts';
import { HttpError } from './errors.ts';
import { hashPassword, verifyAgainstDummy, verifyPassword } from './security/password.ts';
import { keys } from './stores/keys.ts';
import type { Session } from './stores/sessions.ts';

/** Creates the account; a taken email is a 409 (atomic: of two concurrent registrations one wins). */
export async function register(deps: Deps, email: string, password: string): Promise<void> {
  const hash = await hashPassword(password, deps.config.scryptCost);
  if (!(await deps.users.create(email, hash))) {
    throw new HttpError(409, 'email_taken', 'this email is already registered', 'email');
  }
}

/** Checks the password under the per-email and per-address limits and opens a new session. */
export async function login(
  deps: Deps,
  email: string,
  password: string,
  clientIp: string,
  previousSid?: string,
): Promise<Session> {
  const rules = [
    { key: keys.loginByEmail(email), max: deps.config.loginLimitPerEmail },
    { key: keys.loginByIp(clientIp), max: deps.config.loginLimitPerIp },
  ];
  const wait = await deps.limiter.blockedFor(rules);
  if (wait > 0) {
    throw new HttpError(429, 'too_many_attempts', `too many failed logins; try again in ${wait} s`, 'email', {
      'retry-after': String(wait),
    });
  }
  const stored = await deps.users.passwordHash(email);
  const ok = stored
    ? await verifyPassword(password, stored)
    : await verifyAgainstDummy(password, deps.config.scryptCost);
  if (!ok) {
    await deps.limiter.recordFailure(rules);
    throw new HttpError(401, 'bad_credentials', 'wrong email or password', 'password');
  }
  const session = await deps.sessions.create(email, deps.tokens.newId(), previousSid);
  deps.metrics.sessionsCreated++;
  await deps.limiter.reset(rules[0]!.key);
  return session;
}
