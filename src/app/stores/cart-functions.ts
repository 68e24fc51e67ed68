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

/** Sets the listed quantities; returns the whole cart hash as field/value pairs, nil for no session. */
export const CART_SET = `${SESSION_CHECK}
local put, gone = {}, {}
for i = 5, #ARGV - 1, 2 do
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

/** Empties the cart; returns 1, nil for no session. */
export const CART_CLEAR = `${SESSION_CHECK}
redis.call('DEL', KEYS[3])
return 1`;
