import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { HttpError } from '../errors.ts';
import { definePlugin } from '../plugin.ts';

/** The one user of HAProxy's operator front. */
export const OPERATOR_USER = 'operator';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * Who may see the operator's views (topology, its stream, metrics). HAProxy's public front already
 * answers them 404 and its operator front asks for the operator's password; the app checks that
 * same password again from the Authorization header the operator front passes on, because a
 * marker header set by HAProxy would be believed from anyone who reaches the app's port directly
 * (every local user in local mode, every container on the network in compose). Without a password
 * configured (a dashboard turned on without one, or an app without the dashboard, whose /metrics
 * is then the only such view) the views stay open.
 *
 * Returns the check for a route's `onRequest`: a request without the password gets the 404 the
 * public front gives, so neither tells that the route exists.
 */
export function operatorOnly(password: string | undefined, previous?: string | undefined) {
  const isOperator = operatorCheck(password, previous);
  return (req: FastifyRequest, _reply: unknown, done: (err?: Error) => void): void => {
    const path = req.url.split('?')[0]!.slice(0, 100);
    if (isOperator(req)) done();
    else done(new HttpError(404, 'not_found', `no route for ${req.method} ${path}`));
  };
}

/** True when a request may see the operator's views (always, without a password configured). */
export function operatorCheck(password: string | undefined, previous?: string | undefined) {
  const expected = [password, password === undefined ? undefined : previous]
    .filter((p) => p !== undefined)
    .map((p) => digest(`${OPERATOR_USER}:${p}`));
  return (req: FastifyRequest): boolean =>
    expected.length === 0 || carriesOperator(req.headers.authorization, expected);
}

/** Basic auth as the operator with the password or, during a rotation, the previous one. */
function carriesOperator(header: string | undefined, expected: Buffer[]): boolean {
  const m = /^Basic +([A-Za-z0-9+/=]{1,512})$/i.exec(header ?? '');
  if (!m) return false;
  const given = digest(Buffer.from(m[1]!, 'base64').toString('utf8'));
  // Digests compared in constant time, each of them: neither a password nor its length shows in the timing.
  let ok = false;
  for (const e of expected) ok = timingSafeEqual(given, e) || ok;
  return ok;
}

type OperatorCheck = ReturnType<typeof operatorOnly>;

declare module 'fastify' {
  interface FastifyInstance {
    /** The `onRequest` check of the operator's routes (/metrics, the dashboard's). */
    operatorOnly: OperatorCheck;
    /** Whether a request carries the operator's password (see operatorCheck), for answers with more detail. */
    isOperator: (req: FastifyRequest) => boolean;
  }
}

export interface OperatorAccessOptions {
  /** The operator's password and the one before it; none without the dashboard. */
  password?: string | undefined;
  previousPassword?: string | undefined;
}

/** Who may see the operator's views, as the decorator `operatorOnly`; registered before any of them. */
export const operatorAccess = definePlugin<OperatorAccessOptions>(
  async (app, opts) => {
    app.decorate('operatorOnly', operatorOnly(opts.password, opts.previousPassword));
    app.decorate('isOperator', operatorCheck(opts.password, opts.previousPassword));
  },
  { name: 'operator-access' },
);
