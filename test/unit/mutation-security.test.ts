import assert from 'node:assert/strict';
import { randomBytes, scryptSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { BackgroundScrypt } from '../../src/app/security/background-scrypt.ts';
import { answerHeaders, SECURITY_HEADERS } from '../../src/app/security/headers.ts';
import { hashPassword, verifyAgainstDummy, verifyPassword } from '../../src/app/security/password.ts';

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
