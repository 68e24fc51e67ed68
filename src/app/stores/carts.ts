import type { Redis } from 'ioredis';
import type { RedisLayer } from '../../ha/index.ts';
import { keys } from '../../ha/keys.ts';
import { PRODUCTS } from '../products.ts';

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

/** The cart is its own hash changed by atomic commands, never a field of the session blob. */
export class CartStore {
  constructor(private readonly redis: RedisLayer) {}

  async get(email: string): Promise<Cart> {
    const { value } = await this.redis.read((r) => r.hgetall(keys.cart(email)));
    return cartFromHash(value);
  }

  /** Sets each listed quantity (0 removes the line) in one transaction; absolute values, safe to retry. */
  async set(email: string, items: Map<string, number>): Promise<void> {
    await this.redis.write((r) => this.transaction(r, email, items, false));
  }

  /**
   * `set`, and the whole cart as the same transaction left it (read inside the MULTI: one round
   * trip less than a read after it, and never another node's older copy).
   */
  async setAndRead(email: string, items: Map<string, number>): Promise<Cart> {
    return cartFromHash(await this.redis.write((r) => this.transaction(r, email, items, true)));
  }

  private async transaction(
    r: Redis,
    email: string,
    items: Map<string, number>,
    readBack: boolean,
  ): Promise<Record<string, string>> {
    const key = keys.cart(email);
    const put: string[] = [];
    const remove: string[] = [];
    for (const [id, qty] of items) {
      if (qty > 0) put.push(id, String(qty));
      else remove.push(id);
    }
    const m = r.multi();
    if (put.length) m.hset(key, ...put);
    if (remove.length) m.hdel(key, ...remove);
    if (readBack) m.hgetall(key);
    const res = (await m.exec()) ?? [];
    for (const [err] of res) if (err) throw err;
    return readBack ? (res[res.length - 1]![1] as Record<string, string>) : {};
  }

  async clear(email: string): Promise<void> {
    await this.redis.write((r) => r.del(keys.cart(email)));
  }
}
