import { callFunction } from '../../ha/functions.ts';
import type { RedisLayer } from '../../ha/index.ts';
import { keys } from '../../ha/keys.ts';
import type { FunctionName } from './functions.ts';

export interface LoginLimits {
  /** Attempts for one email from one address (the hard limit: 429 until the window ends). */
  perPair: number;
  /** Attempts from one address, whatever the email. */
  perAddress: number;
  /** Attempts for one email from all addresses before each further one waits longer. */
  slowdownAfter: number;
  slowdownMaxSeconds: number;
  windowSeconds: number;
}

export interface RegistrationLimits {
  perAddress: number;
  windowSeconds: number;
}

export type LoginRefusal = { reason: 'pair' | 'address' | 'email'; waitSeconds: number };

/** Whole seconds until a counter with `ms` left lets go again: never 0 while it still holds. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/** Waits after the slowdown threshold: 1 s, 2 s, 4 s... up to `maxSeconds`, the last one repeated. */
export function slowdownDelaysMs(maxSeconds: number): number[] {
  const out: number[] = [];
  for (let ms = 1000; ms < maxSeconds * 1000; ms *= 2) out.push(ms);
  out.push(maxSeconds * 1000);
  return out;
}

/** What a refused login is told: why, and what to do. */
export function loginRefusalMessage(r: LoginRefusal): string {
  const wait = `wait ${r.waitSeconds} s and try again`;
  switch (r.reason) {
    case 'pair':
      return `too many failed logins for this email from your address: ${wait}, checking the email and password`;
    case 'address':
      return `too many failed logins from your address: ${wait}`;
    case 'email':
      return `this account has had many failed logins from elsewhere, so each attempt must wait a while: ${wait}`;
  }
}

// A counter that lost its expiry (it never should) would hold forever: it gets the window again.
const LEFT = `
local function left(key, window)
  local ms = redis.call('PTTL', key)
  if ms > 0 then return ms end
  redis.call('EXPIRE', key, window)
  return window * 1000
end`;

// KEYS: pair, address, email, email gate. ARGV: pair max, address max, slowdown threshold, window,
// then the slowdown waits in ms. The attempt is counted only when every limit lets it through, in
// one atomic step: however many arrive at once, at most the limit are ever checked.
export const RESERVE_LOGIN = `${LEFT}
local window = tonumber(ARGV[4])
if tonumber(redis.call('GET', KEYS[1]) or '0') >= tonumber(ARGV[1]) then return {1, left(KEYS[1], window)} end
if tonumber(redis.call('GET', KEYS[2]) or '0') >= tonumber(ARGV[2]) then return {2, left(KEYS[2], window)} end
local gate = redis.call('PTTL', KEYS[4])
if gate > 0 then return {3, gate} end
for i = 1, 3 do
  redis.call('INCR', KEYS[i])
  redis.call('EXPIRE', KEYS[i], window, 'NX')
end
local over = tonumber(redis.call('GET', KEYS[3])) - tonumber(ARGV[3])
if over > 0 then
  redis.call('SET', KEYS[4], '1', 'PX', ARGV[4 + math.min(over, #ARGV - 4)])
end
return {0, 0}`;

// A successful login: its pair starts over, and its own attempt no longer counts for the address
// or the email (the failures of others still do). Never creates a counter.
export const LOGIN_SUCCEEDED = `
redis.call('DEL', KEYS[1])
for i = 2, 3 do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
end
return 1`;

// KEYS: the address's counter. ARGV: max, window. Returns 0 (counted) or the ms until it lets go.
export const RESERVE_ONE = `${LEFT}
local window = tonumber(ARGV[2])
if tonumber(redis.call('GET', KEYS[1]) or '0') >= tonumber(ARGV[1]) then return left(KEYS[1], window) end
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], window, 'NX')
return 0`;

const REASONS = ['pair', 'address', 'email'] as const;

/**
 * Login and registration attempts counted in Redis, so every app instance sees the same counts.
 * An attempt is reserved before its password is hashed, atomically and in one round trip. These
 * counters need no replica confirmation: one lost in a failover grants one more attempt.
 */
export class AttemptLimiter {
  private readonly slowdown: string[];

  constructor(
    private readonly redis: RedisLayer,
    private readonly login: LoginLimits,
    private readonly registration: RegistrationLimits,
  ) {
    this.slowdown = slowdownDelaysMs(login.slowdownMaxSeconds).map(String);
  }

  private loginKeys(email: string, address: string): string[] {
    return [
      keys.loginByPair(email, address),
      keys.loginByIp(address),
      keys.loginByEmail(email),
      keys.loginGate(email),
    ];
  }

  /** Counts a login attempt, or says why it must wait (and for how long) without counting it. */
  async reserveLogin(email: string, address: string): Promise<LoginRefusal | null> {
    const l = this.login;
    const [code, ms] = (await this.redis.fastWrite(
      (r) =>
        callFunction<FunctionName>(
          r,
          'reserve_login',
          4,
          ...this.loginKeys(email, address),
          l.perPair,
          l.perAddress,
          l.slowdownAfter,
          l.windowSeconds,
          ...this.slowdown,
        ) as Promise<[number, number]>,
    )) as [number, number];
    if (code === 0) return null;
    return { reason: REASONS[code - 1]!, waitSeconds: retryAfterSeconds(ms) };
  }

  async loginSucceeded(email: string, address: string): Promise<void> {
    await this.redis.fastWrite((r) =>
      callFunction<FunctionName>(r, 'login_succeeded', 3, ...this.loginKeys(email, address).slice(0, 3)),
    );
  }

  /** Counts a registration from `address`; returns 0, or the seconds until the address may register again. */
  async reserveRegistration(address: string): Promise<number> {
    const g = this.registration;
    const ms = (await this.redis.fastWrite(
      (r) =>
        callFunction<FunctionName>(
          r,
          'reserve_one',
          1,
          keys.registerByIp(address),
          g.perAddress,
          g.windowSeconds,
        ) as Promise<number>,
    )) as number;
    return ms > 0 ? retryAfterSeconds(ms) : 0;
  }
}
