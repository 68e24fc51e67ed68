// Over 300 lines: the cookie, password, rotation and device rules (44 cases) share one set of fixtures.
import assert from 'node:assert/strict';
import { randomBytes, scryptSync } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { operatorOnly } from '../../src/app/operator/access.ts';
import { BackgroundScrypt } from '../../src/app/security/background-scrypt.ts';
import { HashSlots, inSlot } from '../../src/app/security/hash-slots.ts';
import { answerHeaders, SECURITY_HEADERS } from '../../src/app/security/headers.ts';
import { hashPassword, verifyAgainstDummy, verifyPassword } from '../../src/app/security/password.ts';
import {
  acceptedRequestId,
  crossSiteReason,
  hasBody,
  isJson,
  WRITE_METHODS,
} from '../../src/app/security/requests.ts';
import {
  cookieNames,
  DEVICE_COOKIE_MAX_AGE_SECONDS,
  parseCookies,
  serializeCookie,
  Tokens,
} from '../../src/app/security/tokens.ts';

const tokens = new Tokens('a-test-secret-with-enough-entropy-0123456789');

describe('session cookie', () => {
  it('round-trips the session id and email under one signature', () => {
    const sid = tokens.newId();
    const value = tokens.sessionCookie(sid, 'alice@example.com');
    assert.deepEqual(tokens.readSessionCookie(value), { sid, email: 'alice@example.com' });
  });

  it('refuses a tampered, truncated, foreign or malformed cookie', () => {
    const sid = tokens.newId();
    const value = tokens.sessionCookie(sid, 'alice@example.com');
    const [s, e, sig] = value.split('.') as [string, string, string];
    const otherEmail = Buffer.from('mallory@example.com').toString('base64url');
    assert.equal(tokens.readSessionCookie(`${s}.${otherEmail}.${sig}`), undefined);
    assert.equal(tokens.readSessionCookie(`${tokens.newId()}.${e}.${sig}`), undefined);
    assert.equal(tokens.readSessionCookie(`${s}.${e}`), undefined);
    assert.equal(tokens.readSessionCookie(''), undefined);
    assert.equal(tokens.readSessionCookie('x'.repeat(5000)), undefined);
    const foreign = new Tokens('another-secret-with-enough-entropy-9876543210');
    assert.equal(foreign.readSessionCookie(value), undefined);
  });

  it('still refuses tampered cookies once the genuine one has been read (and remembered)', () => {
    const sid = tokens.newId();
    const value = tokens.sessionCookie(sid, 'bob@example.com');
    assert.deepEqual(tokens.readSessionCookie(value), { sid, email: 'bob@example.com' });
    assert.deepEqual(tokens.readSessionCookie(value), { sid, email: 'bob@example.com' });
    const [s, e, sig] = value.split('.') as [string, string, string];
    const otherEmail = Buffer.from('mallory@example.com').toString('base64url');
    assert.equal(tokens.readSessionCookie(`${s}.${otherEmail}.${sig}`), undefined);
    const flipped = `${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`;
    assert.equal(tokens.readSessionCookie(`${s}.${e}.${flipped}`), undefined);
    assert.equal(tokens.readSessionCookie(`${value} `), undefined);
    assert.equal(
      new Tokens('another-secret-with-enough-entropy-9876543210').readSessionCookie(value),
      undefined,
    );
    assert.equal(tokens.csrfFor('session', sid), tokens.csrfFor('session', sid));
  });

  it('binds CSRF tokens to their session or nonce', () => {
    const a = tokens.newId();
    const b = tokens.newId();
    assert.ok(tokens.checkCsrf(tokens.csrfFor('session', a), 'session', a));
    assert.ok(!tokens.checkCsrf(tokens.csrfFor('session', a), 'session', b));
    assert.ok(!tokens.checkCsrf(tokens.csrfFor('anon', a), 'session', a));
    assert.ok(!tokens.checkCsrf(undefined, 'session', a));
    assert.ok(!tokens.checkCsrf(tokens.csrfFor('session', a), 'session', undefined));
    const nonce = tokens.newId();
    assert.equal(tokens.readAnonCookie(tokens.anonCookie(nonce)), nonce);
    assert.equal(tokens.readAnonCookie(`${nonce}.forged`), undefined);
  });

  it('writes a browser-session cookie that scripts cannot read', () => {
    const c = serializeCookie('sid', 'v', { secure: false });
    assert.match(c, /HttpOnly/);
    assert.match(c, /SameSite=Lax/);
    assert.doesNotMatch(c, /Expires|Max-Age|Secure/);
    assert.match(serializeCookie('sid', 'v', { secure: true }), /; Secure/);
    assert.deepEqual(
      [...parseCookies('a=1; b=2;c=3=4; bad; a=9')],
      [
        ['a', '1'],
        ['b', '2'],
        ['c', '3=4'],
      ],
    );
  });
});

describe('password hashing', () => {
  it('in the background: the same hashes, on a thread that yields the CPU', async () => {
    const background = new BackgroundScrypt();
    try {
      const hashes = await Promise.all([
        hashPassword('correct horse', 1024, background),
        hashPassword('battery staple', 1024, background),
      ]);
      assert.ok(await verifyPassword('correct horse', hashes[0]));
      assert.ok(await verifyPassword('battery staple', hashes[1]));
      assert.ok(!(await verifyPassword('correct horse', hashes[1])));
      // Field 19 of a thread's stat is its nice value: the workers' threads are lowered, no other.
      const nice = readdirSync('/proc/self/task').map((tid) =>
        Number(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]),
      );
      assert.ok(nice.includes(10), `nice values ${nice}`);
      assert.equal(nice[0], 0, 'the main thread keeps its priority');
    } finally {
      await background.close();
    }
  });

  it('stores scrypt parameters and a per-user salt, never the password', async () => {
    const h1 = await hashPassword('correct horse', 1024);
    const h2 = await hashPassword('correct horse', 1024);
    assert.match(h1, /^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    assert.notEqual(h1, h2);
    assert.ok(!h1.includes('correct horse'));
    assert.ok(await verifyPassword('correct horse', h1));
    assert.ok(!(await verifyPassword('correct horsf', h1)));
    assert.ok(!(await verifyPassword('x', 'plain-text')));
  });
});

describe('secret rotation', () => {
  const OLD = 'the-old-secret-with-enough-entropy-0123456789';
  const NEW = 'the-new-secret-with-enough-entropy-9876543210';
  const before = new Tokens(OLD);
  const rotated = new Tokens(NEW, OLD);

  it('accepts cookies and tokens signed with the previous secret', () => {
    const sid = before.newId();
    const cookie = before.sessionCookie(sid, 'alice@example.com');
    assert.deepEqual(rotated.readSessionCookie(cookie), { sid, email: 'alice@example.com' });
    assert.ok(rotated.checkCsrf(before.csrfFor('session', sid), 'session', sid));
    const nonce = before.newId();
    assert.equal(rotated.readAnonCookie(before.anonCookie(nonce)), nonce);
    assert.ok(rotated.checkCsrf(before.csrfFor('anon', nonce), 'anon', nonce));
  });

  it('signs with the current secret only, and forgets a secret that is no longer given', () => {
    const sid = rotated.newId();
    const cookie = rotated.sessionCookie(sid, 'bob@example.com');
    assert.deepEqual(new Tokens(NEW).readSessionCookie(cookie), { sid, email: 'bob@example.com' });
    assert.equal(before.readSessionCookie(cookie), undefined);
    assert.equal(rotated.csrfFor('session', sid), new Tokens(NEW).csrfFor('session', sid));
    const old = before.sessionCookie(sid, 'bob@example.com');
    assert.equal(new Tokens(NEW).readSessionCookie(old), undefined);
    assert.ok(!new Tokens(NEW).checkCsrf(before.csrfFor('session', sid), 'session', sid));
    // A value signed with neither is refused whatever the secrets.
    const [s, e] = old.split('.') as [string, string, string];
    assert.equal(rotated.readSessionCookie(`${s}.${e}.${'A'.repeat(43)}`), undefined);
  });
});

describe('operator views', () => {
  /** What operatorOnly decides for a request with this Authorization header: passed, or its status. */
  const decide = (check: ReturnType<typeof operatorOnly>, authorization?: string) => {
    let result: number | 'passed' = 'passed';
    const req = { url: '/metrics?x=1', method: 'GET', headers: authorization ? { authorization } : {} };
    check(req as never, undefined, (err) => {
      if (err) result = (err as Error & { statusCode: number }).statusCode;
    });
    return result;
  };
  const basic = (user: string, password: string) =>
    `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

  it('pass the operator with the password, or the previous one while it is rotated; 404 otherwise', () => {
    const one = operatorOnly('current-password');
    assert.equal(decide(one, basic('operator', 'current-password')), 'passed');
    assert.equal(decide(one, basic('operator', 'previous-password')), 404);
    assert.equal(decide(one, basic('admin', 'current-password')), 404);
    assert.equal(decide(one), 404);
    assert.equal(decide(one, 'Bearer current-password'), 404);
    const two = operatorOnly('current-password', 'previous-password');
    assert.equal(decide(two, basic('operator', 'current-password')), 'passed');
    assert.equal(decide(two, basic('operator', 'previous-password')), 'passed');
    assert.equal(decide(two, basic('operator', 'other-password')), 404);
    // Without a password the views are open; a previous one alone does not close them.
    assert.equal(decide(operatorOnly(undefined)), 'passed');
    assert.equal(decide(operatorOnly(undefined, 'previous-password')), 'passed');
  });
});

describe('cookie names', () => {
  it('are __Host- prefixed when the cookies are Secure', () => {
    assert.deepEqual(cookieNames(false), { session: 'sid', anon: 'csrf', device: 'dev' });
    assert.deepEqual(cookieNames(true), { session: '__Host-sid', anon: '__Host-csrf', device: '__Host-dev' });
    const c = serializeCookie(cookieNames(true).session, 'v', { secure: true });
    // What the __Host- prefix requires: Secure, Path=/ and no Domain.
    assert.match(c, /^__Host-sid=v; /);
    assert.match(c, /; Path=\/(;|$)/);
    assert.match(c, /; Secure/);
    assert.doesNotMatch(c, /Domain/i);
  });
});

describe('device cookie', () => {
  const id = 'D'.repeat(32);

  it('round-trips the browser id, the email and the generation under one signature', () => {
    const value = tokens.deviceCookie(id, 'a@b.co', 'gen-0123456789ab');
    assert.deepEqual(tokens.readDeviceCookie(value), { id, email: 'a@b.co', gen: 'gen-0123456789ab' });
  });

  it('refuses a tampered, foreign, session-shaped or malformed one', () => {
    const value = tokens.deviceCookie(id, 'a@b.co', 'g1');
    const [d, e, g, sig] = value.split('.') as [string, string, string, string];
    const other = Buffer.from('eve@b.co').toString('base64url');
    for (const bad of [
      `${d}.${other}.${g}.${sig}`,
      `${d}.${e}.g2.${sig}`,
      `${'E'.repeat(32)}.${e}.${g}.${sig}`,
      `${d}.${e}.${g}.${sig.slice(0, -1)}`,
      `${d}.${e}.${g}`,
      new Tokens('another-secret-with-enough-entropy-012345').deviceCookie(id, 'a@b.co', 'g1'),
      // A session cookie's signature does not make a device cookie, nor the other way round.
      tokens.sessionCookie(id, 'a@b.co'),
      '',
      `${value}.x`,
      `${'D'.repeat(33)}.${e}.${g}.${sig}`,
      'x'.repeat(601),
    ]) {
      assert.equal(tokens.readDeviceCookie(bad), undefined, bad);
    }
    assert.equal(tokens.readSessionCookie(value), undefined);
  });

  it('is read with the previous secret during a rotation, and written as a long-lived HttpOnly cookie', () => {
    const old = new Tokens('old-secret-with-enough-entropy-0123456789ab');
    const rotated = new Tokens(
      'new-secret-with-enough-entropy-0123456789ab',
      'old-secret-with-enough-entropy-0123456789ab',
    );
    assert.equal(rotated.readDeviceCookie(old.deviceCookie(id, 'a@b.co', 'g1'))?.email, 'a@b.co');
    const c = serializeCookie('dev', 'v', { secure: false, maxAge: DEVICE_COOKIE_MAX_AGE_SECONDS });
    assert.match(c, /; HttpOnly; SameSite=Lax; Max-Age=15552000$/);
  });
});

describe('request checks', () => {
  it('keeps a request id only when it is at most 64 characters of [A-Za-z0-9_-]', () => {
    assert.equal(acceptedRequestId('abc-DEF_123'), 'abc-DEF_123');
    assert.equal(acceptedRequestId('x'.repeat(64)), 'x'.repeat(64));
    for (const bad of ['x'.repeat(65), 'x'.repeat(6000), '', 'a b', 'a\nb', 'é', '../etc', '{"a":1}'])
      assert.equal(acceptedRequestId(bad), undefined, bad);
    assert.equal(acceptedRequestId(undefined), undefined);
    assert.equal(acceptedRequestId(['a', 'b']), undefined);
  });

  it('tells a cross-site write from a same-site one', () => {
    const host = 'shop.example.org';
    assert.equal(crossSiteReason({ host }), undefined);
    assert.equal(crossSiteReason({ host, origin: 'https://shop.example.org' }), undefined);
    assert.equal(
      crossSiteReason({ host: 'shop.example.org:443', origin: 'https://shop.example.org' }),
      undefined,
    );
    assert.equal(crossSiteReason({ host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8080' }), undefined);
    assert.equal(crossSiteReason({ host, 'sec-fetch-site': 'same-origin' }), undefined);
    assert.ok(crossSiteReason({ host, origin: 'https://evil.example' }));
    assert.ok(crossSiteReason({ host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8081' }));
    assert.ok(crossSiteReason({ host, origin: 'https://shop.example.org.evil.example' }));
    assert.ok(crossSiteReason({ host, origin: 'null' }));
    assert.ok(crossSiteReason({ host, origin: 'file://' }));
    assert.ok(crossSiteReason({ origin: 'https://shop.example.org' }));
    assert.ok(crossSiteReason({ host, 'sec-fetch-site': 'cross-site' }));
    assert.ok(crossSiteReason({ host, origin: 'https://shop.example.org', 'sec-fetch-site': 'cross-site' }));
  });

  it('knows a JSON body when it sees one', () => {
    assert.ok(isJson('application/json'));
    assert.ok(isJson('Application/JSON; charset=utf-8'));
    for (const t of [
      undefined,
      'application/x-www-form-urlencoded',
      'text/plain',
      'multipart/form-data; boundary=x',
    ])
      assert.ok(!isJson(t), String(t));
    assert.ok(!isJson('application/jsonp'));
    assert.ok(hasBody({ 'content-length': '12' }));
    assert.ok(hasBody({ 'transfer-encoding': 'chunked' }));
    assert.ok(!hasBody({ 'content-length': '0' }));
    assert.ok(!hasBody({}));
  });
});

describe('password hash slots', () => {
  it('give registrations at most half the slots, and refuse them past a short queue', async () => {
    const slots = new HashSlots(4);
    const held = [await slots.registration()!, await slots.registration()!];
    assert.equal(slots.usage.registering, 2);
    const queued: Promise<unknown>[] = [];
    for (let i = 0; i < slots.registrationQueueMax; i++) queued.push(slots.registration()!);
    assert.equal(slots.registration(), undefined, 'refused at once');
    // Logins still find the two slots kept for them.
    const logins = [await slots.login()!, await slots.login()!];
    assert.equal(slots.usage.busy, 4);
    for (const release of [...held, ...logins]) release();
    assert.equal(slots.usage.registering, 2, 'the queue moves up to the registrations share');
  });

  it('serve waiting logins before waiting registrations', async () => {
    const slots = new HashSlots(2);
    const first = await slots.login()!;
    const second = await slots.login()!;
    const order: string[] = [];
    const reg = slots.registration()!.then((r) => {
      order.push('registration');
      return r;
    });
    const login = slots.login()!.then((r) => {
      order.push('login');
      return r;
    });
    first();
    (await login)();
    second();
    (await reg)();
    assert.deepEqual(order, ['login', 'registration']);
    assert.deepEqual(slots.usage, { busy: 0, registering: 0, waiting: 0 });
  });

  it('give a slot back once, however often it is released', async () => {
    const slots = new HashSlots(2);
    const release = await slots.login()!;
    release();
    release();
    assert.equal(slots.usage.busy, 0);
  });
});

const COST = 1024;

describe('verifyPassword on malformed records', () => {
  it('accepts the well-formed record and refuses every field changed', async () => {
    const good = await hashPassword('pw', COST);
    assert.equal(await verifyPassword('pw', good), true);
    const parts = good.split('$');
    const variant = (i: number, v: string) => parts.map((p, j) => (j === i ? v : p)).join('$');
    const bad = [
      `${good}$extra`,
      parts.slice(0, 5).join('$'),
      variant(0, 'bcrypt'),
      variant(1, '0'),
      variant(1, '-1024'),
      variant(1, '1024.5'),
      variant(1, 'x'),
      variant(2, '0'),
      variant(2, '-8'),
      variant(3, '0'),
      variant(3, '1.5'),
    ];
    for (const b of bad) assert.equal(await verifyPassword('pw', b), false, b);
  });

  it('refuses a stored key of another length even when its start matches', async () => {
    const salt = randomBytes(16);
    const key = scryptSync('pw', salt, 32, { N: COST, r: 8, p: 1 });
    const record = (k: Buffer) =>
      ['scrypt', COST, 8, 1, salt.toString('base64url'), k.toString('base64url')].join('$');
    assert.equal(await verifyPassword('pw', record(key)), true);
    assert.equal(await verifyPassword('pw', record(key.subarray(0, 16))), false);
    assert.equal(await verifyPassword('pw', record(Buffer.concat([key, Buffer.from([0])]))), false);
  });

  it('checks against a dummy hash and answers false, whatever the password', async () => {
    assert.equal(await verifyAgainstDummy('dummy-password-for-timing', COST), false);
    assert.equal(await verifyAgainstDummy('x', COST), false);
  });
});

describe('BackgroundScrypt', () => {
  const opts = { N: COST, r: 8, p: 1 };
  const internals = (b: BackgroundScrypt) => b as unknown as { idle: unknown[]; all: Set<unknown> };

  it('derives the same key as scrypt, reusing one idle worker for jobs one after another', async () => {
    const b = new BackgroundScrypt();
    try {
      const salt = randomBytes(16);
      const key = await b.derive('pw', salt, 32, opts);
      assert.deepEqual(key, scryptSync('pw', salt, 32, opts));
      await b.derive('pw2', salt, 16, opts);
      assert.equal(internals(b).all.size, 1);
      assert.equal(internals(b).idle.length, 1);
    } finally {
      await b.close();
    }
  });

  it('starts one worker per job running at once', async () => {
    const b = new BackgroundScrypt();
    try {
      const salt = randomBytes(16);
      const [k1, k2] = await Promise.all([b.derive('a', salt, 32, opts), b.derive('b', salt, 32, opts)]);
      assert.deepEqual(k1, scryptSync('a', salt, 32, opts));
      assert.deepEqual(k2, scryptSync('b', salt, 32, opts));
      assert.equal(internals(b).all.size, 2);
    } finally {
      await b.close();
    }
  });

  it("rejects with scrypt's own message on bad parameters, and the worker stays usable", async () => {
    const b = new BackgroundScrypt();
    try {
      await assert.rejects(b.derive('pw', randomBytes(16), 32, { N: 1000, r: 8, p: 1 }), (err: Error) => {
        assert.match(err.message, /N|param|invalid/i);
        assert.notEqual(err.message, 'scrypt failed');
        return true;
      });
      const salt = randomBytes(16);
      assert.deepEqual(await b.derive('pw', salt, 32, opts), scryptSync('pw', salt, 32, opts));
      assert.equal(internals(b).all.size, 1);
    } finally {
      await b.close();
    }
  });

  it('refuses the jobs of a worker that exits, and drops it from the idle ones', async () => {
    const b = new BackgroundScrypt();
    try {
      const salt = randomBytes(16);
      await b.derive('pw', salt, 32, opts);
      const [hasher] = internals(b).idle as { worker: { terminate(): Promise<number> } }[];
      const pending = b.derive('pw', salt, 32, { N: 1 << 17, r: 8, p: 1 });
      await hasher!.worker.terminate();
      await assert.rejects(pending, (err: Error) => /^scrypt worker exited \(\d+\)$/.test(err.message));
      assert.equal(internals(b).all.size, 0);
      assert.equal(internals(b).idle.length, 0);
      assert.deepEqual(await b.derive('pw', salt, 32, opts), scryptSync('pw', salt, 32, opts));
      assert.equal(internals(b).all.size, 1);
    } finally {
      await b.close();
    }
  });

  it('drops an idle worker that exits, and the next job gets a new one', async () => {
    const b = new BackgroundScrypt();
    try {
      const salt = randomBytes(16);
      await b.derive('pw', salt, 32, opts);
      const [hasher] = internals(b).idle as { worker: { terminate(): Promise<number> } }[];
      await hasher!.worker.terminate();
      for (let i = 0; i < 200 && internals(b).idle.length > 0; i++)
        await new Promise((r) => setTimeout(r, 5));
      assert.equal(internals(b).idle.length, 0);
      assert.deepEqual(await b.derive('x', salt, 32, opts), scryptSync('x', salt, 32, opts));
    } finally {
      await b.close();
    }
  });
});

describe('security headers', () => {
  it('forbids inline scripts, framing and caching, and names the instance', () => {
    const h = answerHeaders('app-1');
    assert.equal(h['x-instance'], 'app-1');
    assert.equal(
      h['content-security-policy'],
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    assert.equal(h['x-content-type-options'], 'nosniff');
    assert.equal(h['x-frame-options'], 'DENY');
    assert.equal(h['referrer-policy'], 'same-origin');
    assert.equal(h['cross-origin-opener-policy'], 'same-origin');
    assert.equal(h['cross-origin-resource-policy'], 'same-origin');
    assert.equal(h['permissions-policy'], 'camera=(), microphone=(), geolocation=()');
    assert.equal(h['cache-control'], 'no-store');
    assert.equal(Object.keys(h).length, Object.keys(SECURITY_HEADERS).length + 1);
  });
});

const SECRET = 'a-test-secret-with-enough-entropy-0123456789';

describe('tokens: the memo of verified cookies, lengths and patterns', () => {
  it('remembers a verified cookie: the same answer object comes back', () => {
    const t = new Tokens(SECRET);
    const c = t.sessionCookie(t.newId(), 'a@b.co');
    const first = t.readSessionCookie(c);
    assert.ok(first);
    assert.equal(t.readSessionCookie(c), first);
  });

  it('forgets the oldest cookie once 20000 are remembered, and only that one', () => {
    const t = new Tokens(SECRET);
    const sid = t.newId();
    const cookies = Array.from({ length: 20_001 }, (_, i) => t.sessionCookie(sid, `u${i}@b.co`));
    const answers = cookies.map((c) => t.readSessionCookie(c));
    assert.notEqual(t.readSessionCookie(cookies[0]), answers[0]);
    assert.deepEqual(t.readSessionCookie(cookies[0]), answers[0]);
    assert.equal(t.readSessionCookie(cookies[2]), answers[2]);
    assert.equal(t.readSessionCookie(cookies[20_000]), answers[20_000]);
  });

  it('reads a session cookie of 600 characters, not one of 601', () => {
    const t = new Tokens(SECRET);
    const sid = t.newId();
    const at600 = t.sessionCookie(sid, 'e'.repeat(392));
    const at601 = t.sessionCookie(sid, 'e'.repeat(393));
    assert.equal(at600.length, 600);
    assert.equal(at601.length, 601);
    assert.equal(t.readSessionCookie(at600)?.email, 'e'.repeat(392));
    assert.equal(t.readSessionCookie(at601), undefined);
  });

  it('refuses a signed session id of 33 characters (the id pattern is anchored at both ends)', () => {
    const t = new Tokens(SECRET);
    const id = t.newId();
    assert.equal(t.readSessionCookie(t.sessionCookie(`A${id}`, 'a@b.co')), undefined);
    assert.equal(t.readSessionCookie(t.sessionCookie(`${id}A`, 'a@b.co')), undefined);
    assert.equal(t.readSessionCookie(t.sessionCookie(id.slice(1), 'a@b.co')), undefined);
  });

  it('accepts the CSRF token of the previous secret, never any token because one is set', () => {
    const old = new Tokens('the-previous-secret-with-enough-entropy-01234');
    const t = new Tokens(SECRET, 'the-previous-secret-with-enough-entropy-01234');
    const id = t.newId();
    assert.equal(t.checkCsrf(old.csrfFor('session', id), 'session', id), true);
    assert.equal(t.checkCsrf(t.csrfFor('session', id), 'session', id), true);
    assert.equal(t.checkCsrf(old.csrfFor('anon', id), 'session', id), false);
    assert.equal(t.checkCsrf('x'.repeat(43), 'session', id), false);
    assert.equal(t.checkCsrf(t.csrfFor('session', id), 'session', undefined), false);
    assert.equal(t.checkCsrf(5, 'session', id), false);
  });

  it('reads an anon cookie up to 200 characters (extra parts ignored), not beyond', () => {
    const t = new Tokens(SECRET);
    const nonce = t.newId();
    const c = t.anonCookie(nonce);
    const at200 = `${c}.${'x'.repeat(200 - c.length - 1)}`;
    assert.equal(at200.length, 200);
    assert.equal(t.readAnonCookie(at200), nonce);
    assert.equal(t.readAnonCookie(`${at200}x`), undefined);
    assert.equal(t.readAnonCookie(c), nonce);
  });

  it('refuses a signed anon nonce of 33 or 31 characters', () => {
    const t = new Tokens(SECRET);
    const id = t.newId();
    assert.equal(t.readAnonCookie(t.anonCookie(`A${id}`)), undefined);
    assert.equal(t.readAnonCookie(t.anonCookie(`${id}A`)), undefined);
    assert.equal(t.readAnonCookie(t.anonCookie(id.slice(1))), undefined);
  });
});

describe('cookies', () => {
  it('skips a pair without a name and trims names and values', () => {
    const m = parseCookies('=v; a = 1 ; b=x=y');
    assert.equal(m.has(''), false);
    assert.equal(m.get('a'), '1');
    assert.equal(m.get('b'), 'x=y');
    assert.equal(m.size, 2);
  });

  it('writes Max-Age only when given, 0 included', () => {
    assert.equal(
      serializeCookie('sid', '', { secure: false, maxAge: 0 }),
      'sid=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0',
    );
    assert.equal(
      serializeCookie('sid', 'v', { secure: true, maxAge: 60 }),
      'sid=v; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=60',
    );
    assert.equal(serializeCookie('sid', 'v', { secure: false }), 'sid=v; Path=/; HttpOnly; SameSite=Lax');
  });
});

describe('request checks: write methods, Host and Origin messages, media types', () => {
  it('lists the four write methods', () => {
    assert.deepEqual([...WRITE_METHODS].sort(), ['DELETE', 'PATCH', 'POST', 'PUT']);
  });

  it('names the missing Host, a Host that is no host name, and cuts long origins to 100 characters', () => {
    assert.equal(crossSiteReason({ origin: 'https://example.org' }), 'an Origin but no Host');
    assert.equal(
      crossSiteReason({ origin: 'https://example.org', host: 'exa mple.org' }),
      'a Host that is not a host name',
    );
    const longOther = `https://${'a'.repeat(150)}.org`;
    assert.equal(
      crossSiteReason({ origin: longOther, host: 'example.org' }),
      `Origin ${longOther.slice(0, 100)}`,
    );
    const longFtp = `ftp://${'b'.repeat(150)}.org`;
    assert.equal(
      crossSiteReason({ origin: longFtp, host: 'example.org' }),
      `Origin ${longFtp.slice(0, 100)}`,
    );
    assert.equal(crossSiteReason({ origin: 'https://example.org', host: 'example.org:443' }), undefined);
  });

  it('reads the media type before the parameters', () => {
    assert.equal(isJson(' Application/JSON ; charset=utf-8'), true);
    assert.equal(isJson('application/jsonx'), false);
  });
});

describe('password hash slots: queue sizes, waiting and release', () => {
  const settled = async <T>(p: Promise<T>) => {
    let done = false;
    void p.then(() => {
      done = true;
    });
    await new Promise((r) => setImmediate(r));
    return done;
  };

  it('sizes the queues from the slots', () => {
    const s = new HashSlots(2);
    assert.equal(s.loginQueueMax, 128);
    assert.equal(s.registrationQueueMax, 8);
    assert.equal(s.registrationMax, 1);
    return s.close();
  });

  it('makes a login wait when every slot is busy, and refuses it when the queue is full', async () => {
    const s = new HashSlots(1);
    try {
      const first = s.login();
      assert.ok(first);
      const release = await first;
      assert.deepEqual(s.usage, { busy: 1, registering: 0, waiting: 0 });
      const queued = Array.from({ length: 64 }, () => s.login());
      assert.ok(queued.every((q) => q !== undefined));
      assert.equal(await settled(queued[0]!), false);
      assert.equal(s.login(), undefined);
      const reg = s.registration();
      assert.ok(reg);
      assert.deepEqual(s.usage, { busy: 1, registering: 0, waiting: 65 });
      release();
      assert.equal(await settled(queued[0]!), true);
      assert.deepEqual(s.usage, { busy: 1, registering: 0, waiting: 64 });
      assert.equal(await settled(queued[1]!), false);
    } finally {
      await s.close();
    }
  });

  it('gives the slot back when the work throws', async () => {
    const s = new HashSlots(1);
    try {
      await assert.rejects(
        inSlot(s.login()!, async () => {
          throw new Error('hash failed');
        }),
        /hash failed/,
      );
      assert.deepEqual(s.usage, { busy: 0, registering: 0, waiting: 0 });
      assert.equal(await inSlot(s.login()!, async () => 3), 3);
    } finally {
      await s.close();
    }
  });
});
