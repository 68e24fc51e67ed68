import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keys } from '../../src/ha/keys.ts';
import { benchAccounts } from '../../src/tools/bench/fixtures.ts';
import { accountKeys, deleteAccounts, madeAccounts } from '../../src/tools/loadgen/cleanup.ts';
import { accountPassword } from '../../src/tools/loadgen/password.ts';

describe("the test tools' accounts", () => {
  it('get a random password each, derived from nothing', () => {
    const seen = new Set(Array.from({ length: 200 }, () => accountPassword()));
    assert.equal(seen.size, 200);
    for (const p of seen) {
      assert.ok(p.length >= 24, p);
      assert.doesNotMatch(p, /load|soak|bench|chaos|@/);
    }
  });

  it('are deleted with their carts and sessions: the keys of src/ha/keys.ts', () => {
    const cookies = new Map([['sid', 'abc123.signature']]);
    const made = madeAccounts([
      { email: 'chaos-x-api-0@load.test', client: { cookies } as never },
      { email: 'chaos-x-page-1@load.test', client: { cookies: new Map() } as never },
      // An HTTPS site's cookie (COOKIE_SECURE) is found as well.
      {
        email: 'chaos-x-tls-2@load.test',
        client: { cookies: new Map([['__Host-sid', 'def.sig']]) } as never,
      },
    ]);
    assert.deepEqual(made, [
      { email: 'chaos-x-api-0@load.test', sids: ['abc123'] },
      { email: 'chaos-x-page-1@load.test', sids: [] },
      { email: 'chaos-x-tls-2@load.test', sids: ['def'] },
    ]);
    assert.deepEqual(accountKeys(made.slice(0, 2)), [
      keys.user('chaos-x-api-0@load.test'),
      keys.cart('chaos-x-api-0@load.test'),
      keys.session('abc123'),
      keys.user('chaos-x-page-1@load.test'),
      keys.cart('chaos-x-page-1@load.test'),
    ]);
    assert.deepEqual(benchAccounts([{ email: 'b@bench.test', cookie: 'sid=s1.sig' }]), [
      { email: 'b@bench.test', sids: ['s1'] },
    ]);
  });

  it('are kept, and said to be, when the stack cannot be reached (best effort, never a throw)', async () => {
    const actions = {
      login: { username: 'operator', password: 'x' },
      currentMaster: async () => undefined,
    };
    const line = await deleteAccounts(actions, [{ email: 'a@load.test', sids: [] }]);
    assert.match(line, /could not delete the 1 accounts of this run.*no master/);
    assert.equal(await deleteAccounts(actions, []), 'no accounts to delete');
  });
});
