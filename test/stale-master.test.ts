// A node that reports role:master while the Sentinels name another master (a replica promoted behind
// their back here; after a fail-back, the master they demoted) takes writes beside the real one until
// Sentinel converts it: at least 8 s after it began to report master, at its next INFO (every 10 s).
// The supervisor makes it a replica of the named master itself, and counts it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { nodeState, withRedis } from '../src/ha/probes.ts';
import { collectStatus, formatStatus } from '../src/ops/status.ts';
import { Stack } from '../src/ops/supervisor/supervisor.ts';
import { freePorts, tempDirs } from './helpers/stack.ts';

const tempDir = tempDirs();

describe('the supervisor demotes a master the Sentinels no longer name', () => {
  let s: Stack;
  const events: string[] = [];

  before(async () => {
    s = await Stack.start({
      runDir: tempDir('stale-master'),
      topology: { ports: await freePorts() },
      apps: 0,
      haproxy: false,
      timeoutMs: 30_000,
      onEvent: (m) => events.push(m),
    });
  });
  after(async () => {
    await s?.stop();
  });

  it('a replica promoted behind the Sentinels back is made a replica of the named master again', async () => {
    const master = (await s.redisMaster())!;
    const stale = s.topology.redis.find((r) => r.name !== master.name)!;
    const role = (n: { host: string; port: number }) =>
      nodeState(n.host, n.port, s.login).then(
        (x) => x,
        () => undefined,
      );
    await withRedis(stale.host, stale.port, s.login, (r) => r.call('REPLICAOF', 'NO', 'ONE'));
    const t0 = Date.now();
    // Sampled every 100 ms: how long two nodes report role:master, until the stale one follows the master.
    let twoMastersMs = 0;
    for (;;) {
      const at = Date.now();
      const [a, b] = await Promise.all([role(master), role(stale)]);
      if (a?.role === 'master' && b?.role === 'master') twoMastersMs = Date.now() - t0;
      if (b?.role === 'slave') {
        assert.equal(`${b.masterHost}:${b.masterPort}`, `${master.host}:${master.port}`);
        break;
      }
      assert.ok(Date.now() - t0 < 30_000, `${stale.name} still reports role:master after 30 s`);
      await sleep(Math.max(0, 100 - (Date.now() - at)));
    }
    console.log(`# two masters reported for ${twoMastersMs} ms`);
    // Sentinel alone would take at least 8 s (sentinel.c: publish period x 4 after the role change).
    assert.ok(twoMastersMs < 8000, `two masters for ${twoMastersMs} ms`);

    const state = s.supervisorState();
    assert.equal(state.nodes[stale.name]?.demotions, 1);
    assert.equal(state.nodes[master.name]?.demotions, 0, 'the named master is never demoted');
    assert.equal(state.nodes['sentinel-1']?.demotions, undefined, 'counted for Redis nodes only');
    assert.ok(
      events.some((e) =>
        e.startsWith(
          `${stale.name}: reported role:master while the Sentinels name ${master.host}:${master.port}`,
        ),
      ),
      events.join('\n'),
    );
    const status = await collectStatus(s.topology, s, s.stats, 0, state);
    assert.equal(status.nodes.find((n) => n.name === stale.name)?.demotions, 1);
    assert.match(
      formatStatus(status),
      new RegExp(`stale masters made replicas by the supervisor: ${stale.name} 1x`),
    );
  });
});
