import type { ClientGone } from '../../ha/client-scope.ts';
import { fieldsOf } from '../../ha/fields.ts';
import { callFunction } from '../../ha/functions.ts';
import type { RedisLayer } from '../../ha/index.ts';
import { keys } from '../../ha/keys.ts';
import { PRODUCTS } from '../products.ts';
import type { FunctionName } from './functions.ts';

export type Cart = Record<string, number>;

/** Every product of the catalogue with its quantity (0 when absent); unknown fields are ignored. */
export function cartFromHash(hash: Record<string, string>): Cart {
  const cart: Cart = {};
  for (const p of PRODUCTS) {
    const n = Number(hash[p.id] ?? 0);
    cart[p.id] = Number.isInteger(n) && n > 0 ? n : 0;
  }
  return cart;
}

/** How many of `cartCallArgs` are keys. */
export const CART_KEYS = 3;

/** The session's lifetimes, as the cart functions check and renew it. */
export interface SessionLifetimes {
  /** Idle lifetime (s), started again by every write. */
  ttlSeconds: number;
  /** Absolute lifetime (s), counted from the session's creation. */
  maxAgeSeconds: number;
}

/**
 * FCALL's keys (CART_KEYS of them) and arguments of the apps' cart functions (`cart_set_by`,
 * `cart_clear_by`: src/app/stores/cart-functions.ts) for the session `sid` of `email`, sent at
 * `now` and refused by the master after `deadline` (both ms); `items` (cart_set_by) as
 * product/quantity pairs. The bench's reference server sends the same.
 */
export function cartCallArgs(
  sid: string,
  email: string,
  lifetimes: SessionLifetimes,
  now: number,
  deadline: number,
  items?: Map<string, number>,
): (string | number)[] {
  const args: (string | number)[] = [
    keys.session(sid),
    keys.user(email),
    keys.cart(email),
    email,
    lifetimes.ttlSeconds,
    now,
    lifetimes.maxAgeSeconds * 1000,
    deadline,
  ];
  if (items) for (const [id, qty] of items) args.push(id, qty);
  return args;
}

/**
 * The cart is its own hash changed by atomic commands, never a field of the session blob. A write
 * is one function call that also checks the session it is made for (and renews it): one round
 * trip and the shared WAIT.
 */
export class CartStore {
  constructor(
    private readonly redis: RedisLayer,
    private readonly lifetimes: SessionLifetimes = { ttlSeconds: 1800, maxAgeSeconds: 86_400 },
    /** The write's deadline (WRITE_DEADLINE_MS): the layer's and the master's (cart_set_by) are the same. */
    private readonly deadlineMs = 6000,
  ) {}

  /** The function's arguments and the write's deadline, from one reading of the clock. */
  private call(sid: string, email: string, items?: Map<string, number>) {
    const now = Date.now();
    return cartCallArgs(sid, email, this.lifetimes, now, now + this.deadlineMs, items);
  }

  async get(email: string): Promise<Cart> {
    const { value } = await this.redis.read((r) => r.hgetall(keys.cart(email)));
    return cartFromHash(value);
  }

  /**
   * Sets each listed quantity (0 removes the line) if the session `sid` of `email` is valid, and
   * returns the whole cart the write left; null (nothing written) when the session is not valid.
   * Absolute values: safe to run again, but not once the client left (`gone`): a late run would
   * overwrite what the client wrote since (ha/client-scope.ts).
   */
  async set(sid: string, email: string, items: Map<string, number>, gone?: ClientGone): Promise<Cart | null> {
    const args = this.call(sid, email, items);
    const reply = await this.redis.write(
      (r) => callFunction<FunctionName>(r, 'cart_set_by', CART_KEYS, ...args),
      this.deadlineMs,
      gone,
    );
    return reply === null ? null : cartFromHash(fieldsOf(reply));
  }

  /** Empties the cart if the session `sid` of `email` is valid; false (nothing deleted) otherwise. */
  async clear(sid: string, email: string, gone?: ClientGone): Promise<boolean> {
    const args = this.call(sid, email);
    const reply = await this.redis.write(
      (r) => callFunction<FunctionName>(r, 'cart_clear_by', CART_KEYS, ...args),
      this.deadlineMs,
      gone,
    );
    return reply !== null;
  }
}
