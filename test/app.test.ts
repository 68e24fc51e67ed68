// Over 300 lines: the app's whole flow (13 cases) against one stack started once.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { PRODUCTS } from '../src/app/products.ts';
import { together } from '../src/ha/clients.ts';
import { Client } from './helpers/http.ts';
import { snapshot } from './helpers/redis.ts';
import { type AppStack, startAppStack } from './helpers/stack.ts';

const PASSWORD = 'sup3r-secret-pass';
const LIMIT_PER_EMAIL = 3;
const LIMIT_PER_IP = 6;
let stack: AppStack;
let redis: Redis;
let n = 0;
const email = (tag: string) => `${tag}-${++n}@Example.org`;

before(async () => {
  stack = await startAppStack({
    LOGIN_LIMIT_PER_EMAIL: String(LIMIT_PER_EMAIL),
    LOGIN_LIMIT_PER_IP: String(LIMIT_PER_IP),
    // Every test here registers from the same address.
    REGISTER_LIMIT_PER_IP: '1000',
    // No HAProxy here: the tests play the proxy, from 127.0.0.1, to give a client an address.
    TRUST_PROXY: '127.0.0.1',
  });
  redis = await stack.masterClient();
});

after(async () => {
  redis?.disconnect();
  await stack?.stop();
});

async function apiLogin(c: Client, address: string, password = PASSWORD) {
  const res = await c.request('POST', '/api/login', { json: { email: address, password } });
  return { res, token: res.status === 200 ? String(res.json()['csrfToken']) : '' };
}

async function registered(tag: string, base = stack.appUrls[0]!) {
  const address = email(tag);
  const c = new Client(base);
  assert.equal(
    (await c.request('POST', '/api/register', { json: { email: address, password: PASSWORD } })).status,
    201,
  );
  const { res, token } = await apiLogin(c, address);
  assert.equal(res.status, 200);
  return { c, address: address.toLowerCase(), token };
}

describe('web app on Redis with Sentinel', () => {
  it('JSON journey: register, duplicate, wrong password, login, cart, delete, logout', async () => {
    const c = new Client(stack.appUrls[0]!);
    const address = email('json');
    const reg = await c.request('POST', '/api/register', {
      json: { email: ` ${address} `, password: PASSWORD },
    });
    assert.equal(reg.status, 201);
    assert.equal(reg.json()['email'], address.toLowerCase());
    assert.equal(reg.headers.get('x-instance'), 'app-1');
    const dup = await c.request('POST', '/api/register', {
      json: { email: address.toUpperCase(), password: PASSWORD },
    });
    assert.equal(dup.status, 409);
    assert.equal((await apiLogin(c, address, 'wrong-password')).res.status, 401);
    assert.equal((await c.get('/api/cart')).status, 401);

    const { res, token } = await apiLogin(c, address);
    assert.equal(res.status, 200);
    const cookie = res.headers.getSetCookie().find((s) => s.startsWith('sid='));
    assert.ok(cookie);
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Lax/);
    assert.doesNotMatch(cookie, /Expires|Max-Age/);

    const empty = await c.get('/api/cart');
    assert.equal(empty.status, 200);
    assert.deepEqual(Object.values(empty.json()['items'] as object), [0, 0, 0, 0, 0, 0]);

    const items = Object.fromEntries(PRODUCTS.map((p, i) => [p.id, i + 1]));
    const put = await c.request('PUT', '/api/cart', { json: { items }, headers: { 'x-csrf-token': token } });
    assert.equal(put.status, 200);
    // The answer is the whole cart as the write left it.
    assert.deepEqual(put.json()['items'], items);
    assert.deepEqual((await c.get('/api/cart')).json()['items'], items);
    assert.deepEqual(
      await redis.hgetall(`cart:{${address.toLowerCase()}}`),
      Object.fromEntries(PRODUCTS.map((p, i) => [p.id, String(i + 1)])),
    );

    const removeOne = await c.request('PUT', '/api/cart', {
      json: { items: { [PRODUCTS[0]!.id]: 0 } },
      headers: { 'x-csrf-token': token },
    });
    assert.deepEqual(removeOne.json()['items'], { ...items, [PRODUCTS[0]!.id]: 0 });
    assert.equal(await redis.hexists(`cart:{${address.toLowerCase()}}`, PRODUCTS[0]!.id), 0);

    assert.equal(
      (await c.request('DELETE', '/api/cart', { headers: { 'x-csrf-token': token } })).status,
      200,
    );
    assert.deepEqual(Object.values((await c.get('/api/cart')).json()['items'] as object), [0, 0, 0, 0, 0, 0]);
    assert.equal(await redis.exists(`cart:{${address.toLowerCase()}}`), 0);

    const sid = c.cookies.get('sid')!.split('.')[0]!;
    const saved = c.cookieHeader();
    assert.equal(
      (await c.request('POST', '/api/logout', { headers: { 'x-csrf-token': token } })).status,
      204,
    );
    assert.equal(await redis.exists(`sess:${sid}`), 0);
    assert.equal((await c.get('/api/cart')).status, 401);
    // The old cookie, replayed after logout, names a destroyed session.
    assert.equal((await c.get('/api/cart', { cookie: saved })).status, 401);
  });

  it('HTML journey through the forms', async () => {
    const c = new Client(stack.appUrls[1]!);
    const address = email('html').toLowerCase();
    assert.equal((await c.get('/')).headers.get('location'), '/login');
    const reg = await c.request('POST', '/register', {
      form: { _csrf: await c.formToken('/register'), email: address, password: PASSWORD },
    });
    assert.equal(reg.status, 303);
    assert.equal(reg.headers.get('location'), '/get?m=welcome');
    let page = await c.get('/get');
    assert.equal(page.status, 200);
    assert.match(page.text, new RegExp(address.replace('.', '\\.')));
    assert.equal((page.text.match(/data-product="[a-z]+">0</g) ?? []).length, 6);

    const taken = await new Client(stack.appUrls[0]!).request('POST', '/register', {
      form: { _csrf: '', email: address, password: PASSWORD },
    });
    assert.equal(taken.status, 403, 'a form without a CSRF token is refused');
    const dupClient = new Client(stack.appUrls[0]!);
    const dup = await dupClient.request('POST', '/register', {
      form: { _csrf: await dupClient.formToken('/register'), email: address, password: PASSWORD },
    });
    assert.equal(dup.status, 409);
    assert.match(dup.text, /already registered/);

    const logout = await c.request('POST', '/logout', { form: { _csrf: await c.formToken('/get') } });
    assert.equal(logout.status, 303);
    assert.equal((await c.get('/get')).headers.get('location'), '/login');

    const wrong = await c.request('POST', '/login', {
      form: { _csrf: await c.formToken('/login'), email: address, password: 'not-the-password' },
    });
    assert.equal(wrong.status, 401);
    assert.match(wrong.text, /class="error"[^>]*>wrong email or password/i);
    assert.match(wrong.text, new RegExp(`value="${address.replace('.', '\\.')}"`));

    const ok = await c.request('POST', '/login', {
      form: { _csrf: await c.formToken('/login'), email: address, password: PASSWORD },
    });
    assert.equal(ok.status, 303);
    assert.equal((await c.get('/')).headers.get('location'), '/get');

    const form: Record<string, string> = { _csrf: await c.formToken('/add') };
    PRODUCTS.forEach((p, i) => {
      form[`qty_${p.id}`] = String(10 + i);
    });
    assert.equal((await c.request('POST', '/add', { form })).status, 303);
    page = await c.get('/get');
    for (const [i, p] of PRODUCTS.entries())
      assert.match(page.text, new RegExp(`data-product="${p.id}">${10 + i}<`));
    const edit = await c.get('/add');
    assert.match(edit.text, new RegExp(`name="qty_${PRODUCTS[5]!.id}" type="number" value="15"`));

    const bad = await c.request('POST', '/add', { form: { ...form, [`qty_${PRODUCTS[0]!.id}`]: '-3' } });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /id="f-qty_keyboard-error"/);

    const confirm = await c.get('/delete');
    assert.match(confirm.text, /<form method="post" action="\/delete">/);
    assert.equal(
      (await c.request('POST', '/delete', { form: { _csrf: await c.formToken('/delete') } })).status,
      303,
    );
    page = await c.get('/get');
    assert.equal((page.text.match(/data-product="[a-z]+">0</g) ?? []).length, 6);

    assert.equal(
      (await c.request('POST', '/logout', { form: { _csrf: await c.formToken('/get') } })).status,
      303,
    );
    assert.equal((await c.get('/get')).headers.get('location'), '/login');
  });

  it('a session made on one instance serves the other, and survives a restart of the instance', async () => {
    const { c, address, token } = await registered('cross');
    const items = { [PRODUCTS[1]!.id]: 4 };
    assert.equal(
      (await c.request('PUT', '/api/cart', { json: { items }, headers: { 'x-csrf-token': token } })).status,
      200,
    );
    c.base = stack.appUrls[1]!;
    const other = await c.get('/api/cart');
    assert.equal(other.status, 200);
    assert.equal(other.headers.get('x-instance'), 'app-2');
    assert.equal(other.json()['email'], address);
    assert.equal((other.json()['items'] as Record<string, number>)[PRODUCTS[1]!.id], 4);

    await stack.restartApp('app-2');
    const again = await c.get('/api/cart');
    assert.equal(again.status, 200);
    assert.equal(again.json()['email'], address);
  });

  it('the session idles out after at most 600 s and every request renews it', async () => {
    const { c } = await registered('ttl');
    const key = `sess:${c.cookies.get('sid')!.split('.')[0]}`;
    const ttl = await redis.ttl(key);
    assert.ok(ttl > 590 && ttl <= 600, `ttl ${ttl}`);
    await redis.expire(key, 100);
    assert.equal((await c.get('/get')).status, 200);
    const renewed = await redis.ttl(key);
    assert.ok(renewed > 590 && renewed <= 600, `renewed ttl ${renewed}`);
    const stored = JSON.parse((await redis.get(key))!) as Record<string, unknown>;
    assert.deepEqual(Object.keys(stored).sort(), ['created', 'email', 'gen']);
  });

  it('stores a salted scrypt hash, never the password', async () => {
    const { address } = await registered('hash');
    const user = await redis.hgetall(`user:{${address}}`);
    assert.equal(user['email'], address);
    assert.match(user['password']!, /^scrypt\$\d+\$8\$1\$[\w-]+\$[\w-]+$/);
    const all = JSON.stringify(await redis.hgetall(`user:{${address}}`));
    assert.ok(!all.includes(PASSWORD));
  });

  it('of concurrent registrations of one email exactly one wins', async () => {
    const address = email('race');
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        new Client(stack.appUrls[i % 2]!).request('POST', '/api/register', {
          json: { email: address, password: `${PASSWORD}-${i}` },
        }),
      ),
    );
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [201, ...Array(11).fill(409)]);
    const winner = results.findIndex((r) => r.status === 201);
    const c = new Client(stack.appUrls[0]!);
    assert.equal((await apiLogin(c, address, `${PASSWORD}-${winner}`)).res.status, 200);
  });

  it('answers bad input with a 4xx naming the field and leaves Redis untouched', async () => {
    const { c, token } = await registered('bad');
    const h = { 'x-csrf-token': token };
    const p = PRODUCTS[0]!.id;
    const cases: [string, string, Parameters<Client['request']>[2], number, string?][] = [
      [
        'PUT',
        '/api/cart',
        { raw: '{"items": {', headers: { ...h, 'content-type': 'application/json' } },
        400,
        'body',
      ],
      ['PUT', '/api/cart', { json: { items: { [p]: -1 } }, headers: h }, 400, `items.${p}`],
      ['PUT', '/api/cart', { json: { items: { [p]: 2.5 } }, headers: h }, 400, `items.${p}`],
      ['PUT', '/api/cart', { json: { items: { [p]: 1e9 } }, headers: h }, 400, `items.${p}`],
      ['PUT', '/api/cart', { json: { items: { [p]: '3' } }, headers: h }, 400, `items.${p}`],
      ['PUT', '/api/cart', { json: { items: { unicorn: 1 } }, headers: h }, 400, 'items.unicorn'],
      // A known product beside an unknown one: refused whole, nothing dropped silently.
      ['PUT', '/api/cart', { json: { items: { [p]: 1, unicorn: 1 } }, headers: h }, 400, 'items.unicorn'],
      ['PUT', '/api/cart', { json: { items: {} }, headers: h }, 400, 'items'],
      ['PUT', '/api/cart', { json: {}, headers: h }, 400, 'items'],
      ['POST', '/api/login', { json: { email: 'a@b.co' } }, 400, 'password'],
      ['PUT', '/api/cart', { json: { items: [1, 2] }, headers: h }, 400, 'items'],
      ['PUT', '/api/cart', { json: { items: { [p]: 1 } } }, 403, 'x-csrf-token'],
      [
        'PUT',
        '/api/cart',
        { json: { items: { [p]: 1 } }, headers: { 'x-csrf-token': 'forged' } },
        403,
        'x-csrf-token',
      ],
      ['DELETE', '/api/cart', {}, 403, 'x-csrf-token'],
      ['PUT', '/api/cart', { json: { items: { [p]: 1 }, pad: 'x'.repeat(40_000) }, headers: h }, 413, 'body'],
      ['POST', '/api/register', { json: { email: 'x'.repeat(300), password: PASSWORD } }, 400, 'email'],
      [
        'POST',
        '/api/register',
        { json: { email: 'new@example.org', password: 'p'.repeat(500) } },
        400,
        'password',
      ],
      ['POST', '/api/register', { json: { email: 'new@example.org', password: 123456789 } }, 400, 'password'],
      ['POST', '/api/register', { json: { email: ['a@b.co'], password: PASSWORD } }, 400, 'email'],
      ['POST', '/api/register', { json: 'just a string' }, 400, 'body'],
      [
        'POST',
        '/api/login',
        { raw: 'email=a', headers: { 'content-type': 'application/json' } },
        400,
        'body',
      ],
      // The API takes JSON only: a form body, or JSON sent as text, is refused before it is read.
      ['POST', '/api/login', { form: { email: 'a@b.co', password: PASSWORD } }, 415, 'content-type'],
      [
        'PUT',
        '/api/cart',
        { raw: JSON.stringify({ items: { [p]: 1 } }), headers: { ...h, 'content-type': 'text/plain' } },
        415,
        'content-type',
      ],
      ['POST', '/add', { form: { _csrf: 'forged', [`qty_${p}`]: '1' } }, 403],
      ['POST', '/add', { form: { [`qty_${p}`]: '1' } }, 403],
      ['POST', '/delete', { form: { _csrf: 'forged' } }, 403],
      ['POST', '/logout', { form: {} }, 403],
      [
        'POST',
        '/login',
        { raw: '%%%&&&===', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
        403,
      ],
    ];
    const before = await snapshot(redis);
    for (const [method, path, opts, status, field] of cases) {
      const res = await c.request(method, path, opts);
      assert.equal(
        res.status,
        status,
        `${method} ${path} ${JSON.stringify(opts).slice(0, 120)}: ${res.text.slice(0, 200)}`,
      );
      if (field && path.startsWith('/api')) assert.equal(res.json()['field'], field, `${method} ${path}`);
    }
    // Forms with a valid token but bad quantities: the page names the field.
    const formToken = await c.formToken('/add');
    for (const v of ['-1', '1.5', '100', 'many']) {
      const res = await c.request('POST', '/add', { form: { _csrf: formToken, [`qty_${p}`]: v } });
      assert.equal(res.status, 400, v);
      assert.match(res.text, new RegExp(`id="f-qty_${p}-error"`));
    }
    assert.equal(
      (await c.request('POST', '/add', { form: { _csrf: formToken, qty_unicorn: '1' } })).status,
      400,
    );
    assert.deepEqual(await snapshot(redis), before, 'bad input changed Redis');

    // Tampered or unknown session cookies mean "logged out", never an error.
    const [sid, mail, sig] = c.cookies.get('sid')!.split('.');
    const forged = new Client(stack.appUrls[0]!);
    for (const value of [
      `${sid}.${mail}.AAAA${sig!.slice(4)}`,
      `${sid}.${Buffer.from('eve@x.io').toString('base64url')}.${sig}`,
      'garbage',
      '',
    ]) {
      forged.cookies.set('sid', value);
      assert.equal((await forged.get('/api/cart')).status, 401, value);
      const page = await forged.get('/get');
      assert.equal(page.status, 303, value);
    }
    assert.equal((await c.get('/api/cart')).status, 200, 'the real session still works');
    assert.equal((await c.get('/no/such/page')).status, 404);
  });

  it('limits failed logins per email and per client address across instances', async () => {
    const { address } = await registered('limit');
    const c1 = new Client(stack.appUrls[0]!);
    const c2 = new Client(stack.appUrls[1]!);
    // Per address: the proxy's X-Forwarded-For (the tests' own, from TRUST_PROXY) is believed. An address of its own
    // (refused attempts count against the address, and the other tests log in from loopback).
    const from = (ip: string) => ({ 'x-forwarded-for': ip });
    const login = (c: Client, password: string) =>
      c.request('POST', '/api/login', { json: { email: address, password }, headers: from('203.0.113.6') });
    for (let i = 0; i < LIMIT_PER_EMAIL; i++) {
      assert.equal((await login(i % 2 ? c2 : c1, 'wrong-password')).status, 401);
    }
    for (const c of [c1, c2]) {
      const res = await login(c, PASSWORD);
      assert.equal(res.status, 429, 'even the right password waits');
      const retry = Number(res.headers.get('retry-after'));
      assert.ok(retry > 0 && retry <= 900, `retry-after ${retry}`);
    }
    for (let i = 0; i < LIMIT_PER_IP; i++) {
      const res = await c1.request('POST', '/api/login', {
        json: { email: email('ip'), password: 'wrong-password' },
        headers: from('203.0.113.7'),
      });
      assert.equal(res.status, 401);
    }
    const blocked = await c2.request('POST', '/api/login', {
      json: { email: email('ip'), password: 'x' },
      headers: from('203.0.113.7'),
    });
    assert.equal(blocked.status, 429);
    const other = await c2.request('POST', '/api/login', {
      json: { email: email('ip'), password: 'x' },
      headers: from('203.0.113.8'),
    });
    assert.equal(other.status, 401);
  });

  it('serves health, readiness, metrics and security headers on every response', async () => {
    const c = new Client(stack.appUrls[0]!);
    const health = await c.get('/healthz');
    assert.equal(health.status, 200);
    assert.equal((await c.get('/readyz')).status, 200);
    for (const res of [health, await c.get('/login'), await c.get('/missing')]) {
      assert.equal(res.headers.get('x-instance'), 'app-1');
      assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
      assert.equal(res.headers.get('x-frame-options'), 'DENY');
    }
    const metrics = (await c.get('/metrics')).text;
    assert.match(
      metrics,
      /http_requests_total\{instance_id="app-1",method="POST",route="\/api\/login",status="200"\} [1-9]/,
    );
    assert.match(
      metrics,
      /http_request_duration_seconds_bucket\{le="0.01",instance_id="app-1",route="\/api\/cart"\} \d+/,
    );
    // Node's own metrics, labelled like the rest.
    assert.match(metrics, /^process_cpu_seconds_total\{instance_id="app-1"\} [\d.e-]+$/m);
    assert.match(metrics, /^nodejs_eventloop_utilization\{instance_id="app-1"\} [\d.e-]+$/m);
    assert.match(metrics, /sessions_created_total\{instance_id="app-1"\} [1-9]/);
    // The family is declared, and no sample line counts an error on a healthy stack.
    assert.match(metrics, /^# TYPE redis_errors_total counter$/m);
    assert.doesNotMatch(metrics, /^redis_errors_total\{/m);
  });

  it('describes the API in /api/openapi.json from the schemas it validates with', async () => {
    const c = new Client(stack.appUrls[0]!);
    const res = await c.get('/api/openapi.json');
    assert.equal(res.status, 200);
    const doc = res.json() as {
      openapi: string;
      paths: Record<string, Record<string, { requestBody?: unknown; responses: Record<string, unknown> }>>;
    };
    assert.match(doc.openapi, /^3\./);
    assert.deepEqual(Object.keys(doc.paths).sort(), [
      '/api/cart',
      '/api/login',
      '/api/logout',
      '/api/products',
      '/api/register',
      '/api/session',
    ]);
    assert.deepEqual(Object.keys(doc.paths['/api/cart']!).sort(), ['delete', 'get', 'put']);
    const put = doc.paths['/api/cart']!['put']!;
    const body = JSON.stringify(put.requestBody);
    for (const p of PRODUCTS) assert.ok(body.includes(`"${p.id}"`), p.id);
    assert.ok(body.includes('"maximum":99'));
    assert.ok(put.responses['200'] && put.responses['403'] && put.responses['503']);
  });

  it('keeps passwords, cookies and session ids out of the logs', async () => {
    const { c } = await registered('logs');
    await c.get('/get');
    const sid = c.cookies.get('sid')!.split('.')[0]!;
    const logs = (await Promise.all(stack.appLogs().map((f) => readFile(f, 'utf8')))).join('\n');
    assert.match(logs, /"reqId":"[\w-]+"/);
    assert.ok(!logs.includes(PASSWORD), 'a password was logged');
    assert.ok(!logs.includes(sid), 'a session id was logged');
    for (const line of logs.split('\n').filter((l) => l.startsWith('{'))) JSON.parse(line);
  });

  it('keeps few Redis connections: none per request', async () => {
    const clientsBefore = Number(/connected_clients:(\d+)/.exec(await redis.info('clients'))![1]);
    const { c } = await registered('conns');
    await Promise.all(Array.from({ length: 50 }, () => c.get('/api/cart')));
    const info = await redis.info('clients');
    const clientsAfter = Number(/connected_clients:(\d+)/.exec(info)![1]);
    assert.ok(clientsAfter <= clientsBefore + 1, `${clientsBefore} -> ${clientsAfter}`);
  });

  it('sends the commands of one read to Redis in one write', async () => {
    const client = await stack.masterClient();
    try {
      const socket = client.stream as Socket & { _write: unknown; _writev: unknown };
      let writes = 0;
      for (const name of ['_write', '_writev'] as const) {
        const original = socket[name] as (...args: unknown[]) => unknown;
        socket[name] = (...args: unknown[]) => {
          writes++;
          return original.apply(socket, args);
        };
      }
      const key = `together-${++n}`;
      await client.hset(`${key}:h`, 'a', '1');
      writes = 0;
      const [value, hash] = await together(client, () =>
        Promise.all([client.getex(key, 'EX', 60), client.hgetall(`${key}:h`)]),
      );
      assert.equal(value, null);
      assert.deepEqual(hash, { a: '1' });
      assert.equal(writes, 1, 'the two commands took more than one write');
      writes = 0;
      // Two reads of one turn (two page views arriving together) share the write too.
      await Promise.all([
        together(client, () => client.get(key)),
        together(client, () => client.hgetall(`${key}:h`)),
      ]);
      assert.equal(writes, 1, 'two reads of one turn took more than one write');
      writes = 0;
      await Promise.all([client.get(key), client.hgetall(`${key}:h`)]);
      assert.equal(writes, 2, 'without together() each command is a write of its own');
    } finally {
      client.disconnect();
    }
  });
});
