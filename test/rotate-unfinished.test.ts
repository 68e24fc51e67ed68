import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { haproxyStats, sentinelView, upServers } from '../src/ha/probes.ts';
import { aclPasswordHash } from '../src/ops/render/acl.ts';
import { PENDING_FILE } from '../src/ops/supervisor/rotation-pending.ts';
import type { Stack } from '../src/ops/supervisor/supervisor.ts';
import { waitFor } from '../src/ops/supervisor/wait.ts';
import { auth, loggedIn, mode, processEnv, sentinelAuth } from './helpers/rotate.ts';
import { startTestStack } from './helpers/stack.ts';

let stack: Stack;

before(async () => {
  // A roll that cannot go on (an app HAProxy does not have UP) gives up after 10 s, not 30.
  stack = await startTestStack('rotate-unfinished', { apps: 2, rollTimeoutMs: 10_000 });
});

after(async () => {
  await stack?.stop();
});

/**
 * A rotation that stopped halfway, then one that finishes: the second refuses what the first left
 * accepted, on every node and Sentinel, and says so only after trying.
 */
describe('ha-stack rotate after a rotation that did not finish', () => {
  /**
   * app-2 paused: HAProxy takes it out, so after app-1 restarted the roll waits for it in vain and
   * the rotation stops with the new password in use and the old one still accepted.
   */
  async function failHalfway(secret: string): Promise<string> {
    const up = async () => upServers(await haproxyStats(stack.stats), 'apps').includes('app-2');
    stack.pause('app-2');
    try {
      await waitFor('HAProxy to take the paused app-2 out', async () => !(await up()));
      await assert.rejects(stack.rotate(secret), (err: Error) => {
        assert.match(err.message, new RegExp(`rotate ${secret} did not finish: .*app-2`));
        assert.match(err.message, /still accepts the old one/);
        assert.match(err.message, new RegExp(PENDING_FILE));
        return true;
      });
    } finally {
      stack.resume('app-2');
    }
    await waitFor('HAProxy to have app-2 UP again', up);
    const file = join(stack.run.dir, PENDING_FILE);
    assert.equal(mode(file), 0o600);
    return readFileSync(file, 'utf8');
  }

  it('redis-app-password after an attempt that failed: every old password is refused (WRONGPASS)', async () => {
    const first = stack.secrets.redis.app;
    // With app-2 stopped the rotation is refused before it changes anything.
    await stack.stop('app-2');
    try {
      await assert.rejects(stack.rotate('redis-app-password'), /app-2 not running.*Nothing changed/);
      assert.equal(stack.secrets.redis.app, first);
    } finally {
      await stack.start('app-2');
    }
    // Halfway: the new password is in use, the first one still accepted, and recorded.
    const pending = await failHalfway('redis-app-password');
    const second = stack.secrets.redis.app;
    assert.notEqual(second, first);
    assert.ok(pending.includes(first), 'the password left to revoke is recorded');
    for (const n of stack.topology.redis) assert.equal(await auth(n.host, n.port, 'app', first), '+OK');

    const r = await stack.rotate('redis-app-password');
    assert.equal(r.earlier, 1);
    assert.deepEqual(r.refusedOn, ['redis-1', 'redis-2', 'redis-3']);
    const now = stack.secrets.redis.app;
    for (const n of stack.topology.redis) {
      for (const old of [first, second])
        assert.match(await auth(n.host, n.port, 'app', old), /^-WRONGPASS/, n.name);
      assert.equal(await auth(n.host, n.port, 'app', now), '+OK', n.name);
    }
    assert.equal(existsSync(join(stack.run.dir, PENDING_FILE)), false);
    for (const name of ['app-1', 'app-2']) assert.equal(processEnv(stack, name)['REDIS_PASSWORD'], now);
    const user = await loggedIn(stack, 'after-retry');
    assert.equal((await user.c.get('/api/cart')).status, 200);
  });

  it('sentinel-password after an attempt that failed: refused on every Sentinel, gone from sentinel.conf', async () => {
    const first = stack.sentinelPassword;
    const pending = await failHalfway('sentinel-password');
    const second = stack.sentinelPassword;
    assert.ok(pending.includes(first));
    for (const s of stack.topology.sentinels)
      assert.equal(await sentinelAuth(s.host, s.port, first), '+OK', s.name);

    const r = await stack.rotate('sentinel-password');
    assert.equal(r.earlier, 1);
    assert.deepEqual(r.refusedOn, ['sentinel-1', 'sentinel-2', 'sentinel-3']);
    const now = stack.sentinelPassword;
    for (const s of stack.topology.sentinels) {
      for (const old of [first, second])
        assert.match(await sentinelAuth(s.host, s.port, old), /^-WRONGPASS/, s.name);
      assert.equal(await sentinelAuth(s.host, s.port, now), '+OK', s.name);
      const conf = readFileSync(join(stack.run.nodeDir(s.name), 'sentinel.conf'), 'utf8');
      for (const old of [first, second]) {
        assert.ok(!conf.includes(old), `${s.name}: sentinel.conf holds an old password`);
        assert.ok(!conf.includes(aclPasswordHash(old).slice(1)), `${s.name}: sentinel.conf holds its hash`);
      }
    }
    assert.equal(existsSync(join(stack.run.dir, PENDING_FILE)), false);
    // The Sentinels still reach each other and the master with the new password.
    const v = await sentinelView(
      stack.topology.sentinels[0]!.host,
      stack.topology.sentinels[0]!.port,
      stack.topology.masterName,
      now,
    );
    assert.equal(v.otherSentinels, stack.topology.sentinels.length - 1);
  });
});
