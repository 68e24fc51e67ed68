import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { keys } from '../src/ha/keys.ts';
import { withRedis } from '../src/ha/probes.ts';
import type { Stack } from '../src/ops/supervisor/supervisor.ts';
import { formatTable, type ScenarioRow } from '../src/tools/chaos/report.ts';
import { runScenario, windowMet } from '../src/tools/chaos/runner.ts';
import { SCENARIOS, type Scenario } from '../src/tools/chaos/scenarios.ts';
import { startTestStack } from './helpers/stack.ts';

/**
 * A bounded chaos run on one stack of its own (free ports): the goals of the full `npm run chaos`,
 * asserted on fewer rounds, and a sabotaged run that the loss checker must catch. No step of a
 * scenario restarts a process by hand: a killed node must come back by itself.
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
    // The app's own per-address limits (10 registrations an hour), as `ha-stack chaos` meets them on
    // a stack started with `npm start`: each simulated user comes from a loopback address of its own.
    stack = await startTestStack('chaos', {
      appEnv: {
        SCRYPT_COST: '1024',
        LOG_LEVEL: 'warn',
        REGISTER_LIMIT_PER_IP: '10',
        LOGIN_LIMIT_PER_IP: '30',
      },
    });
  });
  after(async () => {
    if (rows.length)
      process.stdout.write(`${formatTable(rows)}\n${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
    await stack?.stop();
  });

  /** What every scenario must show: both kinds of users ran, no read failed, nothing was lost. */
  const sound = (row: ScenarioRow) => {
    assert.equal(row.error, undefined, row.error);
    assert.ok(row.pageRequests > 0 && row.apiRequests > 0, 'people in a browser and programs both ran');
    assert.ok(row.writesAcked > 0, 'writes were acknowledged');
    assert.equal(row.failedReads, 0, `failed reads: ${JSON.stringify(row.failedWhy)}`);
    assert.equal(row.writesLost, 0, `acknowledged writes lost; ${row.lossDetail}`);
    assert.equal(row.phantomWrites, 0, 'values nobody wrote');
    assert.equal(row.sessionsLost, 0, `sessions lost; ${row.lossDetail}`);
  };
  const clean = (row: ScenarioRow) => {
    sound(row);
    assert.equal(row.failedWrites, 0, `failed writes: ${JSON.stringify(row.failedWhy)}`);
  };
  /** Writes refused only as the contract says: 503 with Retry-After, from the app, on either path. */
  const refusedCleanly = (row: ScenarioRow) => {
    sound(row);
    for (const why of Object.keys(row.failedWhy))
      assert.match(why, /^(page POST \/add 503 app|api PUT \/api\/cart 503 unavailable)$/, why);
    assert.equal(row.nodesAtEnd, 3, 'every Redis node healthy again by itself');
    assert.deepEqual(row.missed, [], row.missed.join('; '));
    assert.equal(row.passed, true);
  };

  it('kill-master twice in a row, nothing restarted by hand: nothing failed, nothing lost, each window within down-after + 1.3 s', async () => {
    const row = await run(scenario('kill-master'), 2);
    clean(row);
    assert.equal(row.writeWindowsS.length, 2);
    const down = stack.topology.downAfterMs;
    for (const [i, w] of row.writeWindowsS.entries()) {
      const sw = row.switchesS[i] ?? null;
      assert.ok(windowMet(w, sw, down), `round ${i + 1}: window ${w} s, Sentinel switched at ${sw} s`);
    }
    assert.equal(row.nodesAtEnd, 3, 'the killed masters came back as replicas by themselves');
    assert.match(row.note ?? '', /^whole again by itself [\d.]+, [\d.]+ s after each kill$/);
    assert.equal(row.passed, true, row.missed.join('; '));
  });

  it('double-fault: the new master dies too once the others caught up with it; reads served, writes only 503, the stack heals itself', async () => {
    const row = await run(scenario('double-fault'));
    refusedCleanly(row);
    assert.equal(row.writeWindowsS.length, 2, 'two faults measured');
    assert.match(row.note ?? '', /promoted, then killed with redis-\d (still down|already back as \w+);/);
  });

  it('lose-two-nodes: one Redis node left for 8 s; reads served from it, writes refused with 503, all back once started', async () => {
    const row = await run(scenario('lose-two-nodes'));
    refusedCleanly(row);
    assert.ok(row.failedWrites > 0, 'writes were refused while a single node was left');
    assert.ok(
      row.modesSeen.some((m) => m === 'read-only' || m === 'no-master'),
      `the apps reported the degraded mode: ${row.modesSeen.join(',') || 'none'}`,
    );
  });

  it('quorum-loss: writes get 503 with Retry-After, reads are served, all recovers once the nodes are started', async () => {
    const row = await run(scenario('quorum-loss'));
    refusedCleanly(row);
    assert.ok(row.failedWrites > 0, 'writes were refused while no master could be elected');
    assert.ok(row.modesSeen.includes('no-master'), `modes seen: ${row.modesSeen.join(',') || 'none'}`);
  });

  it('restart-old-master: the killed master comes back by itself as a replica, never beside the new one', async () => {
    const row = await run(scenario('restart-old-master'));
    clean(row);
    assert.match(
      row.note ?? '',
      /back by itself as a replica of redis-\d [\d.]+ s after the kill; never two masters$/,
    );
    assert.equal(row.passed, true, row.missed.join('; '));
  });

  it('sentinel-tilt: two Sentinels in TILT cannot fail over; reads served, writes only 503, the stack heals itself', async () => {
    const row = await run(scenario('sentinel-tilt'));
    refusedCleanly(row);
    assert.match(row.note ?? '', /sentinel-\d, sentinel-\d in TILT; /, row.note);
  });

  it('the checker catches an acknowledged write lost behind its back', async () => {
    // No fault: once the load stops, one acknowledged cart entry is deleted on the master by hand.
    let deleted = '';
    const emails: string[] = [];
    const quiet: Scenario = { name: 'lose-a-write', goal: {}, inject: async () => undefined };
    const row = await runScenario(stack, quiet, {
      users: 4,
      beforeCheck: async (users) => {
        const m = (await stack.currentMaster())!;
        const [user] = users;
        const [product] = [...user!.acked.entries()].find(([, v]) => v > 0)!;
        await withRedis(m.host, m.port, stack.login, async (r) => {
          assert.equal(await r.hdel(`cart:{${user!.email}}`, product), 1);
          await r.call('WAIT', '1', '1000');
        });
        deleted = `${user!.email} ${product}`;
        emails.push(...users.map((u) => u.email));
      },
    });
    assert.ok(deleted, 'an acknowledged entry was deleted');
    assert.equal(row.writesLost, 1, `lost writes reported: ${row.writesLost}`);
    assert.deepEqual(row.missed, ['1 acknowledged write(s) lost']);
    assert.equal(row.passed, false);
    // The run deleted its accounts and carts at its end, failed as it was.
    const m = (await stack.currentMaster())!;
    const left = await withRedis(m.host, m.port, stack.login, (r) =>
      r.exists(...emails.flatMap((e) => [keys.user(e), keys.cart(e)])),
    );
    assert.ok(emails.length >= 4);
    assert.equal(left, 0, 'accounts or carts of the run left on the master');
  });
});
