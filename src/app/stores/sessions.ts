import { callFunction } from '../../ha/functions.ts';
import { classify, type Redis, type RedisLayer, refusesWrites } from '../../ha/index.ts';
import { keys } from '../../ha/keys.ts';
import { encodeSession, sessionValid } from '../../ha/session.ts';
import type { FunctionName } from './functions.ts';

// KEYS: the new session, the account's index of sessions (a hash: id -> creation time in ms), and
// the browser's previous session when it has one. ARGV: the body, the idle lifetime (s), the new
// id, the previous id ('' for none), now (ms), the cap, the index's lifetime (s), the prefix of
// session keys. Sessions that ended by themselves leave the index; past the cap the oldest are
// ended. Returns how many were ended. (Hash commands only: the app's Redis user has no others.)
export const CREATE_SESSION = `
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
if #KEYS > 2 then
  redis.call('DEL', KEYS[3])
  redis.call('HDEL', KEYS[2], ARGV[4])
end
redis.call('HSET', KEYS[2], ARGV[3], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[7])
local live = {}
local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all, 2 do
  if redis.call('EXISTS', ARGV[8] .. all[i]) == 1 then
    live[#live + 1] = {all[i], tonumber(all[i + 1]) or 0}
  else
    redis.call('HDEL', KEYS[2], all[i])
  end
end
local over = #live - tonumber(ARGV[6])
if over <= 0 then return 0 end
table.sort(live, function(a, b) return a[2] < b[2] end)
for i = 1, over do
  redis.call('DEL', ARGV[8] .. live[i][1])
  redis.call('HDEL', KEYS[2], live[i][1])
end
return over`;

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
    /** Live sessions one account may hold: a new one beyond it ends the oldest. */
    private readonly perAccount = 10,
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
    let ok = sessionValid(value[0], email, value[1], Date.now(), this.maxAgeMs);
    if (!ok && fromReplica) ok = (await this.onMaster(sid, email, false)).ok;
    return { session: ok ? { sid, email } : null, fromReplica };
  }

  /**
   * A replica's "no such session" is not an answer: it may lag the session's own creation (WAIT
   * waits for one replica, not every one), or be a node just restarted from an old state. Believing
   * it would clear the cookie of a user whose session is safe on the master. So the master is asked,
   * waiting for one as a write does (bounded: then 503 with Retry-After, the cookie kept). The
   * session is read with its renewal, a write: a node that answers READONLY is no master (the
   * connection reached a replica before it moved on), and the write layer asks again; a master that
   * refuses writes (no replicas) is read without it.
   */
  private onMaster(
    sid: string,
    email: string,
    withCart: boolean,
  ): Promise<{ ok: boolean; cart: Record<string, string> }> {
    return this.redis.fastWrite(async (r) => {
      const [body, gen, cart] = await Promise.all([
        this.fetch(r, false, sid).catch((err: unknown) => {
          if (classify(err) === 'read-only' || !refusesWrites(err)) throw err;
          return this.fetch(r, true, sid);
        }),
        r.hget(keys.user(email), 'gen'),
        withCart ? r.hgetall(keys.cart(email)) : Promise.resolve({}),
      ]);
      return { ok: sessionValid(body, email, gen, Date.now(), this.maxAgeMs), cart };
    });
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
      .then(async ({ value, fromReplica }) => {
        const ok = sessionValid(value[0], email, value[2], Date.now(), this.maxAgeMs);
        if (!ok && fromReplica) {
          const master = await this.onMaster(sid, email, true);
          return {
            session: master.ok ? { sid, email } : null,
            cart: master.ok ? master.cart : {},
            fromReplica: false,
          };
        }
        return { session: ok ? { sid, email } : null, cart: ok ? value[1] : {}, fromReplica };
      });
  }

  /**
   * Creates a session of the account's generation `gen` (replacing `previous`, the id is never
   * reused) once a replica holds it. The account keeps at most `perAccount` live sessions: beyond
   * that the oldest end, so a password that leaked cannot pile up sessions without bound.
   */
  async create(email: string, gen: string, sid: string, previous?: string): Promise<Session> {
    const now = Date.now();
    const body = encodeSession({ email, gen, created: now });
    const maxAge = Math.ceil(this.maxAgeMs / 1000);
    const ttl = Math.min(this.ttlSeconds, maxAge);
    const sessionKeys = [keys.session(sid), keys.accountSessions(email)];
    if (previous) sessionKeys.push(keys.session(previous));
    const prefix = keys.session('');
    await this.redis.write((r) =>
      callFunction<FunctionName>(
        r,
        'create_session',
        sessionKeys.length,
        ...sessionKeys,
        body,
        ttl,
        sid,
        previous ?? '',
        now,
        this.perAccount,
        maxAge,
        prefix,
      ),
    );
    return { sid, email };
  }

  async destroy(sid: string): Promise<void> {
    await this.redis.write((r) => r.del(keys.session(sid)));
  }
}
