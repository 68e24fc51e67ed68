import { randomBytes } from 'node:crypto';

/**
 * The session record stored under `keys.session(sid)`: identity only, as JSON. The app's session
 * store, the bench's ceiling servers and its fill all write and read it through these functions.
 */
export interface SessionRecord {
  email: string;
  /** The generation of the account when the session was made (`gen` of its `user:{email}` hash). */
  gen: string;
  /** When the session was made (ms since the epoch): the absolute lifetime counts from it. */
  created: number;
}

export function encodeSession(s: SessionRecord): string {
  return JSON.stringify({ email: s.email, gen: s.gen, created: s.created });
}

/** The record, or null for anything that is not one (a session made before generations existed among them). */
export function decodeSession(raw: string | null): SessionRecord | null {
  if (raw === null) return null;
  try {
    const s = JSON.parse(raw) as Partial<SessionRecord> | null;
    return typeof s === 'object' &&
      s !== null &&
      typeof s.email === 'string' &&
      typeof s.gen === 'string' &&
      typeof s.created === 'number'
      ? { email: s.email, gen: s.gen, created: s.created }
      : null;
  } catch {
    return null;
  }
}

/**
 * True when a stored session belongs to `email`, to the account's current generation `gen` (null:
 * the account is gone) and is younger than `maxAgeMs`. A session without a generation (made before
 * sessions had one) is refused: its user logs in again.
 */
export function sessionValid(
  raw: string | null,
  email: string,
  gen: string | null,
  now: number,
  maxAgeMs: number,
): boolean {
  const s = decodeSession(raw);
  return s !== null && gen !== null && s.email === email && s.gen === gen && now - s.created < maxAgeMs;
}

/**
 * A random id of one life of an account: set when it is created, so that an account deleted and
 * registered again has another one, and the sessions of the old one no longer load.
 */
export function newGeneration(): string {
  return randomBytes(12).toString('base64url');
}
