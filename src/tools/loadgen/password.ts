import { randomBytes } from 'node:crypto';

/**
 * The password of an account a test tool (chaos, soak, bench) creates: random for each account
 * and kept in memory only, so nobody who reads the tool's code or the emails it uses can log in
 * as one of its accounts.
 */
export function accountPassword(): string {
  return randomBytes(18).toString('base64url');
}
