import { sessionCookie, type UserAgent } from './http.ts';

/** How a user reaches the app: HTML pages and forms like a person, or the JSON API like a program. */
export type Surface = 'page' | 'api';

/**
 * One logged-in user of the load, on a connection of its own. Values only grow, so a read that
 * shows less than what was acknowledged is a stale read, and the checker can tell a lost write.
 */
export interface LoadUser {
  surface: Surface;
  /** Product ids of the catalogue, as the app serves them. */
  products: string[];
  email: string;
  password: string;
  client: UserAgent;
  /** The session's CSRF token: from the page's forms (page users) or from the login answer (API users). */
  csrf: string;
  /** Next value to write per product. */
  next: Map<string, number>;
  /** Last acknowledged value per product. */
  acked: Map<string, number>;
  /** Values sent but not acknowledged (failed, timed out): the store may hold them. */
  unacked: Map<string, Set<number>>;
}

/** Quantities stop at MAX_QUANTITY (99). */
export const MAX_QUANTITY = 99;

/** The session id in the user's signed session cookie (`<sid>.<email>.<mac>`). */
export function sessionId(user: Pick<LoadUser, 'client'>): string | undefined {
  return sessionCookie(user.client.cookies)?.split('.')[0] || undefined;
}

/** A user whose every product reached the maximum has nothing left to write. */
export function exhausted(user: LoadUser): boolean {
  return [...user.next.values()].every((v) => v > MAX_QUANTITY);
}

/** The value last sent for a product (what the user believes the cart holds). */
export function lastSent(user: LoadUser, product: string): number {
  return Math.min(MAX_QUANTITY, (user.next.get(product) ?? 1) - 1);
}

export function markUnacked(user: LoadUser, product: string, value: number): void {
  const set = user.unacked.get(product) ?? new Set<number>();
  set.add(value);
  user.unacked.set(product, set);
}
