import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { nodeState, sentinelView } from '../src/ha/probes.ts';
import type { Stack } from '../src/ops/supervisor/supervisor.ts';
import { waitFor } from '../src/ops/supervisor/wait.ts';
import { masterClient, startTestStack } from './helpers/stack.ts';

// A stack of 5 Redis nodes and 5 Sentinels (quorum 3), from the counts alone.
describe('a 5-node, 5-Sentinel stack', () => {
  let s: Stack | undefined;
  before(async () => {
    s = await startTestStack('five', {
      topology: { counts: { redisNodes: 5, sentinels: 5 } },
      apps: 0,
      haproxy: false,
    });
  });
  after(async () => {
    await s?.stop();
  });

  it('attaches 4 replicas, fails over with quorum 3 when the master is killed, and takes writes after', async () => {
    const stack = s!;
    const t = stack.topology;
    assert.equal(t.quorum, 3);
    assert.deepEqual(
      t.redis.map((r) => r.name),
      ['redis-1', 'redis-2', 'redis-3', 'redis-4', 'redis-5'],
    );
    const old = (await stack.redisMaster())!;
    assert.equal(old.name, 'redis-1');
    const info = await nodeState(old.host, old.port, stack.login);
    assert.equal(info.role, 'master');
    for (const r of t.redis.slice(1)) {
      const st = await nodeState(r.host, r.port, stack.login);
      assert.ok(st.role === 'slave' && st.linkUp, `${r.name} replicates`);
    }
    for (const sn of t.sentinels) {
      const v = await sentinelView(sn.host, sn.port, t.masterName, stack.sentinelPassword);
      assert.equal(v.replicas, 4, `${sn.name} knows 4 replicas`);
      assert.equal(v.otherSentinels, 4, `${sn.name} knows 4 other Sentinels`);
    }

    await stack.kill(old.name);
    let next: Awaited<ReturnType<Stack['redisMaster']>>;
    await waitFor(
      'the Sentinels to elect a new master',
      async () => {
        next = await stack.redisMaster();
        if (!next || next.name === old.name) return false;
        return (await nodeState(next.host, next.port, stack.login).catch(() => null))?.role === 'master';
      },
      { timeoutMs: 30_000 },
    );
    assert.notEqual(next!.name, old.name);

    const r = await masterClient(stack);
    try {
      await waitFor(
        'a write to the new master to succeed',
        async () => (await r.set('five:after-failover', 'ok').catch(() => null)) === 'OK',
        { timeoutMs: 30_000 },
      );
      assert.equal(await r.get('five:after-failover'), 'ok');
    } finally {
      r.disconnect();
    }
  });
});
