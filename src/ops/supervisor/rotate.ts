import { randomBytes } from 'node:crypto';

/** The secrets `ha-stack rotate` replaces on a running local stack without downtime (rotation.ts). */
export const ROTATABLE_SECRETS = [
  'session-secret',
  'operator-password',
  'sentinel-password',
  'redis-app-password',
  'redis-replication-password',
  'redis-sentinel-password',
  'redis-operator-password',
  'redis-haproxy-password',
] as const;
export type RotatableSecret = (typeof ROTATABLE_SECRETS)[number];

export function isRotatableSecret(name: unknown): name is RotatableSecret {
  return typeof name === 'string' && (ROTATABLE_SECRETS as readonly string[]).includes(name);
}

/** What `ha-stack rotate` replaces: a secret, or every certificate and the CA (rotate-certs.ts). */
export const CERTIFICATES = 'certificates';
export type Rotatable = RotatableSecret | typeof CERTIFICATES;
export const ROTATABLE: readonly Rotatable[] = [...ROTATABLE_SECRETS, CERTIFICATES];

export function isRotatable(name: unknown): name is Rotatable {
  return name === CERTIFICATES || isRotatableSecret(name);
}

/** What a rotation did. */
export interface RotateResult {
  secret: Rotatable;
  /** Each process restarted, in order (apps one at a time, each drained first; Sentinels one at a time). */
  restarted: string[];
  /** The processes told the new secret without a restart (Redis nodes, Sentinels, HAProxy). */
  nodes: string[];
  /** Where every old password (or a certificate of the old CA) was tried and refused. */
  refusedOn: string[];
  /** Passwords an earlier, unfinished rotation had left accepted, refused now too. */
  earlier: number;
  ms: number;
  /** Certificates: the SHA-256 fingerprints of the CA before and after. */
  ca?: { old: string; new: string };
}

/** The files of the session secrets in the run directory (0600). */
export const SESSION_SECRET_FILE = 'session.secret';
export const SESSION_SECRET_PREVIOUS_FILE = 'session.secret.previous';

/** A new random secret, as the run directory's generated ones. */
export function newSecret(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}
