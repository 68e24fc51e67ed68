import type { Redis, RedisLayer } from '../../ha/index.ts';
import { keys } from '../../ha/keys.ts';
import { encodeSession, sessionValid } from '../../ha/session.ts';

export interface Session {
  sid: string;
  email: string;
}

/**
 * Sessions live in `sess:<id>` as JSON holding identity only; the idle lifetime is renewed by the
 * read itself (GETEX), so a request costs no extra round trip. Where writes are refused (a replica,
 * or a master without replicas) the read is a plain GET: the renewal is skipped, never an error.
 * The account's generation (`gen` of `user:{email}`) is read beside the session, in the same
 * round trip, so a session dies with its account; the absolute lifetime is checked against the
 * time the session was made.
 */
export class SessionStore {
  private readonly maxAgeMs: number;

  constructor(
    private readonly redis: RedisLayer,
    private readonly ttlSeconds: number,
    maxAgeSeconds: number,
  ) {
    this.maxAgeMs = maxAgeSeconds * 1000;
  }

  private fetch(r: Redis, readOnly: boolean, sid: string): Promise<string | null> {
    const key = keys.session(sid);
    return readOnly ? r.get(key) : r.getex(key, 'EX', this.ttlSeconds);
  }

  /** The session named by a verified cookie, if it still exists and belongs to that email. */
  async load(sid: string, email: string): Promise<{ session: Session | null; fromReplica: boolean }> {
    const { value, fromReplica } = await this.redis.read((r, readOnly) =>
      Promise.all([this.fetch(r, readOnly, sid), r.hget(keys.user(email), 'gen')]),
    );
    const ok = sessionValid(value[0], email, value[1], Date.now(), this.maxAgeMs);
    return { session: ok ? { sid, email } : null, fromReplica };
  }

  /** Session, account generation and cart in one round trip: the commands leave together on one connection. */
  loadWithCart(
    sid: string,
    email: string,
  ): Promise<{ session: Session | null; cart: Record<string, string>; fromReplica: boolean }> {
    return this.redis
      .read((r, readOnly) =>
        Promise.all([
          this.fetch(r, readOnly, sid),
          r.hgetall(keys.cart(email)),
          r.hget(keys.user(email), 'gen'),
        ]),
      )
      .then(({ value, fromReplica }) => {
        const ok = sessionValid(value[0], email, value[2], Date.now(), this.maxAgeMs);
        return { session: ok ? { sid, email } : null, cart: ok ? value[1] : {}, fromReplica };
      });
  }

  /**
   * Creates a session of the account's generation `gen` (replacing `previous`, the id is never
   * reused) once a replica holds it.
   */
  async create(email: string, gen: string, sid: string, previous?: string): Promise<Session> {
    const body = encodeSession({ email, gen, created: Date.now() });
    const ttl = Math.min(this.ttlSeconds, Math.ceil(this.maxAgeMs / 1000));
    await this.redis.write(async (r) => {
      const m = r.multi().set(keys.session(sid), body, 'EX', ttl);
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
