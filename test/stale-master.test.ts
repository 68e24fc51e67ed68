// A node that reports role:master while the Sentinels name another master (a replica promoted behind
// their back here; after a fail-back, the master they demoted) takes writes beside the real one until
// Sentinel converts it: at least 8 s after it began to report master, at its next INFO (every 10 s).
// The supervisor makes it a replica of the named master itself, and counts it. A master a Sentinel
// fails over has its writes fenced off meanwhile (supervisor/fence.ts), never the promoted one.
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

    // Counted once its REPLICAOF and CONFIG REWRITE both answered: the role may show a moment before.
    while (s.supervisorState().nodes[stale.name]?.demotions !== 1) {
      assert.ok(Date.now() - t0 < 30_000, `${stale.name}'s demotion not counted after 30 s`);
      await sleep(50);
    }
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

  it('a master a Sentinel fails over has its writes fenced off, lifted once it is a replica; the promoted one takes writes', async () => {
    const old = (await s.redisMaster())!;
    const minReplicas = (n: { host: string; port: number }) =>
      withRedis(n.host, n.port, s.login, (r) => r.call('CONFIG', 'GET', 'min-replicas-to-write')).then(
        (reply) => (reply as string[])[1],
      );
    assert.equal(await minReplicas(old), '1');
    const from = events.length;
    const sentinel = s.topology.sentinels[0]!;
    await withRedis(sentinel.host, sentinel.port, { password: s.sentinelPassword }, (r) =>
      r.call('SENTINEL', 'FAILOVER', s.topology.masterName),
    );
    const seen = () => events.slice(from).join('\n');
    const t0 = Date.now();
    while (!seen().includes(`${old.name}: write fence lifted: it is a replica`)) {
      assert.ok(Date.now() - t0 < 30_000, `no fence lifted from ${old.name} within 30 s:\n${seen()}`);
      await sleep(50);
    }
    assert.match(
      seen(),
      new RegExp(`${old.name}: writes fenced off: a Sentinel flags it [a-z_,]*failover_in_progress`),
    );
    assert.equal(await minReplicas(old), '1', 'the replica has its own setting back');
    const state = s.supervisorState();
    assert.deepEqual([state.nodes[old.name]?.fences, state.nodes[old.name]?.fenced], [1, false]);
    const status = await collectStatus(s.topology, s, s.stats, 0, state);
    assert.match(
      formatStatus(status),
      new RegExp(`masters whose writes the supervisor fenced off: ${old.name} 1x\n`),
    );
    let promoted = await s.redisMaster();
    while (!promoted || promoted.name === old.name) {
      assert.ok(Date.now() - t0 < 30_000, 'no new master named within 30 s');
      await sleep(50);
      promoted = await s.redisMaster();
    }
    assert.doesNotMatch(seen(), new RegExp(`${promoted.name}: writes fenced off`));
    assert.equal(await minReplicas(promoted), '1');
    // It takes writes: min-replicas-to-write is met once the old master follows it.
    let written: unknown;
    while (written !== 'OK') {
      assert.ok(Date.now() - t0 < 30_000, `${promoted.name} refused writes for 30 s: ${String(written)}`);
      written = await withRedis(promoted.host, promoted.port, s.login, (r) =>
        r.call('SET', 'fence-test', '1'),
      ).catch((err: Error) => err.message);
      if (written !== 'OK') await sleep(50);
    }
  });
});
