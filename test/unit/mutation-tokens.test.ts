import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HashSlots, inSlot } from '../../src/app/security/hash-slots.ts';
import { crossSiteReason, isJson, WRITE_METHODS } from '../../src/app/security/requests.ts';
import { parseCookies, serializeCookie, Tokens } from '../../src/app/security/tokens.ts';

const SECRET = 'a-test-secret-with-enough-entropy-0123456789';

describe('Tokens (details)', () => {
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

describe('requests (details)', () => {
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

describe('HashSlots (details)', () => {
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
