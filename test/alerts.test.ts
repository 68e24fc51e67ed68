import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { after, before, describe, it, type TestContext } from 'node:test';
import type { Stack } from '../src/ops/supervisor/supervisor.ts';
import { waitFor } from '../src/ops/supervisor/wait.ts';
import { ALERT_FAULTS } from '../src/tools/chaos/alert-faults.ts';
import { recordedPids } from '../src/tools/soak/resources.ts';
import { runSoak, SOAK_DEFAULTS } from '../src/tools/soak/run.ts';
import { type Expected, promTargets, waitAlerts } from './helpers/alerts.ts';
import { startTestStack } from './helpers/stack.ts';

/** Each alert reaches Alertmanager within 30 s of its fault, and leaves it within 60 s of healing. */
const FIRE_MS = 30_000;
const RESOLVE_MS = 60_000;

/**
 * One stack with `--monitoring` (Prometheus, Alertmanager, the exporters), real faults one after
 * the other, each alert checked through Alertmanager's API. The measured times are printed (and
 * appended to $ALERT_TIMES_FILE when set): docs/monitoring.md gives them.
 */
describe('alerts: real faults reach Alertmanager and resolve after healing', () => {
  let s: Stack;
  before(async () => {
    s = await startTestStack('alerts', { monitoring: true, timeoutMs: 30_000 });
  });
  after(async () => {
    await s?.stop();
  });

  const m = () => s.monitoring!;

  function record(t: TestContext, fault: string, what: string, times: Map<string, number>): void {
    for (const [alert, sec] of times) {
      const line = `${fault}: ${alert} ${what} after ${sec.toFixed(1)} s`;
      t.diagnostic(line);
      if (process.env['ALERT_TIMES_FILE']) appendFileSync(process.env['ALERT_TIMES_FILE'], `${line}\n`);
    }
  }

  /** The fault, then every expected alert firing; the healing, then every one of them resolved. */
  async function faultAndHeal(
    t: TestContext,
    fault: string,
    expected: Expected[],
    breakIt: () => Promise<void>,
    heal: () => Promise<void>,
  ): Promise<void> {
    const faultAt = Date.now();
    await breakIt();
    const fired = await waitAlerts(m(), expected, faultAt, FIRE_MS);
    record(t, fault, 'fired', fired.seconds);
    assert.deepEqual(
      fired.missing,
      [],
      `not in Alertmanager within 30 s; it held: ${fired.last.map((a) => JSON.stringify(a.labels)).join('\n')}`,
    );
    await heal();
    const healedAt = Date.now();
    const resolved = await waitAlerts(m(), expected, healedAt, RESOLVE_MS, false);
    record(t, fault, 'resolved', resolved.seconds);
    assert.deepEqual(resolved.missing, [], 'still firing 60 s after healing');
  }

  it('a healthy stack under load: Prometheus scrapes every target and no alert is raised', async (t) => {
    await waitFor(
      'every target up',
      async () => {
        const targets = await promTargets(m());
        return targets.length === 9 && targets.every((x) => x.health === 'up');
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    const targets = await promTargets(m());
    assert.deepEqual(
      targets.map((x) => `${x.labels['job']}/${x.labels['node']}`).sort(),
      ['app/app-1', 'app/app-2', 'haproxy/haproxy', 'redis/redis-1', 'redis/redis-2', 'redis/redis-3']
        .concat(['sentinel/sentinel-1', 'sentinel/sentinel-2', 'sentinel/sentinel-3'])
        .sort(),
    );
    // The healthy soak's short form (`npm run soak -- --healthy --monitoring`): a minute of the
    // browser-shaped load with Alertmanager watched every 5 s, longer than any rule's `for:` plus a
    // scrape, so a rule that fires on a healthy stack under load shows by then.
    const result = await runSoak(s, {
      minutes: 1,
      killEveryMinutes: 0,
      users: 8,
      intervalS: 30,
      pauseMs: SOAK_DEFAULTS.pauseMs,
      visitS: SOAK_DEFAULTS.visitS,
      appPids: () =>
        recordedPids(
          s.run,
          s.topology.apps.map((a) => a.name),
        ),
      log: (m) => t.diagnostic(m),
      monitoring: m(),
    });
    assert.deepEqual(result.missed, []);
    assert.deepEqual(result.alerts?.raised, []);
  });

  // Three faults of `ha-stack chaos --alerts` (src/tools/chaos/alert-faults.ts) at once, which the
  // full round times one by one (docs/monitoring.md): a replica near maxmemory, an old backup, TILT.
  it('memory near maxmemory, an old backup and a Sentinel in TILT, at once', async (t) => {
    const faults = ALERT_FAULTS.filter((f) => ['memory', 'backup', 'tilt'].includes(f.name));
    const master = (await s.redisMaster())!;
    const node = s.topology.redis.find((r) => r.name === master.name)!;
    const heals: (() => Promise<void>)[] = [];
    await faultAndHeal(
      t,
      'memory, backup, TILT',
      faults.flatMap((f) => f.expected(s, node)),
      async () => {
        for (const h of await Promise.all(faults.map((f) => f.cause(s, node)))) if (h) heals.push(h);
      },
      async () => {
        for (const h of heals) await h();
      },
    );
  });

  it('two Sentinels and both apps stopped: Sentinel and front alerts', async (t) => {
    const stopped = ['sentinel-2', 'sentinel-3', 'app-1', 'app-2'];
    await faultAndHeal(
      t,
      'two Sentinels and both apps stopped',
      [
        { alertname: 'SentinelDown', labels: { node: 'sentinel-2' } },
        { alertname: 'SentinelDown', labels: { node: 'sentinel-3' } },
        { alertname: 'SentinelQuorumLost' },
        { alertname: 'FrontServerDown', labels: { server: 'app-1' } },
        { alertname: 'FrontServerDown', labels: { server: 'app-2' } },
        { alertname: 'FrontBackendDown', labels: { proxy: 'apps' } },
      ],
      async () => {
        for (const n of stopped) await s.stop(n);
      },
      async () => {
        for (const n of stopped) await s.start(n);
      },
    );
  });

  it('both replicas stopped: nodes down, a replica missing, writes refused', async (t) => {
    const master = (await s.redisMaster())!;
    const replicas = s.topology.redis.filter((r) => r.name !== master.name).map((r) => r.name);
    await faultAndHeal(
      t,
      'both replicas stopped',
      [
        ...replicas.map((n) => ({ alertname: 'RedisNodeDown', labels: { node: n } })),
        { alertname: 'RedisReplicaMissing' },
        { alertname: 'RedisWritesRefused', labels: { node: master.name } },
      ],
      async () => {
        for (const n of replicas) await s.stop(n);
      },
      async () => {
        for (const n of replicas) await s.start(n);
      },
    );
  });

  it('the master killed: the failover notice, which ends by itself', async (t) => {
    const master = (await s.redisMaster())!;
    await faultAndHeal(
      t,
      'master killed',
      [{ alertname: 'RedisFailover', labels: { master_name: s.topology.masterName } }],
      () => s.kill(master.name),
      // Healed: another node is master and the old one is back (the supervisor restarts it as a replica).
      () =>
        waitFor(
          'a new master and the old one back',
          async () =>
            (await s.redisMaster())?.name !== master.name && s.process(master.name).status === 'running',
          { timeoutMs: 30_000, intervalMs: 250 },
        ),
    );
  });
});
