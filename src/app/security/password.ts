import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';
import type { BackgroundScrypt } from './background-scrypt.ts';

const KEY_LENGTH = 32;

function derive(password: string, salt: Buffer, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // Runs on libuv's thread pool: the event loop keeps serving while a hash is computed.
    scrypt(password, salt, KEY_LENGTH, { ...opts, maxmem: 256 * opts.N! * opts.r! }, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/**
 * `scrypt$N$r$p$<salt>$<hash>`: the parameters travel with the hash so the cost can change later.
 * With `background`, computed at lowered priority (a registration's hash may wait; a login's not).
 */
export async function hashPassword(
  password: string,
  cost: number,
  background?: BackgroundScrypt,
): Promise<string> {
  const salt = randomBytes(16);
  const opts = { N: cost, r: 8, p: 1 };
  const key = background
    ? await background.derive(password, salt, KEY_LENGTH, opts)
    : await derive(password, salt, opts);
  return ['scrypt', cost, 8, 1, salt.toString('base64url'), key.toString('base64url')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = [Number(parts[1]), Number(parts[2]), Number(parts[3])];
  if (![N, r, p].every((n) => Number.isInteger(n) && n > 0)) return false;
  const expected = Buffer.from(parts[5]!, 'base64url');
  const key = await derive(password, Buffer.from(parts[4]!, 'base64url'), { N, r, p });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

let dummy: Promise<string> | undefined;

/** Spends the same time as a real check, so a missing account is not revealed by a faster answer. */
export async function verifyAgainstDummy(password: string, cost: number): Promise<false> {
  dummy ??= hashPassword('dummy-password-for-timing', cost);
  await verifyPassword(password, await dummy);
  return false;
}
