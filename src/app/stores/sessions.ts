import type { Redis, RedisLayer } from '../../redis/index.ts';
import { keys } from './keys.ts';

export interface Session {
  sid: string;
  email: string;
}

interface StoredSession {
  email: string;
  created: number;
}

function parse(raw: string | null, expectedEmail: string): boolean {
  if (raw === null) return false;
  try {
    const s = JSON.parse(raw) as Partial<StoredSession>;
    return typeof s === 'object' && s !== null && s.email === expectedEmail;
  } catch {
    return false;
  }
}

/**
 * Sessions live in `sess:<id>` as JSON holding identity only; the idle lifetime is renewed by the
 * read itself (GETEX), so a request costs no extra round trip. Where writes are refused (a replica,
 * or a master without replicas) the read is a plain GET: the renewal is skipped, never an error.
 */
export class SessionStore {
  constructor(
    private readonly redis: RedisLayer,
    private readonly ttlSeconds: number,
  ) {}

  private fetch(r: Redis, readOnly: boolean, sid: string): Promise<string | null> {
    const key = keys.session(sid);
    return readOnly ? r.get(key) : r.getex(key, 'EX', this.ttlSeconds);
  }

  /** The session named by a verified cookie, if it still exists and belongs to that email. */
  async load(sid: string, email: string): Promise<{ session: Session | null; fromReplica: boolean }> {
    const { value, fromReplica } = await this.redis.read((r, readOnly) => this.fetch(r, readOnly, sid));
    return { session: parse(value, email) ? { sid, email } : null, fromReplica };
  }

  /** Session and cart in one round trip: both commands leave together on one connection. */
  loadWithCart(
    sid: string,
    email: string,
  ): Promise<{ session: Session | null; cart: Record<string, string>; fromReplica: boolean }> {
    return this.redis
      .read((r, readOnly) => Promise.all([this.fetch(r, readOnly, sid), r.hgetall(keys.cart(email))]))
      .then(({ value, fromReplica }) => {
        const ok = parse(value[0], email);
        return { session: ok ? { sid, email } : null, cart: ok ? value[1] : {}, fromReplica };
      });
  }

  /** Creates a session (replacing `previous`, the id is never reused) once a replica holds it. */
  async create(email: string, sid: string, previous?: string): Promise<Session> {
    const body: StoredSession = { email, created: Date.now() };
    await this.redis.write(async (r) => {
      const m = r.multi().set(keys.session(sid), JSON.stringify(body), 'EX', this.ttlSeconds);
      if (previous) m.del(keys.session(previous));
      const res = await m.exec();
      for (const [err] of res ?? []) if (err) throw err;
    });
    return { sid, email };
  }

  async destroy(sid: string): Promise<void> {
    await this.redis.write((r) => r.del(keys.session(sid)));
  }
}
