import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { operatorOnly } from '../../src/app/operator/access.ts';
import { BackgroundScrypt } from '../../src/app/security/background-scrypt.ts';
import { HashSlots } from '../../src/app/security/hash-slots.ts';
import { hashPassword, verifyPassword } from '../../src/app/security/password.ts';
import { acceptedRequestId, crossSiteReason, hasBody, isJson } from '../../src/app/security/requests.ts';
import { cookieNames, parseCookies, serializeCookie, Tokens } from '../../src/app/security/tokens.ts';
import { loginRefusalMessage, retryAfterSeconds, slowdownDelaysMs } from '../../src/app/stores/limits.ts';
import { sessionValid } from '../../src/ha/session.ts';

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
    assert.deepEqual(cookieNames(false), { session: 'sid', anon: 'csrf' });
    assert.deepEqual(cookieNames(true), { session: '__Host-sid', anon: '__Host-csrf' });
    const c = serializeCookie(cookieNames(true).session, 'v', { secure: true });
    // What the __Host- prefix requires: Secure, Path=/ and no Domain.
    assert.match(c, /^__Host-sid=v; /);
    assert.match(c, /; Path=\/(;|$)/);
    assert.match(c, /; Secure/);
    assert.doesNotMatch(c, /Domain/i);
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

describe('attempt limits', () => {
  it('answers with whole seconds, never 0 while a counter holds', () => {
    assert.equal(retryAfterSeconds(1), 1);
    assert.equal(retryAfterSeconds(1000), 1);
    assert.equal(retryAfterSeconds(1001), 2);
    assert.equal(retryAfterSeconds(899_400), 900);
  });

  it('doubles the wait past the slowdown threshold, up to its cap', () => {
    assert.deepEqual(slowdownDelaysMs(60), [1000, 2000, 4000, 8000, 16_000, 32_000, 60_000]);
    assert.deepEqual(slowdownDelaysMs(1), [1000]);
    assert.deepEqual(slowdownDelaysMs(4), [1000, 2000, 4000]);
  });

  it('says why a login waits and what to do', () => {
    for (const reason of ['pair', 'address', 'email'] as const) {
      const m = loginRefusalMessage({ reason, waitSeconds: 42 });
      assert.match(m, /wait 42 s and try again/);
    }
    assert.match(loginRefusalMessage({ reason: 'email', waitSeconds: 1 }), /elsewhere/);
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
