import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { partitionUnsupported } from '../src/stack/chaos/partition.ts';
import type { ScenarioRow } from '../src/stack/chaos/report.ts';
import { runScenario, windowMet } from '../src/stack/chaos/runner.ts';
import { SCENARIOS, type Scenario } from '../src/stack/chaos/scenarios.ts';
import { withRedis } from '../src/stack/process/probes.ts';
import type { Stack } from '../src/stack/process/supervisor.ts';
import { startTestStack } from './helpers/stack.ts';

/**
 * A bounded chaos run on one stack of its own (free ports): the goals of the full `npm run chaos`,
 * asserted on fewer rounds, and a sabotaged run that the loss checker must catch.
 */
describe('chaos under load', () => {
  let stack: Stack;
  const rows: ScenarioRow[] = [];
  const scenario = (name: string) => SCENARIOS.find((s) => s.name === name)!;
  const run = async (s: Scenario, rounds = 1) => {
    const row = await runScenario(stack, s, { rounds, users: 12 });
    rows.push(row);
    return row;
  };

  before(async () => {
    stack = await startTestStack('chaos', { appEnv: { SCRYPT_COST: '1024', LOG_LEVEL: 'warn' } });
  });
  after(async () => {
    if (rows.length) process.stdout.write(`${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
    await stack?.stop();
  });

  const clean = (row: ScenarioRow) => {
    assert.equal(row.note?.includes('error:') ?? false, false, row.note);
    assert.ok(row.requests > 0, 'the load ran');
    assert.ok(row.writesAcked > 0, 'writes were acknowledged');
    assert.equal(row.failed, 0, `failed requests: ${JSON.stringify(row.failedWhy)}`);
    assert.equal(row.writesLost, 0, 'acknowledged writes lost');
    assert.equal(row.phantomWrites, 0, 'values nobody wrote');
    assert.equal(row.sessionsLost, 0, 'sessions lost');
  };

  it('kill-master three times in a row: nothing failed, nothing lost, each window within down-after + 1.3 s', async () => {
    const row = await run(scenario('kill-master'), 3);
    clean(row);
    assert.equal(row.writeWindowsS.length, 3);
    const down = stack.topology.downAfterMs;
    for (const [i, w] of row.writeWindowsS.entries()) {
      const sw = row.switchesS[i] ?? null;
      assert.ok(windowMet(w, sw, down), `round ${i + 1}: window ${w} s, Sentinel switched at ${sw} s`);
    }
    assert.equal(row.passed, true);
  });

  it('pause-master: the paused master comes back as a replica and nothing acknowledged is lost', async () => {
    const row = await run(scenario('pause-master'));
    clean(row);
    assert.equal(row.passed, true);
  });

  it('partition-master: the cut-off master takes no acknowledged write and rejoins as a replica', async (t) => {
    const m = stack.topology.redis[0]!;
    const peers = [...stack.topology.redis.slice(1), ...stack.topology.sentinels].map((n) => n.host);
    const why = await partitionUnsupported(m.host, peers);
    if (why) {
      t.skip(why);
      return;
    }
    const row = await run(scenario('partition-master'));
    clean(row);
    assert.equal(row.passed, true);
  });

  it('kill-app: HAProxy sends every request to the other instance', async () => {
    const row = await run(scenario('kill-app'));
    clean(row);
    assert.equal(row.passed, true);
  });

  it('quorum-loss: writes get 503 with Retry-After, reads are served, all recovers without restarts', async () => {
    const row = await run(scenario('quorum-loss'));
    assert.equal(row.writesLost, 0);
    assert.equal(row.sessionsLost, 0);
    const why = Object.keys(row.failedWhy);
    assert.ok(row.failed > 0, 'writes were refused while no master could be elected');
    assert.deepEqual(why, ['PUT 503 unavailable'], `only writes, only 503 with Retry-After: ${why}`);
    assert.equal(row.passed, true, row.note);
  });

  it('the checker catches an acknowledged write lost behind its back', async () => {
    // No fault: once the load stops, one acknowledged cart entry is deleted on the master by hand.
    let deleted = '';
    const quiet: Scenario = {
      name: 'lose-a-write',
      goal: 'the checker must report the lost write',
      inject: async () => undefined,
    };
    const row = await runScenario(stack, quiet, {
      users: 4,
      beforeCheck: async (users) => {
        const m = (await stack.currentMaster())!;
        const [user] = users;
        const [product] = [...user!.acked.entries()].find(([, v]) => v > 0)!;
        await withRedis(m.host, m.port, stack.password, async (r) => {
          assert.equal(await r.hdel(`cart:{${user!.email}}`, product), 1);
          await r.call('WAIT', '1', '1000');
        });
        deleted = `${user!.email} ${product}`;
      },
    });
    assert.ok(deleted, 'an acknowledged entry was deleted');
    assert.equal(row.writesLost, 1, `lost writes reported: ${row.writesLost}`);
    assert.equal(row.passed, false);
  });
});
