/**
 * The cart writes as functions of the library (src/ha/functions.ts): the session check, its
 * renewal, the write and the cart it leaves in one round trip, so that a durable cart write costs
 * one FCALL and the WAIT shared by every write of the event-loop turn.
 *
 * KEYS: the session (`sess:<id>`), the account (`user:{email}`), the cart (`cart:{email}`).
 * ARGV: the email the signed cookie names, the idle lifetime (s), now (ms), the absolute lifetime
 * (ms); `cart_set` then takes product/quantity pairs (0 removes the line).
 *
 * The check is `sessionValid` of src/ha/session.ts: the record is JSON with a string email and
 * generation and a numeric creation time, it names the cookie's email and the account's current
 * generation (an account deleted, or registered again, ends its sessions), and it is younger than
 * the absolute lifetime. A session that fails it is neither renewed nor allowed to write: the reply
 * is nil. Otherwise the idle lifetime starts again, as a read (GETEX) renews it.
 *
 * Both are safe to run again after a failover interrupted them: they set absolute values.
 * `cart_set` and `cart_clear` are the previous release's (kept while its apps may run, see
 * docs/cart-writes.md); the apps call `cart_set_by` and `cart_clear_by`, which also check the
 * write's deadline (DEADLINE_CHECK).
 */
const SESSION_CHECK = `
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local decoded, s = pcall(cjson.decode, raw)
if not decoded or type(s) ~= 'table' or type(s.email) ~= 'string' or type(s.gen) ~= 'string'
  or type(s.created) ~= 'number' then return false end
local gen = redis.call('HGET', KEYS[2], 'gen')
if not gen or s.email ~= ARGV[1] or s.gen ~= gen or tonumber(ARGV[3]) - s.created >= tonumber(ARGV[4]) then
  return false
end
redis.call('EXPIRE', KEYS[1], ARGV[2])`;

/** Sets the product/quantity pairs from ARGV[first] on (0 removes the line); returns the whole cart hash. */
const setItems = (first: number) => `
local put, gone = {}, {}
for i = ${first}, #ARGV - 1, 2 do
  if tonumber(ARGV[i + 1]) > 0 then
    put[#put + 1] = ARGV[i]
    put[#put + 1] = ARGV[i + 1]
  else
    gone[#gone + 1] = ARGV[i]
  end
end
if #put > 0 then redis.call('HSET', KEYS[3], unpack(put)) end
if #gone > 0 then redis.call('HDEL', KEYS[3], unpack(gone)) end
return redis.call('HGETALL', KEYS[3])`;

const CLEAR = `
redis.call('DEL', KEYS[3])
return 1`;

/**
 * The write's deadline, ARGV[5] (ms, the app's clock), against the master's clock (TIME): a call
 * that reaches the master after it changes nothing, the session included, and is answered `LATE`.
 * Such a call is one the app has given up on (answered 503): a command held in a slow link and
 * delivered late, or a copy sent before a retry. Without the check it could land after the client
 * had moved on and written again, and overwrite an acknowledged write with an older one. The apps'
 * and the nodes' clocks must agree to well within the write deadline (WRITE_DEADLINE_MS, 6 s).
 */
const DEADLINE_CHECK = `
local t = redis.call('TIME')
if tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) > tonumber(ARGV[5]) then
  return redis.error_reply('LATE the write reached the master after its deadline')
end`;

/** Sets the listed quantities; returns the whole cart hash as field/value pairs, nil for no session. */
export const CART_SET = `${SESSION_CHECK}${setItems(5)}`;

/** Empties the cart; returns 1, nil for no session. */
export const CART_CLEAR = `${SESSION_CHECK}${CLEAR}`;

/** CART_SET with the deadline: ARGV[5] the deadline, the pairs from ARGV[6]. What the apps call. */
export const CART_SET_BY = `${DEADLINE_CHECK}${SESSION_CHECK}${setItems(6)}`;

/** CART_CLEAR with the deadline in ARGV[5]. What the apps call. */
export const CART_CLEAR_BY = `${DEADLINE_CHECK}${SESSION_CHECK}${CLEAR}`;
