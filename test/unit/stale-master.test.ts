import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StaleMasterDemoter } from '../../src/ops/supervisor/demoter.ts';
import { agreedMaster, type SentinelAnswer, staleMasters } from '../../src/ops/supervisor/stale-master.ts';
import { runningClock } from '../helpers/clock.ts';

const A = { name: 'redis-1', host: '127.0.0.11', port: 6380 };
const B = { name: 'redis-2', host: '127.0.0.12', port: 6381 };
const C = { name: 'redis-3', host: '127.0.0.13', port: 6382 };
const says = (
  m: { host: string; port: number },
  epoch: number,
  flags = 'master',
  failoverState = '',
): SentinelAnswer => ({
  master: { host: m.host, port: m.port },
  configEpoch: epoch,
  flags,
  failoverState,
});
const leading = (m: { host: string; port: number }, epoch: number, state: string) =>
  says(m, epoch, 'master,failover_in_progress', state);
const at = (m: { host: string; port: number }) => ({ host: m.host, port: m.port });

describe('agreedMaster: when the Sentinels are firm enough to act on', () => {
  it('names the master a majority names in the newest epoch', () => {
    assert.deepEqual(agreedMaster([says(B, 3), says(B, 3), says(A, 2)], 3), {
      master: at(B),
      epoch: 3,
      failingOver: [],
    });
  });

  it('holds when no Sentinel answers, or fewer than a majority', () => {
    assert.deepEqual(agreedMaster([null, null, null], 3), { hold: '0 of 3 Sentinels answered' });
    assert.deepEqual(agreedMaster([says(B, 3), null, null], 3), { hold: '1 of 3 Sentinels answered' });
  });

  it('holds while the newest epoch is named by one Sentinel only (the others have not heard of it yet)', () => {
    const r = agreedMaster([says(B, 4), says(A, 3), says(A, 3)], 3);
    assert.deepEqual(r, { hold: 'the Sentinels disagree (1 of 3 name the newest master)' });
  });

  it('counts the majority of all Sentinels, not of those answering', () => {
    assert.ok('hold' in agreedMaster([says(B, 4), says(B, 4), null, null, null], 5));
    assert.deepEqual(agreedMaster([says(B, 4), says(B, 4), says(B, 4), null, null], 5), {
      master: at(B),
      epoch: 4,
      failingOver: [],
    });
  });

  it('notes the master a Sentinel fails over while it has not yet announced the replica it promotes', () => {
    for (const state of ['wait_start', 'select_slave', 'send_slaveof_noone', 'wait_promotion']) {
      const r = agreedMaster([leading(A, 3, state), says(A, 3), says(A, 3)], 3);
      assert.deepEqual(r, { master: at(A), epoch: 3, failingOver: [at(A)] }, state);
    }
  });

  it('acts once the failing-over Sentinel itself names the new master in the newest epoch', () => {
    const r = agreedMaster([leading(B, 4, 'reconf_slaves'), says(B, 4), says(A, 3)], 3);
    assert.deepEqual(r, { master: at(B), epoch: 4, failingOver: [] });
  });
});

describe('staleMasters: which of this supervisor nodes to demote', () => {
  const agreed = { master: at(B), epoch: 4, failingOver: [] };

  it('a node reporting master that the Sentinels do not name; never the named one, never a replica', () => {
    const nodes = [
      { node: A, role: 'master' as const },
      { node: B, role: 'master' as const },
      { node: C, role: 'slave' as const },
    ];
    assert.deepEqual(staleMasters(agreed, nodes, 'master'), [A]);
  });

  it('while a failover is not yet announced, only the master it fails over', () => {
    const nodes = [
      { node: A, role: 'master' as const },
      { node: C, role: 'master' as const },
    ];
    // A Sentinel that lost the election still fails over A; C may be what another one promotes.
    assert.deepEqual(staleMasters({ ...agreed, failingOver: [at(A)] }, nodes, 'master'), [A]);
    assert.deepEqual(staleMasters({ ...agreed, failingOver: [at(B)] }, nodes, 'master'), []);
    assert.deepEqual(staleMasters({ ...agreed, failingOver: [null] }, nodes, 'master'), []);
  });

  it('nothing while the named master does not answer as master, or while the Sentinels hold', () => {
    const nodes = [{ node: A, role: 'master' as const }];
    assert.deepEqual(staleMasters(agreed, nodes, undefined), []);
    assert.deepEqual(staleMasters(agreed, nodes, 'slave'), []);
    assert.deepEqual(staleMasters({ hold: 'x' }, nodes, 'master'), []);
  });
});

/** A demoter over fake Sentinels and nodes; `roles` and `answers` can be changed between polls. */
function fixture(nodes = [A, B, C]) {
  const roles = new Map<string, 'master' | 'slave' | undefined>([
    [`${A.host}:${A.port}`, 'master'],
    [`${B.host}:${B.port}`, 'master'],
    [`${C.host}:${C.port}`, 'slave'],
  ]);
  let answers: (SentinelAnswer | null)[] = [says(B, 4), says(B, 4), says(B, 4)];
  const demoted: string[] = [];
  const log: string[] = [];
  let changes = 0;
  const d = new StaleMasterDemoter({
    nodes: nodes.map((n) => ({ ...n, initialRole: 'replica' as const })),
    sentinelCount: 3,
    askSentinels: async () => answers,
    role: async (n) => roles.get(`${n.host}:${n.port}`),
    demote: async (n, m) => {
      demoted.push(`${n.name}->${m.host}:${m.port}`);
      roles.set(`${n.host}:${n.port}`, 'slave');
    },
    log: (m) => log.push(m),
    changed: () => changes++,
    pollMs: 200,
  });
  return {
    d,
    demoted,
    log,
    roles,
    changes: () => changes,
    set: (a: (SentinelAnswer | null)[]) => {
      answers = a;
    },
  };
}

describe('StaleMasterDemoter', () => {
  it('demotes a stale master on the second poll in a row that sees it, counts and logs it', async () => {
    const f = fixture();
    await f.d.check();
    assert.deepEqual(f.demoted, []);
    await f.d.check();
    assert.deepEqual(f.demoted, ['redis-1->127.0.0.12:6381']);
    assert.equal(f.d.demotions('redis-1'), 1);
    assert.equal(f.d.demotions('redis-2'), 0);
    assert.equal(f.changes(), 1);
    assert.match(
      f.log[0]!,
      /redis-1: reported role:master while the Sentinels name 127\.0\.0\.12:6381 \(config epoch 4\)/,
    );
    await f.d.check();
    assert.equal(f.demoted.length, 1, 'a replica now: left alone');
  });

  it('forgets a suspicion when the Sentinels stop agreeing in between', async () => {
    const f = fixture();
    await f.d.check();
    f.set([says(B, 4), null, null]);
    await f.d.check();
    f.set([says(B, 4), says(B, 4), says(B, 4)]);
    await f.d.check();
    assert.deepEqual(f.demoted, [], 'seen once, then a hold, then once: not twice in a row');
    await f.d.check();
    assert.deepEqual(f.demoted, ['redis-1->127.0.0.12:6381']);
  });

  it('never demotes a node just promoted while one Sentinel leads a failover to it that the others have not heard of', async () => {
    const f = fixture();
    // A was promoted by the leader; the leader still names B (failover in progress), the others name B.
    f.set([leading(B, 4, 'wait_promotion'), says(B, 4), says(B, 4)]);
    for (let i = 0; i < 5; i++) await f.d.check();
    assert.deepEqual(f.demoted, []);
  });

  it('demotes the master failed back from while a Sentinel that lost the election still fails it over', async () => {
    const f = fixture();
    // B is the master of epoch 4 (announced by the leader); a losing candidate still fails A over.
    f.set([leading(B, 4, 'reconf_slaves'), says(B, 4), leading(A, 3, 'wait_start')]);
    await f.d.check();
    await f.d.check();
    assert.deepEqual(f.demoted, ['redis-1->127.0.0.12:6381']);
  });

  it('does nothing when no Sentinel answers', async () => {
    const f = fixture();
    f.set([null, null, null]);
    for (let i = 0; i < 5; i++) await f.d.check();
    assert.deepEqual(f.demoted, []);
  });

  it('asks the named master itself when it is not one of its nodes, and needs it to answer as master', async () => {
    const f = fixture([A]);
    f.roles.set(`${B.host}:${B.port}`, undefined);
    for (let i = 0; i < 3; i++) await f.d.check();
    assert.deepEqual(f.demoted, [], 'the named master does not answer');
    f.roles.set(`${B.host}:${B.port}`, 'master');
    await f.d.check();
    await f.d.check();
    assert.deepEqual(f.demoted, ['redis-1->127.0.0.12:6381']);
  });

  it('polls on its own once started, within a second, and stops on close', async () => {
    const stopClock = runningClock();
    try {
      const f = fixture();
      const t0 = Date.now();
      f.d.start();
      while (!f.demoted.length && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(f.demoted, ['redis-1->127.0.0.12:6381']);
      assert.ok(Date.now() - t0 <= 1000, `demoted after ${Date.now() - t0} ms`);
      await f.d.close();
      f.roles.set(`${A.host}:${A.port}`, 'master');
      const t1 = Date.now();
      while (Date.now() - t1 < 2000) await new Promise((r) => setTimeout(r, 50));
      assert.equal(f.demoted.length, 1, 'no poll after close');
    } finally {
      await stopClock();
    }
  });

  it('a failed REPLICAOF is logged, not counted, and tried again', async () => {
    const f = fixture();
    let fail = true;
    const d = new StaleMasterDemoter({
      nodes: [{ ...A, initialRole: 'replica' }],
      sentinelCount: 3,
      askSentinels: async () => [says(B, 4), says(B, 4), says(B, 4)],
      role: async (n) => (n.port === A.port ? 'master' : 'master'),
      demote: async () => {
        if (fail) throw new Error('NOAUTH');
        f.demoted.push('ok');
      },
      log: (m) => f.log.push(m),
      changed: () => undefined,
    });
    await d.check();
    await d.check();
    assert.equal(d.demotions('redis-1'), 0);
    assert.match(f.log.join('\n'), /redis-1: demoting it failed: NOAUTH/);
    fail = false;
    await d.check();
    await d.check();
    assert.equal(d.demotions('redis-1'), 1);
  });
});
