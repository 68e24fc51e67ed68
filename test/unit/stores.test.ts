// Over 300 lines: the session and cart stores' contract (38 cases) on one shared fake Redis.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CART_CLEAR, CART_CLEAR_BY, CART_SET, CART_SET_BY } from '../../src/app/stores/cart-functions.ts';
import { CartStore, cartFromHash } from '../../src/app/stores/carts.ts';
import { FUNCTIONS } from '../../src/app/stores/functions.ts';
import {
  AttemptLimiter,
  isTicket,
  loginRefusalMessage,
  REFUND_LOGIN,
  REFUND_ONE,
  RESERVE_DEVICE_LOGIN,
  RESERVE_LOGIN,
  retryAfterSeconds,
  slowdownDelaysMs,
} from '../../src/app/stores/limits.ts';
import { CREATE_SESSION, SessionStore } from '../../src/app/stores/sessions.ts';
import { UserStore } from '../../src/app/stores/users.ts';
import { FUNCTION_LIBRARY, FunctionMissingError, libraryCode } from '../../src/ha/functions.ts';
import { NoMasterError, UnavailableError } from '../../src/ha/index.ts';
import { keys } from '../../src/ha/keys.ts';
import { newGeneration, sessionValid } from '../../src/ha/session.ts';
import { FakeRedis, fakeLayer } from '../helpers/fake-redis.ts';

/** What a Lua script touches: the KEYS and ARGV indexes it names and the commands it calls. */
function shape(script: string) {
  const idx = (re: RegExp) => [...script.matchAll(re)].map((m) => Number(m[1]));
  const keysUsed = new Set(idx(/KEYS\[(\d+)\]/g));
  if (/KEYS\[i\]/.test(script)) {
    const loop = /for i = (\d+), (\d+) do/.exec(script);
    assert.ok(loop, 'a loop over KEYS[i] has literal bounds');
    for (let i = Number(loop[1]); i <= Number(loop[2]); i++) keysUsed.add(i);
  }
  return {
    keys: [...keysUsed].sort((a, b) => a - b),
    argv: [...new Set(idx(/ARGV\[(\d+)\]/g))].sort((a, b) => a - b),
    commands: [...new Set([...script.matchAll(/redis\.call\('([A-Z]+)'/g)].map((m) => m[1]))].sort(),
  };
}

describe('keys', () => {
  it('puts the email of user, cart and per-email counters in a hash tag', () => {
    assert.equal(keys.user('a@b.co'), 'user:{a@b.co}');
    assert.equal(keys.cart('a@b.co'), 'cart:{a@b.co}');
    assert.equal(keys.session('s1'), 'sess:s1');
    assert.equal(keys.loginByPair('a@b.co', '10.0.0.1'), 'rl:login:pair:{a@b.co}:10.0.0.1');
    assert.equal(keys.loginByEmail('a@b.co'), 'rl:login:email:{a@b.co}');
    assert.equal(keys.loginGate('a@b.co'), 'rl:login:gate:{a@b.co}');
    assert.equal(keys.loginByIp('10.0.0.1'), 'rl:login:ip:10.0.0.1');
    assert.equal(keys.registerByIp('10.0.0.1'), 'rl:register:ip:10.0.0.1');
    assert.equal(keys.loginByDevice('a@b.co', 'd1'), 'rl:login:device:{a@b.co}:d1');
    assert.equal(keys.accountSessions('a@b.co'), 'sess:of:{a@b.co}');
  });
});

describe('cartFromHash', () => {
  it('lists every product, with 0 for absent, zero, negative, fractional and non-numeric fields', () => {
    const cart = cartFromHash({
      keyboard: '2',
      mouse: '0',
      monitor: '-1',
      headset: '1.5',
      webcam: 'x',
      unknown: '7',
    });
    assert.deepEqual(cart, { keyboard: 2, mouse: 0, monitor: 0, headset: 0, webcam: 0, dock: 0 });
  });

  it('keeps a quantity of 1', () => {
    assert.equal(cartFromHash({ dock: '1' })['dock'], 1);
  });
});

describe('CartStore', () => {
  it('reads the cart hash of the email', async () => {
    const { r, redis } = fakeLayer();
    r.hashes.set('cart:{a@b.co}', new Map([['mouse', '3']]));
    const cart = await new CartStore(redis).get('a@b.co');
    assert.equal(cart['mouse'], 3);
    assert.equal(cart['keyboard'], 0);
    assert.deepEqual(r.log, [['hgetall', 'cart:{a@b.co}']]);
  });

  it('writes through one durable call of cart_set that names the session, and returns the cart it left', async () => {
    const { r, layer, redis } = fakeLayer();
    r.evalReply = ['mouse', '2', 'webcam', '1', 'unknown', '9'];
    const store = new CartStore(redis, { ttlSeconds: 600, maxAgeSeconds: 3600 }, 4000);
    const before = Date.now();
    const cart = await store.set(
      's1',
      'a@b.co',
      new Map([
        ['mouse', 2],
        ['dock', 0],
        ['webcam', 1],
      ]),
    );
    assert.deepEqual(layer.paths, ['write']);
    assert.deepEqual(r.log, [], 'no command of its own besides the call');
    const [call] = r.evals;
    assert.equal(call!.name, 'cart_set_by');
    assert.equal(call!.numKeys, 3);
    const [sess, user, cartKey, email, ttl, now, maxAgeMs, deadline, ...items] = call!.args;
    assert.deepEqual(
      [sess, user, cartKey, email, ttl, maxAgeMs],
      ['sess:s1', 'user:{a@b.co}', 'cart:{a@b.co}', 'a@b.co', 600, 3_600_000],
    );
    assert.ok(Number(now) >= before && Number(now) <= Date.now());
    assert.equal(deadline, Number(now) + 4000, "the master refuses it past the layer's deadline");
    assert.deepEqual(layer.deadlines, [4000], 'the layer gives up at the same deadline');
    assert.deepEqual(items, ['mouse', 2, 'dock', 0, 'webcam', 1]);
    assert.deepEqual(cart, { ...cartFromHash({}), mouse: 2, webcam: 1 });
    const s = shape(CART_SET_BY);
    assert.deepEqual(s.keys, [1, 2, 3]);
    assert.deepEqual(s.commands, ['EXPIRE', 'GET', 'HDEL', 'HGET', 'HGETALL', 'HSET', 'TIME']);
    assert.deepEqual(shape(CART_SET).commands, ['EXPIRE', 'GET', 'HDEL', 'HGET', 'HGETALL', 'HSET']);
  });

  it('answers null when the function found no valid session, and an empty cart as an empty one', async () => {
    const { r, redis } = fakeLayer();
    const store = new CartStore(redis);
    r.evalReply = null;
    assert.equal(await store.set('s1', 'a@b.co', new Map([['mouse', 1]])), null);
    r.evalReply = [];
    assert.deepEqual(await store.set('s1', 'a@b.co', new Map([['mouse', 0]])), cartFromHash({}));
  });

  it('clears through one durable call of cart_clear: true with a valid session, false without', async () => {
    const { r, layer, redis } = fakeLayer();
    const store = new CartStore(redis);
    r.evalReply = 1;
    assert.equal(await store.clear('s1', 'a@b.co'), true);
    r.evalReply = null;
    assert.equal(await store.clear('s1', 'a@b.co'), false);
    assert.deepEqual(layer.paths, ['write', 'write']);
    assert.deepEqual(
      r.evals.map((e) => [e.name, e.numKeys, e.args.length]),
      [
        ['cart_clear_by', 3, 8],
        ['cart_clear_by', 3, 8],
      ],
    );
    assert.deepEqual(shape(CART_CLEAR_BY).commands, ['DEL', 'EXPIRE', 'GET', 'HGET', 'TIME']);
    assert.deepEqual(shape(CART_CLEAR).commands, ['DEL', 'EXPIRE', 'GET', 'HGET']);
  });
});

describe('sessionValid', () => {
  const raw = (o: unknown) => JSON.stringify(o);
  const good = { email: 'a@b.co', gen: 'g', created: 1000 };

  it('accepts a session of the email and generation younger than the lifetime', () => {
    assert.equal(sessionValid(raw(good), 'a@b.co', 'g', 1000, 1), true);
    assert.equal(sessionValid(raw(good), 'a@b.co', 'g', 1999, 1000), true);
  });

  it('refuses it at the lifetime and after', () => {
    assert.equal(sessionValid(raw(good), 'a@b.co', 'g', 2000, 1000), false);
    assert.equal(sessionValid(raw(good), 'a@b.co', 'g', 2001, 1000), false);
  });

  it('refuses a missing session, a missing account, another email or generation', () => {
    assert.equal(sessionValid(null, 'a@b.co', 'g', 1000, 1000), false);
    assert.equal(sessionValid(raw(good), 'a@b.co', null, 1000, 1000), false);
    assert.equal(sessionValid(raw(good), 'c@b.co', 'g', 1000, 1000), false);
    assert.equal(sessionValid(raw(good), 'a@b.co', 'h', 1000, 1000), false);
  });

  it('refuses malformed bodies: no JSON, null, a number, no generation, a string date', () => {
    assert.equal(sessionValid('{', 'a@b.co', 'g', 1000, 1000), false);
    assert.equal(sessionValid('null', 'a@b.co', 'g', 1000, 1000), false);
    assert.equal(sessionValid('5', 'a@b.co', 'g', 1000, 1000), false);
    assert.equal(sessionValid(raw({ ...good, gen: undefined }), 'a@b.co', 'g', 1000, 1000), false);
    assert.equal(sessionValid(raw({ ...good, created: '1000' }), 'a@b.co', 'g', 1000, 1000), false);
  });
});

describe('stored sessions', () => {
  const now = 1_000_000_000;
  const stored = (o: Record<string, unknown>) => JSON.stringify(o);
  const ok = { email: 'a@b.co', gen: 'g1', created: now - 1000 };

  it('belong to one email, one life of the account, and end at their absolute lifetime', () => {
    assert.ok(sessionValid(stored(ok), 'a@b.co', 'g1', now, 60_000));
    assert.ok(!sessionValid(stored(ok), 'x@b.co', 'g1', now, 60_000), 'another email');
    assert.ok(!sessionValid(stored(ok), 'a@b.co', 'g2', now, 60_000), 'the account was made again');
    assert.ok(!sessionValid(stored(ok), 'a@b.co', null, now, 60_000), 'the account is gone');
    assert.ok(!sessionValid(stored(ok), 'a@b.co', 'g1', now, 1000), 'older than the lifetime');
    assert.ok(!sessionValid(null, 'a@b.co', 'g1', now, 60_000));
  });

  it('made before sessions had a generation are refused', () => {
    assert.ok(!sessionValid(stored({ email: 'a@b.co', created: now }), 'a@b.co', 'g1', now, 60_000));
    assert.ok(!sessionValid(stored({ email: 'a@b.co', gen: 'g1' }), 'a@b.co', 'g1', now, 60_000));
    assert.ok(!sessionValid('not json', 'a@b.co', 'g1', now, 60_000));
    assert.ok(!sessionValid('null', 'a@b.co', 'g1', now, 60_000));
  });
});

describe('SessionStore', () => {
  const body = (gen: string, created = Date.now()) => JSON.stringify({ email: 'a@b.co', gen, created });

  it('loads a session with GETEX renewing its idle lifetime, beside the generation', async () => {
    const { r, layer, redis } = fakeLayer();
    r.strings.set('sess:s1', { value: body('g1') });
    r.hashes.set('user:{a@b.co}', new Map([['gen', 'g1']]));
    layer.fromReplica = true;
    const res = await new SessionStore(redis, 600, 3600).load('s1', 'a@b.co');
    assert.deepEqual(res, { session: { sid: 's1', email: 'a@b.co' }, fromReplica: true });
    assert.deepEqual(r.log, [
      ['getex', 'sess:s1', 'EX', 600],
      ['hget', 'user:{a@b.co}', 'gen'],
    ]);
  });

  it('reads with a plain GET where writes are refused', async () => {
    const { r, layer, redis } = fakeLayer();
    r.strings.set('sess:s1', { value: body('g1') });
    r.hashes.set('user:{a@b.co}', new Map([['gen', 'g1']]));
    layer.readOnly = true;
    const res = await new SessionStore(redis, 600, 3600).load('s1', 'a@b.co');
    assert.deepEqual(res.session, { sid: 's1', email: 'a@b.co' });
    assert.equal(res.fromReplica, false);
    assert.deepEqual(r.log[0], ['get', 'sess:s1']);
  });

  it('refuses a session of an older generation or older than the absolute lifetime', async () => {
    const { r, redis } = fakeLayer();
    r.hashes.set('user:{a@b.co}', new Map([['gen', 'g2']]));
    const store = new SessionStore(redis, 600, 10);
    r.strings.set('sess:s1', { value: body('g1') });
    assert.equal((await store.load('s1', 'a@b.co')).session, null);
    r.strings.set('sess:s1', { value: body('g2', Date.now() - 11_000) });
    assert.equal((await store.load('s1', 'a@b.co')).session, null);
    r.strings.set('sess:s1', { value: body('g2', Date.now() - 5_000) });
    assert.deepEqual((await store.load('s1', 'a@b.co')).session, { sid: 's1', email: 'a@b.co' });
  });

  it("asks the master when a replica says 'no such session': the replica may lag its creation", async () => {
    const { r, layer, redis } = fakeLayer();
    r.strings.set('sess:s1', { value: body('g1') });
    r.hashes.set('user:{a@b.co}', new Map([['gen', 'g1']]));
    r.hashes.set('cart:{a@b.co}', new Map([['mouse', '2']]));
    layer.fromReplica = true;
    layer.replica = new FakeRedis();
    const store = new SessionStore(redis, 600, 3600);
    assert.deepEqual((await store.load('s1', 'a@b.co')).session, { sid: 's1', email: 'a@b.co' });
    assert.deepEqual(layer.paths, ['read', 'fastWrite']);
    assert.deepEqual(await store.loadWithCart('s1', 'a@b.co'), {
      session: { sid: 's1', email: 'a@b.co' },
      cart: { mouse: '2' },
      fromReplica: false,
    });
    // The master's word is final: a session it does not have either is none.
    r.strings.delete('sess:s1');
    assert.equal((await store.load('s1', 'a@b.co')).session, null);
    assert.deepEqual(await store.loadWithCart('s1', 'a@b.co'), {
      session: null,
      cart: {},
      fromReplica: false,
    });
    // No master in time: the request fails (503 with Retry-After), it never says "logged out".
    layer.fastWrite = () => Promise.reject(new NoMasterError('no master'));
    await assert.rejects(store.load('s1', 'a@b.co'), (err: unknown) => err instanceof UnavailableError);
    // A session the replica has is believed at once, without the master.
    layer.replica.strings.set('sess:s1', { value: body('g1') });
    layer.replica.hashes.set('user:{a@b.co}', new Map([['gen', 'g1']]));
    layer.paths = [];
    assert.deepEqual((await store.load('s1', 'a@b.co')).session, { sid: 's1', email: 'a@b.co' });
    assert.deepEqual(layer.paths, ['read']);
  });

  it('takes the second opinion from a master only: a node answering READONLY goes back to the write layer, a master without replicas is read plainly', async () => {
    const { r, layer, redis } = fakeLayer();
    r.hashes.set('user:{a@b.co}', new Map([['gen', 'g1']]));
    layer.fromReplica = true;
    layer.replica = new FakeRedis();
    const store = new SessionStore(redis, 600, 3600);
    // The master's connection reached a replica (demoted, or started again) that lacks the session.
    r.refuseWrites = new Error("READONLY You can't write against a read only replica.");
    await assert.rejects(store.load('s1', 'a@b.co'), /READONLY/, 'never "logged out" on its word');
    await assert.rejects(store.loadWithCart('s1', 'a@b.co'), /READONLY/);
    // A master that refuses writes for want of replicas still answers for its sessions.
    r.refuseWrites = new Error('NOREPLICAS Not enough good replicas to write.');
    r.strings.set('sess:s1', { value: body('g1') });
    r.log = [];
    assert.deepEqual((await store.load('s1', 'a@b.co')).session, { sid: 's1', email: 'a@b.co' });
    assert.deepEqual(
      r.log.filter((c) => String(c[1]).startsWith('sess:')),
      [
        ['getex', 'sess:s1', 'EX', 600],
        ['get', 'sess:s1'],
      ],
    );
  });

  it('loads session, cart and generation in one read, the cart only with a valid session', async () => {
    const { r, layer, redis } = fakeLayer();
    r.strings.set('sess:s1', { value: body('g1') });
    r.hashes.set('user:{a@b.co}', new Map([['gen', 'g1']]));
    r.hashes.set('cart:{a@b.co}', new Map([['mouse', '2']]));
    const store = new SessionStore(redis, 600, 3600);
    layer.fromReplica = true;
    const ok = await store.loadWithCart('s1', 'a@b.co');
    assert.deepEqual(ok, {
      session: { sid: 's1', email: 'a@b.co' },
      cart: { mouse: '2' },
      fromReplica: true,
    });
    assert.deepEqual(layer.paths, ['read']);
    assert.deepEqual(r.log, [
      ['getex', 'sess:s1', 'EX', 600],
      ['hgetall', 'cart:{a@b.co}'],
      ['hget', 'user:{a@b.co}', 'gen'],
    ]);
    r.hashes.set('user:{a@b.co}', new Map([['gen', 'other']]));
    layer.fromReplica = false;
    assert.deepEqual(await store.loadWithCart('s1', 'a@b.co'), {
      session: null,
      cart: {},
      fromReplica: false,
    });
    layer.readOnly = true;
    r.log = [];
    await store.loadWithCart('s1', 'a@b.co');
    assert.deepEqual(r.log[0], ['get', 'sess:s1']);
  });

  it('creates a session durably in one script: idle lifetime, the previous one deleted, the account capped', async () => {
    const { r, layer, redis } = fakeLayer();
    const before = Date.now();
    const s = await new SessionStore(redis, 600, 3600, 4).create('a@b.co', 'g1', 'new', 'old');
    assert.deepEqual(s, { sid: 'new', email: 'a@b.co' });
    assert.deepEqual(layer.paths, ['write']);
    const [call] = r.evals;
    assert.equal(call!.script, CREATE_SESSION);
    assert.equal(call!.numKeys, 3);
    const [k1, k2, k3, body, ttl, sid, previous, now, cap, indexTtl, prefix] = call!.args;
    assert.deepEqual([k1, k2, k3], ['sess:new', 'sess:of:{a@b.co}', 'sess:old']);
    assert.deepEqual([ttl, sid, previous, cap, indexTtl, prefix], [600, 'new', 'old', 4, 3600, 'sess:']);
    const parsed = JSON.parse(String(body));
    assert.equal(parsed.email, 'a@b.co');
    assert.equal(parsed.gen, 'g1');
    assert.equal(parsed.created, now);
    assert.ok(parsed.created >= before && parsed.created <= Date.now());
    assert.deepEqual(shape(CREATE_SESSION), {
      keys: [1, 2, 3],
      argv: [1, 2, 3, 4, 5, 6, 7, 8],
      commands: ['DEL', 'EXISTS', 'EXPIRE', 'HDEL', 'HGETALL', 'HSET', 'SET'],
    });
    // The oldest first: sorted by creation time, as many as are over the cap.
    assert.match(CREATE_SESSION, /table\.sort\(live, function\(a, b\) return a\[2\] < b\[2\] end\)/);
  });

  it('caps the TTL of a new session at the absolute lifetime (rounded up to a second); no previous, two keys', async () => {
    const { r, redis } = fakeLayer();
    await new SessionStore(redis, 600, 30).create('a@b.co', 'g1', 'n1');
    const [call] = r.evals;
    assert.equal(call!.numKeys, 2);
    assert.deepEqual(call!.args.slice(0, 2), ['sess:n1', 'sess:of:{a@b.co}']);
    assert.equal(call!.args[3], 30);
    assert.equal(call!.args[5], '');
    assert.equal(call!.args[7], 10, 'ten sessions per account by default');
  });

  it('fails when the script fails', async () => {
    const { r, redis } = fakeLayer();
    r.call = async () => {
      throw new Error('READONLY You cannot write against a read only replica.');
    };
    await assert.rejects(new SessionStore(redis, 600, 3600).create('a@b.co', 'g1', 'n1', 'old'), /READONLY/);
  });

  it('destroys a session with a durable DEL', async () => {
    const { r, layer, redis } = fakeLayer();
    r.strings.set('sess:s1', { value: 'x' });
    await new SessionStore(redis, 600, 3600).destroy('s1');
    assert.deepEqual(layer.paths, ['write']);
    assert.deepEqual(r.log, [['del', 'sess:s1']]);
  });
});

describe('UserStore', () => {
  it('creates a user with one durable script over its key, with email, hash, time and generation', async () => {
    const { r, layer, redis } = fakeLayer();
    r.evalReply = 1;
    const before = Date.now();
    assert.equal(await new UserStore(redis).create('a@b.co', 'H', 'g1'), true);
    assert.deepEqual(layer.paths, ['write']);
    const [call] = r.evals;
    assert.equal(call!.numKeys, 1);
    const [key, email, hash, created, gen] = call!.args as string[];
    assert.deepEqual([key, email, hash, gen], ['user:{a@b.co}', 'a@b.co', 'H', 'g1']);
    assert.equal(typeof created, 'string');
    assert.ok(Number(created) >= before && Number(created) <= Date.now());
    const s = shape(call!.script);
    assert.deepEqual(s.keys, [1]);
    assert.deepEqual(s.argv, [1, 2, 3, 4]);
    assert.deepEqual(s.commands, ['EXISTS', 'HGET', 'HSET']);
  });

  it('recognises its own earlier success (the stored hash is its own) but not another one', async () => {
    const { r, redis } = fakeLayer();
    const users = new UserStore(redis);
    r.evalReply = 'H';
    assert.equal(await users.create('a@b.co', 'H', 'g1'), true);
    r.evalReply = 'other';
    assert.equal(await users.create('a@b.co', 'H', 'g1'), false);
    r.evalReply = 0;
    assert.equal(await users.create('a@b.co', 'H', 'g1'), false);
  });

  it('reads the account: hash and generation, null generation, no account', async () => {
    const { r, redis } = fakeLayer();
    const users = new UserStore(redis);
    assert.equal(await users.account('a@b.co'), null);
    assert.deepEqual(r.log, [['hmget', 'user:{a@b.co}', 'password', 'gen']]);
    r.hashes.set('user:{a@b.co}', new Map([['password', 'H']]));
    assert.deepEqual(await users.account('a@b.co'), { passwordHash: 'H', gen: null });
    r.hashes.get('user:{a@b.co}')!.set('gen', 'g1');
    assert.deepEqual(await users.account('a@b.co'), { passwordHash: 'H', gen: 'g1' });
  });

  it('gives an account a generation through a durable script, null when the account is gone', async () => {
    const { r, layer, redis } = fakeLayer();
    const users = new UserStore(redis);
    r.evalReply = 'g9';
    assert.equal(await users.ensureGeneration('a@b.co'), 'g9');
    r.evalReply = null;
    assert.equal(await users.ensureGeneration('a@b.co'), null);
    r.evalReply = undefined;
    assert.equal(await users.ensureGeneration('a@b.co'), null);
    assert.deepEqual(layer.paths, ['write', 'write', 'write']);
    const [first, second] = r.evals;
    assert.equal(first!.numKeys, 1);
    assert.equal(first!.args[0], 'user:{a@b.co}');
    assert.match(String(first!.args[1]), /^[A-Za-z0-9_-]{16}$/);
    assert.notEqual(first!.args[1], second!.args[1]);
    const s = shape(first!.script);
    assert.deepEqual(s.keys, [1]);
    assert.deepEqual(s.argv, [1]);
    assert.deepEqual(s.commands, ['EXISTS', 'HGET', 'HSET']);
  });

  it('makes a new 16-character base64url generation each time', () => {
    const a = newGeneration();
    assert.match(a, /^[A-Za-z0-9_-]{16}$/);
    assert.notEqual(a, newGeneration());
  });
});

describe('limits helpers', () => {
  it('rounds the wait up to whole seconds, never below 1 (never 0 while a counter holds)', () => {
    assert.equal(retryAfterSeconds(0), 1);
    assert.equal(retryAfterSeconds(1), 1);
    assert.equal(retryAfterSeconds(1000), 1);
    assert.equal(retryAfterSeconds(1001), 2);
    assert.equal(retryAfterSeconds(1999), 2);
    assert.equal(retryAfterSeconds(2000), 2);
    assert.equal(retryAfterSeconds(2001), 3);
    assert.equal(retryAfterSeconds(899_400), 900);
  });

  it('doubles the wait from one second past the slowdown threshold, and ends with the cap once', () => {
    assert.deepEqual(slowdownDelaysMs(1), [1000]);
    assert.deepEqual(slowdownDelaysMs(2), [1000, 2000]);
    assert.deepEqual(slowdownDelaysMs(3), [1000, 2000, 3000]);
    assert.deepEqual(slowdownDelaysMs(4), [1000, 2000, 4000]);
    assert.deepEqual(slowdownDelaysMs(8), [1000, 2000, 4000, 8000]);
    assert.deepEqual(slowdownDelaysMs(60), [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000]);
  });

  it('says why a login waits, how long, and what to do', () => {
    assert.equal(
      loginRefusalMessage({ reason: 'pair', waitSeconds: 7 }),
      'too many failed logins for this email from your address: wait 7 s and try again, checking the email and password',
    );
    assert.equal(
      loginRefusalMessage({ reason: 'address', waitSeconds: 3 }),
      'too many failed logins from your address: wait 3 s and try again',
    );
    assert.equal(
      loginRefusalMessage({ reason: 'email', waitSeconds: 2 }),
      'this account has had many failed logins from elsewhere, so each attempt must wait a while: wait 2 s and try again',
    );
    assert.equal(
      loginRefusalMessage({ reason: 'device', waitSeconds: 4 }),
      'too many failed logins for this email from this browser: wait 4 s and try again, checking the email and password',
    );
  });
});

describe('Redis functions', () => {
  it('every script is a function of the library, called by name; a missing library is a 503, not a crash', async () => {
    const code = libraryCode(FUNCTION_LIBRARY, FUNCTIONS);
    assert.match(code, new RegExp(`^#!lua name=${FUNCTION_LIBRARY}\n`));
    for (const [name, body] of Object.entries(FUNCTIONS)) {
      assert.ok(
        code.includes(`redis.register_function('${name}', function(KEYS, ARGV)\n${body.trim()}\nend)`),
        name,
      );
    }
    const { r, redis } = fakeLayer();
    r.evalReply = 1;
    await new UserStore(redis).create('a@b.co', 'H', 'g1');
    await new AttemptLimiter(
      redis,
      {
        perPair: 5,
        perAddress: 50,
        slowdownAfter: 10,
        slowdownMaxSeconds: 4,
        perDevice: 7,
        windowSeconds: 900,
      },
      { perAddress: 3, windowSeconds: 60 },
    ).loginSucceeded({ email: 'a@b.co', address: 'ip' }, { via: 'shared', token: 't' });
    assert.deepEqual(
      r.evals.map((e) => e.name),
      ['create_user', 'login_succeeded'],
    );
    r.libraryLoaded = false;
    const err = await new UserStore(redis).create('a@b.co', 'H', 'g1').catch((e: unknown) => e);
    assert.ok(err instanceof FunctionMissingError);
    assert.ok(err instanceof UnavailableError, 'answered 503');
    assert.match(err.message, /create_user is missing: the library hastack_v1 is not loaded/);
    assert.throws(() => libraryCode('bad name', {}), /bad library name/);
    assert.throws(() => libraryCode('ok', { "x'); os.exit() --": 'return 1' }), /bad function name/);
  });
});

describe('AttemptLimiter', () => {
  const login = {
    perPair: 5,
    perAddress: 50,
    slowdownAfter: 10,
    slowdownMaxSeconds: 4,
    perDevice: 7,
    windowSeconds: 900,
  };
  const registration = { perAddress: 3, windowSeconds: 3600 };
  const stranger = { email: 'a@b.co', address: '10.0.0.1' };
  const owner = { ...stranger, device: { id: 'd'.repeat(32), gen: 'g1' } };
  const shared = [
    'rl:login:pair:{a@b.co}:10.0.0.1',
    'rl:login:ip:10.0.0.1',
    'rl:login:email:{a@b.co}',
    'rl:login:gate:{a@b.co}',
  ];

  it('reserves a login in one fast script over the four shared keys, with limits, window, token and waits', async () => {
    const { r, layer, redis } = fakeLayer();
    r.evalReply = [0, 0];
    const limiter = new AttemptLimiter(redis, login, registration);
    const ticket = await limiter.reserveLogin(stranger);
    assert.ok(isTicket(ticket));
    assert.equal(ticket.via, 'shared');
    assert.match(ticket.token, /^[A-Za-z0-9_-]{16}$/);
    assert.deepEqual(layer.paths, ['fastWrite']);
    const [call] = r.evals;
    assert.equal(call!.script, RESERVE_LOGIN);
    assert.equal(call!.numKeys, 4);
    assert.deepEqual(call!.args, [...shared, 5, 50, 10, 900, ticket.token, '1000', '2000', '4000']);
    const s = shape(call!.script);
    assert.deepEqual(s.keys, [1, 2, 3, 4]);
    assert.deepEqual(s.argv, [1, 2, 3, 4, 5]);
    assert.deepEqual(s.commands, ['EXPIRE', 'GET', 'INCR', 'PTTL', 'SET']);
    assert.match(call!.script, /local function left\(key, window\)/);
    // A refusal is counted against the address first, before any limit is looked at.
    assert.ok(call!.script.indexOf("'INCR', KEYS[2]") < call!.script.indexOf("'GET', KEYS[1]"));
    // The gate holds the token of the attempt that closed it.
    assert.match(call!.script, /'SET', KEYS\[4\], ARGV\[5\], 'PX'/);
  });

  it('names the limit that refused a login and rounds its wait up', async () => {
    const { r, redis } = fakeLayer();
    const limiter = new AttemptLimiter(redis, login, registration);
    r.evalReply = [1, 1500];
    assert.deepEqual(await limiter.reserveLogin(stranger), { reason: 'pair', waitSeconds: 2 });
    r.evalReply = [2, 900_000];
    assert.deepEqual(await limiter.reserveLogin(stranger), { reason: 'address', waitSeconds: 900 });
    r.evalReply = [3, 1];
    assert.deepEqual(await limiter.reserveLogin(stranger), { reason: 'email', waitSeconds: 1 });
    r.evalReply = [4, 2001];
    assert.deepEqual(await limiter.reserveLogin(owner), { reason: 'device', waitSeconds: 3 });
  });

  it("judges a browser with the account's device cookie by its own budget, not the shared ones", async () => {
    const { r, layer, redis } = fakeLayer();
    r.evalReply = [0, 0];
    const ticket = await new AttemptLimiter(redis, login, registration).reserveLogin(owner);
    assert.ok(isTicket(ticket));
    assert.equal(ticket.via, 'device');
    assert.deepEqual(layer.paths, ['fastWrite']);
    assert.equal(r.evals.length, 1);
    const [call] = r.evals;
    assert.equal(call!.script, RESERVE_DEVICE_LOGIN);
    assert.equal(call!.numKeys, 2);
    assert.deepEqual(call!.args, [
      `rl:login:device:{a@b.co}:${'d'.repeat(32)}`,
      'user:{a@b.co}',
      'g1',
      7,
      900,
    ]);
    const s = shape(call!.script);
    assert.deepEqual(s.keys, [1, 2]);
    assert.deepEqual(s.argv, [1, 2, 3]);
    assert.deepEqual(s.commands, ['EXPIRE', 'HGET', 'INCR', 'PTTL']);
  });

  it('counts a device cookie of another life of the account in the shared budgets', async () => {
    const { r, redis } = fakeLayer();
    const replies: unknown[] = [
      [5, 0],
      [3, 4000],
    ];
    r.call = async (_command: string, name: string, numKeys: number, ...args: unknown[]) => {
      const script = (FUNCTIONS as Record<string, string>)[name] ?? '';
      r.evals.push({ name, script, numKeys, args });
      return replies.shift();
    };
    const refused = await new AttemptLimiter(redis, login, registration).reserveLogin(owner);
    assert.deepEqual(refused, { reason: 'email', waitSeconds: 4 });
    assert.deepEqual(
      r.evals.map((e) => e.script),
      [RESERVE_DEVICE_LOGIN, RESERVE_LOGIN],
    );
  });

  it('gives a successful login back: the shared pair, address and email counters, or the device counter', async () => {
    const { r, layer, redis } = fakeLayer();
    const limiter = new AttemptLimiter(redis, login, registration);
    await limiter.loginSucceeded(stranger, { via: 'shared', token: 't' });
    assert.deepEqual(layer.paths, ['fastWrite']);
    const [call] = r.evals;
    assert.equal(call!.numKeys, 3);
    assert.deepEqual(call!.args, shared.slice(0, 3));
    const s = shape(call!.script);
    assert.deepEqual(s.keys, [1, 2, 3]);
    assert.deepEqual(s.commands, ['DECR', 'DEL', 'GET']);
    await limiter.loginSucceeded(owner, { via: 'device', token: 't' });
    assert.deepEqual(r.log.at(-1), ['del', `rl:login:device:{a@b.co}:${'d'.repeat(32)}`]);
  });

  it('refunds an attempt never checked: its shared counters and only the gate it closed, or its device counter', async () => {
    const { r, layer, redis } = fakeLayer();
    const limiter = new AttemptLimiter(redis, login, registration);
    await limiter.refundLogin(stranger, { via: 'shared', token: 'tok' });
    await limiter.refundLogin(owner, { via: 'device', token: 'tok' });
    assert.deepEqual(layer.paths, ['fastWrite', 'fastWrite']);
    const [all, one] = r.evals;
    assert.equal(all!.script, REFUND_LOGIN);
    assert.equal(all!.numKeys, 4);
    assert.deepEqual(all!.args, [...shared, 'tok']);
    assert.deepEqual(shape(all!.script), {
      keys: [1, 2, 3, 4],
      argv: [1],
      commands: ['DECR', 'DEL', 'GET'],
    });
    assert.match(
      all!.script,
      /if redis\.call\('GET', KEYS\[4\]\) == ARGV\[1\] then redis\.call\('DEL', KEYS\[4\]\)/,
    );
    assert.equal(one!.script, REFUND_ONE);
    assert.deepEqual(one!.args, [`rl:login:device:{a@b.co}:${'d'.repeat(32)}`]);
    assert.deepEqual(shape(one!.script), { keys: [1], argv: [], commands: ['DECR', 'GET'] });
  });

  it('counts a registration per address, or says how many seconds it must wait', async () => {
    const { r, layer, redis } = fakeLayer();
    const limiter = new AttemptLimiter(redis, login, registration);
    r.evalReply = 0;
    assert.equal(await limiter.reserveRegistration('10.0.0.1'), 0);
    r.evalReply = 2500;
    assert.equal(await limiter.reserveRegistration('10.0.0.1'), 3);
    r.evalReply = 1;
    assert.equal(await limiter.reserveRegistration('10.0.0.1'), 1);
    assert.deepEqual(layer.paths, ['fastWrite', 'fastWrite', 'fastWrite']);
    const [call] = r.evals;
    assert.equal(call!.numKeys, 1);
    assert.deepEqual(call!.args, ['rl:register:ip:10.0.0.1', 3, 3600]);
    const s = shape(call!.script);
    assert.deepEqual(s.keys, [1]);
    assert.deepEqual(s.argv, [1, 2]);
    assert.deepEqual(s.commands, ['EXPIRE', 'GET', 'INCR', 'PTTL']);
  });
});
