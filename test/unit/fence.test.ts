// The write fence of a master in doubt (src/ops/supervisor/fence.ts) and how the stale-master
// guard sets and lifts it (demoter.ts), on fake Sentinels' answers and fake nodes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StaleMasterDemoter } from '../../src/ops/supervisor/demoter.ts';
import { fenceVerdict } from '../../src/ops/supervisor/fence.ts';
import type { ReportedRole, SentinelAnswer } from '../../src/ops/supervisor/stale-master.ts';

const A = { name: 'redis-1', host: '127.0.0.11', port: 6380 };
const B = { name: 'redis-2', host: '127.0.0.12', port: 6381 };

const says = (
  m: { host: string; port: number },
  epoch: number,
  flags = 'master',
  monitored: { host: string; port: number } = m,
): SentinelAnswer => ({
  master: { host: m.host, port: m.port },
  monitored: { host: monitored.host, port: monitored.port },
  configEpoch: epoch,
  flags,
  failoverState: flags.includes('failover_in_progress') ? 'reconf_slaves' : '',
});

describe('fenceVerdict: may a node reporting master take writes', () => {
  it('clean when a majority answers and every answer names it without a flag', () => {
    assert.deepEqual(fenceVerdict(A, [says(A, 3), says(A, 3), null], 3), { clean: true });
  });

  it('doubt as soon as one Sentinel flags it down or fails it over', () => {
    for (const flag of ['s_down', 'o_down', 'failover_in_progress']) {
      const v = fenceVerdict(A, [says(A, 3), says(A, 3, `master,${flag}`), says(A, 3)], 3);
      assert.deepEqual(v, { doubt: `a Sentinel flags it ${flag}` }, flag);
    }
  });

  it('doubt when a Sentinel names another master in a newer config epoch than those naming it', () => {
    const v = fenceVerdict(A, [says(A, 3), says(B, 4), null], 3);
    assert.deepEqual(v, { doubt: 'a Sentinel names 127.0.0.12:6381 in config epoch 4 (it: 3)' });
  });

  it('never doubts the promoted replica for the flags of the master its leader fails over', () => {
    // The leader gives clients B in epoch 4 while its entry (ip) and flags still describe A.
    const leader = says(B, 4, 'master,o_down,failover_in_progress', A);
    const v = fenceVerdict(B, [leader, says(A, 3, 'master,s_down'), says(A, 3, 'master,s_down')], 3);
    assert.ok('unsure' in v, JSON.stringify(v));
    assert.ok('doubt' in fenceVerdict(A, [leader, says(A, 3), says(A, 3)], 3));
  });

  it('unsure on too few answers, or while no Sentinel names it yet', () => {
    assert.ok('unsure' in fenceVerdict(A, [says(A, 3), null, null], 3));
    assert.ok('unsure' in fenceVerdict(B, [says(A, 3), says(A, 3), says(A, 3)], 3));
  });
});

/** A guard over A and B with fake Sentinels and nodes that keep the fence they are given. */
function guard(answers: (SentinelAnswer | null)[]) {
  const roles = new Map<string, ReportedRole>([
    [A.name, 'master'],
    [B.name, 'slave'],
  ]);
  const fences = new Map<string, boolean | undefined>([
    [A.name, false],
    [B.name, false],
  ]);
  const calls: string[] = [];
  const log: string[] = [];
  let failing = false;
  const d = new StaleMasterDemoter({
    nodes: [
      { ...A, initialRole: 'master' },
      { ...B, initialRole: 'replica' },
    ],
    sentinelCount: 3,
    askSentinels: async () => answers,
    role: async (n) => roles.get(('name' in n ? n.name : '') as string) ?? undefined,
    fenced: async (n) => fences.get(n.name),
    fence: async (n, on) => {
      if (failing) throw new Error('NOPERM');
      calls.push(`${n.name} ${on ? 'on' : 'off'}`);
      fences.set(n.name, on);
    },
    demote: async () => undefined,
    log: (m) => log.push(m),
    changed: () => undefined,
  });
  return {
    d,
    calls,
    log,
    roles,
    fences,
    set: (a: (SentinelAnswer | null)[]) => answers.splice(0, answers.length, ...a),
    fail: (on: boolean) => {
      failing = on;
    },
  };
}

describe('StaleMasterDemoter: the write fence', () => {
  it('fences a master in doubt at the first look and lifts it once the Sentinels name it without reserve', async () => {
    const g = guard([says(A, 3, 'master,s_down'), says(A, 3), says(A, 3)]);
    await g.d.check();
    assert.deepEqual(g.calls, ['redis-1 on']);
    assert.match(g.log.join('\n'), /redis-1: writes fenced off: a Sentinel flags it s_down/);
    assert.deepEqual(g.d.fences('redis-1'), { count: 1, now: true });
    assert.deepEqual(g.d.fences('redis-2'), { count: 0, now: false });
    await g.d.check();
    assert.deepEqual(g.calls, ['redis-1 on'], 'set once, not at every look');
    g.set([says(A, 3), null, null]);
    await g.d.check();
    assert.deepEqual(g.calls, ['redis-1 on'], 'one answer is not enough to lift it');
    g.set([says(A, 3), says(A, 3), null]);
    await g.d.check();
    assert.deepEqual(g.calls, ['redis-1 on', 'redis-1 off']);
    assert.match(g.log.join('\n'), /redis-1: write fence lifted: the Sentinels name it without reserve/);
    assert.deepEqual(g.d.fences('redis-1'), { count: 1, now: false });
  });

  it('lifts a fence a replica carries (a fenced master made a replica), and one found on a clean master', async () => {
    const g = guard([says(A, 3), says(A, 3), says(A, 3)]);
    g.fences.set(B.name, true);
    g.fences.set(A.name, true);
    await g.d.check();
    assert.deepEqual(g.calls.sort(), ['redis-1 off', 'redis-2 off']);
    assert.deepEqual(g.d.fences('redis-2'), { count: 0, now: false }, 'a fence found is not one it set');
  });

  it('leaves a node alone that does not answer, and logs a fence that could not be set', async () => {
    const g = guard([says(B, 4), says(B, 4), says(A, 3)]);
    g.fences.set(A.name, undefined);
    await g.d.check();
    assert.deepEqual(g.calls, []);
    g.fences.set(A.name, false);
    g.fail(true);
    await g.d.check();
    assert.match(g.log.join('\n'), /redis-1: setting its write fence failed: NOPERM/);
    g.fail(false);
    await g.d.check();
    assert.deepEqual(g.calls, ['redis-1 on'], 'tried again at the next look');
  });
});

/** The guard of B's host alone, B a replica of A (another host's master), with fake answers. */
function replicaHost(answers: (SentinelAnswer | null)[]) {
  const sent: string[] = [];
  const log: string[] = [];
  let failing = false;
  let follows: { host: string; port: number } | undefined = { host: A.host, port: A.port };
  const d = new StaleMasterDemoter({
    nodes: [{ ...B, initialRole: 'replica' }],
    sentinelCount: 3,
    askSentinels: async () => answers,
    role: async (n) => ('name' in n ? 'slave' : 'master'),
    fenced: async () => false,
    fence: async () => undefined,
    upstream: async () => follows,
    fenceUpstream: async (m) => {
      if (failing) throw new Error('timed out');
      sent.push(`${m.host}:${m.port}`);
    },
    demote: async () => undefined,
    log: (m) => log.push(m),
    changed: () => undefined,
  });
  return {
    d,
    sent,
    log,
    set: (a: (SentinelAnswer | null)[]) => answers.splice(0, answers.length, ...a),
    follow: (m: typeof follows) => {
      follows = m;
    },
    fail: (on: boolean) => {
      failing = on;
    },
  };
}

describe('StaleMasterDemoter: a replica host fences the master it follows', () => {
  const a = `${A.host}:${A.port}`;

  it('sends the fence at every look while the master is in doubt, logs it once, and stops once it is not', async () => {
    const g = replicaHost([says(A, 3), says(A, 3), says(A, 3)]);
    await g.d.check();
    assert.deepEqual(g.sent, [], 'a master named without reserve is left alone');
    g.set([says(A, 3, 'master,s_down'), says(A, 3), null]);
    await g.d.check();
    await g.d.check();
    assert.deepEqual(g.sent, [a, a], 'sent again at each look (an answer over a slow link may not come)');
    assert.equal(g.log.filter((m) => m.includes('writes fenced off from its replica')).length, 1);
    assert.match(
      g.log.join('\n'),
      /127\.0\.0\.11:6380: writes fenced off from its replica's host: a Sentinel flags it s_down/,
    );
    // After the failover: B still follows A while a Sentinel names B's new master in a newer epoch.
    g.set([says(B, 4), says(A, 3), says(A, 3)]);
    await g.d.check();
    assert.deepEqual(g.sent, [a, a, a]);
    // Moved to the new master (named without reserve): nothing more is sent.
    g.follow({ host: B.host, port: 6399 });
    g.set([says({ host: B.host, port: 6399 }, 4), says({ host: B.host, port: 6399 }, 4), null]);
    await g.d.check();
    assert.deepEqual(g.sent, [a, a, a]);
  });

  it('logs a fence it could not send once and sends it again at the next look', async () => {
    const g = replicaHost([says(A, 3, 'master,o_down'), null, null]);
    g.fail(true);
    await g.d.check();
    await g.d.check();
    assert.equal(g.log.filter((m) => m.includes('failed (timed out)')).length, 1, g.log.join('\n'));
    g.fail(false);
    await g.d.check();
    assert.deepEqual(g.sent, [a]);
    assert.match(g.log.join('\n'), /writes fenced off from its replica's host: a Sentinel flags it o_down/);
  });

  it('never fences a master of its own that way (its own fence covers it), nor when it is a master', async () => {
    const g = replicaHost([says(B, 3, 'master,s_down'), null, null]);
    g.follow({ host: B.host, port: B.port });
    await g.d.check();
    g.follow(undefined);
    await g.d.check();
    assert.deepEqual(g.sent, []);
  });
});
