import { randomBytes } from 'node:crypto';
import type { RedisNode } from '../topology.ts';
import { type RedisLogin, withRedis } from './probes.ts';

/** The secrets `ha-stack rotate` replaces on a running local stack without downtime. */
export const ROTATABLE_SECRETS = ['session-secret', 'redis-app-password'] as const;
export type RotatableSecret = (typeof ROTATABLE_SECRETS)[number];

export function isRotatableSecret(name: unknown): name is RotatableSecret {
  return typeof name === 'string' && (ROTATABLE_SECRETS as readonly string[]).includes(name);
}

/** What a rotation did. */
export interface RotateResult {
  secret: RotatableSecret;
  /** Each app instance restarted, in order (one at a time, each drained first). */
  restarted: string[];
  /** The Redis nodes whose ACL user `app` was changed (the running ones). */
  nodes: string[];
  ms: number;
}

/** The files of the session secrets in the run directory (0600). */
export const SESSION_SECRET_FILE = 'session.secret';
export const SESSION_SECRET_PREVIOUS_FILE = 'session.secret.previous';

/** A new random secret, as the run directory's generated ones. */
export function newSecret(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * `ACL SETUSER app <rules>` on each node, as the operator user. ACL changes are not replicated, so
 * every node is told; the first that refuses or does not answer fails the whole call.
 */
export async function setAppUser(nodes: RedisNode[], login: RedisLogin, rules: string[]): Promise<void> {
  for (const n of nodes) {
    try {
      await withRedis(n.host, n.port, login, (r) => r.call('ACL', 'SETUSER', 'app', ...rules), 3000);
    } catch (err) {
      throw new Error(`ACL SETUSER app on ${n.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
