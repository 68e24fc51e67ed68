import { randomBytes } from 'node:crypto';
import { callFunction } from '../../ha/functions.ts';
import type { RedisLayer } from '../../ha/index.ts';
import { keys } from '../../ha/keys.ts';
import type { FunctionName } from './functions.ts';
import {
  type LoginLimits,
  type LoginRefusal,
  type RegistrationLimits,
  retryAfterSeconds,
  slowdownDelaysMs,
} from './limit-rules.ts';

export {
  type LoginLimits,
  type LoginRefusal,
  loginRefusalMessage,
  type RegistrationLimits,
  retryAfterSeconds,
  slowdownDelaysMs,
} from './limit-rules.ts';

// A counter that lost its expiry (it never should) would hold forever: it gets the window again.
const LEFT = `
local function left(key, window)
  local ms = redis.call('PTTL', key)
  if ms > 0 then return ms end
  redis.call('EXPIRE', key, window)
  return window * 1000
end`;

// KEYS: pair, address, email, email gate. ARGV: pair max, address max, slowdown threshold, window,
// the attempt's token, then the slowdown waits in ms. Every attempt costs its address, refused or
// not, so waiting for the moment the gate opens is not free; one the address still allows also
// counts for the email. Only an attempt every limit lets through counts for its pair and may
// close the gate (holding its token, so that giving it back opens only its own gate). One atomic
// step: however many arrive at once, at most the limit are ever checked.
export const RESERVE_LOGIN = `${LEFT}
local window = tonumber(ARGV[4])
local address = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], window, 'NX')
local withinAddress = address <= tonumber(ARGV[2])
local email = 0
if withinAddress then
  email = redis.call('INCR', KEYS[3])
  redis.call('EXPIRE', KEYS[3], window, 'NX')
end
if tonumber(redis.call('GET', KEYS[1]) or '0') >= tonumber(ARGV[1]) then return {1, left(KEYS[1], window)} end
if not withinAddress then return {2, left(KEYS[2], window)} end
local gate = redis.call('PTTL', KEYS[4])
if gate > 0 then return {3, gate} end
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], window, 'NX')
local over = email - tonumber(ARGV[3])
if over > 0 then
  redis.call('SET', KEYS[4], ARGV[5], 'PX', ARGV[5 + math.min(over, #ARGV - 5)])
end
return {0, 0}`;

// A browser that logged in to this account before (a device cookie of the account's present
// generation) has a budget of its own, and neither the email's slowdown nor the addresses' limits
// apply: strangers cannot hold it. KEYS: the device's counter, the user. ARGV: the cookie's
// generation, max, window. Returns {0, 0} (counted), {4, ms} (refused, counted), or {5, 0} when
// the cookie is not of this account's life (nothing counted: judged as any other client).
export const RESERVE_DEVICE_LOGIN = `${LEFT}
if redis.call('HGET', KEYS[2], 'gen') ~= ARGV[1] then return {5, 0} end
local window = tonumber(ARGV[3])
local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], window, 'NX')
if n > tonumber(ARGV[2]) then return {4, left(KEYS[1], window)} end
return {0, 0}`;

// A successful login: its pair starts over, and its own attempt no longer counts for the address
// or the email (the failures of others still do). Never creates a counter.
export const LOGIN_SUCCEEDED = `
redis.call('DEL', KEYS[1])
for i = 2, 3 do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
end
return 1`;

// An attempt that was counted but never checked (no hashing slot was free): it gives back what it
// took, and opens the gate only if it closed it itself (ARGV: its token). KEYS as RESERVE_LOGIN.
export const REFUND_LOGIN = `
for i = 1, 3 do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
end
if redis.call('GET', KEYS[4]) == ARGV[1] then redis.call('DEL', KEYS[4]) end
return 1`;

// One counter given back (a device's attempt that was never checked); never below 0.
export const REFUND_ONE = `
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then redis.call('DECR', KEYS[1]) end
return 1`;

// KEYS: the address's counter. ARGV: max, window. Returns 0 (counted) or the ms until it lets go.
export const RESERVE_ONE = `${LEFT}
local window = tonumber(ARGV[2])
if tonumber(redis.call('GET', KEYS[1]) or '0') >= tonumber(ARGV[1]) then return left(KEYS[1], window) end
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], window, 'NX')
return 0`;

const REASONS = ['pair', 'address', 'email', 'device'] as const;

/** One login attempt: the email, the client's address, and the browser's device cookie if it has one. */
export interface LoginAttempt {
  email: string;
  address: string;
  /** From a verified device cookie naming this email: the browser's id and the account's generation then. */
  device?: { id: string; gen: string } | undefined;
}

/** A counted attempt: which budget it was counted in, and its token (to give it back). */
export interface LoginTicket {
  via: 'device' | 'shared';
  token: string;
}

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

  private sharedKeys(a: LoginAttempt): string[] {
    return [
      keys.loginByPair(a.email, a.address),
      keys.loginByIp(a.address),
      keys.loginByEmail(a.email),
      keys.loginGate(a.email),
    ];
  }

  private refusal(code: number, ms: number): LoginRefusal {
    return { reason: REASONS[code - 1]!, waitSeconds: retryAfterSeconds(ms) };
  }

  /**
   * Counts a login attempt: in the browser's own budget when its device cookie is of this
   * account's life, in the shared ones otherwise. A refusal is counted too, and says why and how
   * long to wait.
   */
  async reserveLogin(a: LoginAttempt): Promise<LoginTicket | LoginRefusal> {
    const l = this.login;
    const token = randomBytes(12).toString('base64url');
    if (a.device) {
      const { id, gen } = a.device;
      const [code, ms] = (await this.redis.fastWrite(
        (r) =>
          callFunction<FunctionName>(
            r,
            'reserve_device_login',
            2,
            keys.loginByDevice(a.email, id),
            keys.user(a.email),
            gen,
            l.perDevice,
            l.windowSeconds,
          ) as Promise<[number, number]>,
      )) as [number, number];
      if (code === 0) return { via: 'device', token };
      if (code !== 5) return this.refusal(code, ms);
    }
    const [code, ms] = (await this.redis.fastWrite(
      (r) =>
        callFunction<FunctionName>(
          r,
          'reserve_login',
          4,
          ...this.sharedKeys(a),
          l.perPair,
          l.perAddress,
          l.slowdownAfter,
          l.windowSeconds,
          token,
          ...this.slowdown,
        ) as Promise<[number, number]>,
    )) as [number, number];
    return code === 0 ? { via: 'shared', token } : this.refusal(code, ms);
  }

  /** The attempt succeeded: its own counters start over (the failures of others still count). */
  async loginSucceeded(a: LoginAttempt, ticket: LoginTicket): Promise<void> {
    await this.redis.fastWrite((r) =>
      ticket.via === 'device' && a.device
        ? r.del(keys.loginByDevice(a.email, a.device.id))
        : callFunction<FunctionName>(r, 'login_succeeded', 3, ...this.sharedKeys(a).slice(0, 3)),
    );
  }

  /** The attempt was counted but its password never checked (no hashing slot): it is given back. */
  async refundLogin(a: LoginAttempt, ticket: LoginTicket): Promise<void> {
    await this.redis.fastWrite((r) =>
      ticket.via === 'device' && a.device
        ? callFunction<FunctionName>(r, 'refund_one', 1, keys.loginByDevice(a.email, a.device.id))
        : callFunction<FunctionName>(r, 'refund_login', 4, ...this.sharedKeys(a), ticket.token),
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

/** True for a counted attempt, false for a refusal. */
export const isTicket = (r: LoginTicket | LoginRefusal): r is LoginTicket => 'via' in r;
