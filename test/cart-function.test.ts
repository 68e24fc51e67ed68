// The cart writes as one function call (cart_set_by, cart_clear_by of the library): what the function
// decides about the session on a real Redis, that the app's write is that one call and the shared
// WAIT, and that a promoted replica has both the function and a cart written just before.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { CART_KEYS, cartCallArgs } from '../src/app/stores/carts.ts';
import { hasLibrary } from '../src/ha/functions.ts';
import { keys } from '../src/ha/keys.ts';
import { nodeState, withRedis } from '../src/ha/probes.ts';
import { encodeSession } from '../src/ha/session.ts';
import type { Stack } from '../src/ops/supervisor/supervisor.ts';
import { waitFor } from '../src/ops/supervisor/wait.ts';
import type { RedisNode } from '../src/ops/topology.ts';
import { Client } from './helpers/http.ts';
import { masterClient, startTestStack } from './helpers/stack.ts';

let s: Stack;
let master: RedisNode;
let op: Redis;

before(async () => {
  s = await startTestStack('cart-fn', { apps: 1, haproxy: false });
  master = (await s.redisMaster())!;
  op = await masterClient(s);
});

after(async () => {
  op?.disconnect();
  await s?.stop();
});

const LIFE = { ttlSeconds: 600, maxAgeSeconds: 3600 };

/** A session record and its account, written as the app writes them. */
async function seed(sid: string, email: string, opts: { gen?: string; created?: number; raw?: string } = {}) {
  await op.hset(keys.user(email), 'gen', 'g1');
  const body =
    opts.raw ?? encodeSession({ email, gen: opts.gen ?? 'g1', created: opts.created ?? Date.now() });
  await op.set(keys.session(sid), body, 'EX', 5);
}

/** The apps' functions (cart_set_by, cart_clear_by), sent now with a deadline 5 s away unless told. */
const fcall = (
  name: string,
  sid: string,
  email: string,
  items?: Map<string, number>,
  deadline = Date.now() + 5000,
) => op.call('FCALL', name, CART_KEYS, ...cartCallArgs(sid, email, LIFE, Date.now(), deadline, items));

describe('cart_set_by and cart_clear_by on a real Redis', () => {
  it('a valid session: writes, renews the idle lifetime, returns the whole cart; a retry leaves the same', async () => {
    const email = 'valid@example.org';
    await seed('v1', email);
    await op.hset(keys.cart(email), 'dock', '4', 'mouse', '1');
    const items = new Map([
      ['mouse', 0],
      ['webcam', 2],
    ]);
    const reply = await fcall('cart_set_by', 'v1', email, items);
    assert.deepEqual(reply, ['dock', '4', 'webcam', '2']);
    assert.ok((await op.ttl(keys.session('v1'))) > 5, 'renewed to the idle lifetime');
    assert.deepEqual(await fcall('cart_set_by', 'v1', email, items), reply, 'run again: the same cart');
    assert.equal(await fcall('cart_clear_by', 'v1', email), 1);
    assert.equal(await op.exists(keys.cart(email)), 0);
  });

  it('refuses (nil, nothing written, nothing renewed) a missing, foreign, older-generation, too old or malformed session, or a deleted account', async () => {
    const email = 'refused@example.org';
    const cases: [string, () => Promise<void>][] = [
      ['missing', async () => undefined],
      ['another email', () => seed('r1', 'someone-else@example.org')],
      ['older generation', () => seed('r1', email, { gen: 'g0' })],
      ['past the absolute lifetime', () => seed('r1', email, { created: Date.now() - 3_600_000 })],
      ['not JSON', () => seed('r1', email, { raw: 'not json' })],
      ['JSON null', () => seed('r1', email, { raw: 'null' })],
      ['no creation time', () => seed('r1', email, { raw: JSON.stringify({ email, gen: 'g1' }) })],
      [
        'account deleted',
        async () => {
          await seed('r1', email);
          await op.del(keys.user(email));
        },
      ],
    ];
    for (const [what, prepare] of cases) {
      await op.del(keys.session('r1'), keys.cart(email));
      await prepare();
      const ttl = await op.ttl(keys.session('r1'));
      assert.equal(await fcall('cart_set_by', 'r1', email, new Map([['dock', 1]])), null, what);
      assert.equal(await fcall('cart_clear_by', 'r1', email), null, what);
      assert.equal(await op.exists(keys.cart(email)), 0, `${what}: no cart written`);
      assert.ok((await op.ttl(keys.session('r1'))) <= ttl, `${what}: not renewed`);
    }
    // One millisecond inside the absolute lifetime still writes.
    await seed('r1', email, { created: Date.now() - 3_599_000 });
    assert.deepEqual(await fcall('cart_set_by', 'r1', email, new Map([['dock', 1]])), ['dock', '1']);
  });

  it('refuses (LATE, nothing written, nothing renewed) a call that reaches the master after its deadline', async () => {
    const email = 'late@example.org';
    await seed('l1', email);
    await op.hset(keys.cart(email), 'dock', '4');
    const ttl = await op.ttl(keys.session('l1'));
    const past = Date.now() - 1;
    const late = (p: Promise<unknown>) => p.then(String, (e: Error) => e.message);
    assert.match(await late(fcall('cart_set_by', 'l1', email, new Map([['dock', 9]]), past)), /^LATE /);
    assert.match(await late(fcall('cart_clear_by', 'l1', email, undefined, past)), /^LATE /);
    assert.equal(await op.hget(keys.cart(email), 'dock'), '4', 'the cart as it was');
    assert.ok((await op.ttl(keys.session('l1'))) <= ttl, 'the session not renewed');
    assert.deepEqual(await fcall('cart_set_by', 'l1', email, new Map([['dock', 9]])), ['dock', '9']);
  });

  it("keeps the previous release's cart_set and cart_clear (no deadline) for its apps during a rolling deploy", async () => {
    const email = 'previous@example.org';
    await seed('o1', email);
    const v1 = cartCallArgs('o1', email, LIFE, Date.now(), 0).filter((_, i) => i !== 7);
    assert.deepEqual(await op.call('FCALL', 'cart_set', CART_KEYS, ...v1, 'mouse', 2), ['mouse', '2']);
    assert.equal(await op.call('FCALL', 'cart_clear', CART_KEYS, ...v1), 1);
    assert.equal(await op.exists(keys.cart(email)), 0);
  });

  it('replicas get its effects', async () => {
    const email = 'replicated@example.org';
    await seed('p1', email);
    await fcall('cart_set_by', 'p1', email, new Map([['headset', 3]]));
    assert.ok(((await op.call('WAIT', 2, 5000)) as number) >= 1);
    for (const n of s.topology.redis.filter((x) => x.name !== master.name)) {
      await waitFor(`${n.name} to hold the cart`, () =>
        withRedis(n.host, n.port, s.login, async (r) => (await r.hget(keys.cart(email), 'headset')) === '3'),
      );
    }
  });
});

/** Register and log in through the app: the client with its session cookie, and the CSRF token. */
async function loggedIn(email: string): Promise<{ c: Client; token: string }> {
  const c = new Client(s.appUrls[0]!);
  const password = 'a-long-enough-password';
  assert.equal((await c.request('POST', '/api/register', { json: { email, password } })).status, 201);
  const login = await c.request('POST', '/api/login', { json: { email, password } });
  assert.equal(login.status, 200, login.text);
  return { c, token: String(login.json()['csrfToken']) };
}

/**
 * A MONITOR connection. ioredis enters its monitoring state a tick after MONITOR's answer, so a
 * command of another client that arrives in the same read (the supervisor's guard looks five times
 * a second) is taken for an answer nobody waits for ("Command queue state error"): try again.
 */
async function monitor(): Promise<Redis> {
  for (let attempt = 1; ; attempt++) {
    const m = op.duplicate({ monitor: true, lazyConnect: false });
    try {
      await new Promise<void>((resolve, reject) => {
        m.once('error', reject);
        m.once('monitoring', () => resolve());
      });
      return m;
    } catch (err) {
      m.disconnect();
      if (attempt >= 5 || !/Command queue state error/.test(String(err))) throw err;
    }
  }
}

describe("the app's cart writes", () => {
  it('PUT /api/cart is one FCALL and the WAIT on the app connection', async () => {
    const { c, token } = await loggedIn('one-call@example.org');
    const list = String(await op.call('CLIENT', 'LIST'));
    const line = list.split('\n').find((l) => / name=app-1:master /.test(l));
    assert.ok(line, list);
    const addr = /\baddr=(\S+)/.exec(line)![1]!;
    const watch = await monitor();
    const seen: string[] = [];
    watch.on('monitor', (_time: string, args: string[], source: string) => {
      if (source === addr) seen.push(args[0]!.toLowerCase());
      else if (source === 'lua') seen.push(`lua:${args[0]!.toLowerCase()}`);
    });
    try {
      const put = await c.request('PUT', '/api/cart', {
        json: { items: { dock: 2 } },
        headers: { 'x-csrf-token': token },
      });
      assert.equal(put.status, 200, put.text);
      assert.equal((put.json()['items'] as Record<string, number>)['dock'], 2);
      await waitFor('the WAIT in MONITOR', async () => seen.includes('wait'));
      assert.deepEqual(
        seen.filter((x) => !x.startsWith('lua:')),
        ['fcall', 'wait'],
      );
      // The function reads the master's clock for the deadline as the app's user (its ACL has TIME).
      assert.ok(
        ['lua:time', 'lua:hset', 'lua:expire'].every((x) => seen.includes(x)),
        seen.join(' '),
      );
    } finally {
      watch.disconnect();
    }
  });

  it('every cart write still works with MULTI, EXEC and GETEX taken from the app user', async () => {
    const { c, token } = await loggedIn('no-multi@example.org');
    const acl = (rule: string[]) => op.call('ACL', 'SETUSER', 'app', ...rule);
    await acl(['-multi', '-exec', '-discard', '-getex']);
    try {
      const put = await c.request('PUT', '/api/cart', {
        json: { items: { mouse: 3, dock: 1 } },
        headers: { 'x-csrf-token': token },
      });
      assert.equal(put.status, 200, put.text);
      const items = put.json()['items'] as Record<string, number>;
      assert.deepEqual([items['mouse'], items['dock'], items['webcam']], [3, 1, 0]);
      const add = await c.request('POST', '/add', { form: { qty_mouse: '5', _csrf: token } });
      assert.equal(add.status, 303, add.text);
      assert.equal(add.headers.get('location'), '/get?m=saved');
      assert.equal(await op.hget(keys.cart('no-multi@example.org'), 'mouse'), '5');
      const del = await c.request('DELETE', '/api/cart', { headers: { 'x-csrf-token': token } });
      assert.equal(del.status, 200, del.text);
      assert.equal(await op.exists(keys.cart('no-multi@example.org')), 0);
    } finally {
      await acl(['+multi', '+exec', '+discard', '+getex']);
    }
  });
});

describe('a failover', () => {
  it('the promoted replica has the functions and the cart written just before', async () => {
    const email = 'before-failover@example.org';
    const { c, token } = await loggedIn(email);
    const put = await c.request('PUT', '/api/cart', {
      json: { items: { keyboard: 7 } },
      headers: { 'x-csrf-token': token },
    });
    assert.equal(put.status, 200, put.text);
    const old = master;
    await s.kill(old.name);
    let next: RedisNode | undefined;
    await waitFor(
      'the Sentinels to promote another node',
      async () => {
        next = await s.redisMaster();
        return (
          !!next &&
          next.name !== old.name &&
          (await nodeState(next.host, next.port, s.login)).role === 'master'
        );
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    master = next!;
    await withRedis(master.host, master.port, s.login, async (r) => {
      assert.ok(await hasLibrary(r), 'the library on the new master');
      assert.equal(await r.hget(keys.cart(email), 'keyboard'), '7', 'the acknowledged cart');
    });
    let after: Awaited<ReturnType<Client['request']>> | undefined;
    await waitFor('the app to write on the new master', async () => {
      after = await c.request('PUT', '/api/cart', {
        json: { items: { webcam: 1 } },
        headers: { 'x-csrf-token': token },
      });
      return after.status === 200;
    });
    const items = after!.json()['items'] as Record<string, number>;
    assert.equal(items['keyboard'], 7);
    assert.equal(items['webcam'], 1);
  });
});
