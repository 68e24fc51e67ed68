import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashPassword, verifyPassword } from '../../src/app/security/password.ts';
import { parseCookies, serializeCookie, Tokens } from '../../src/app/security/tokens.ts';

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
