// The faults of the per-alert round (`ha-stack chaos --alerts`, alert-round.ts): each one causes
// one or a few rules of deploy/monitoring/alerts.yml on the local stack and heals it again.
import type { Redis } from 'ioredis';
import { BACKUP_LAST_GOOD_KEY } from '../../ha/keys.ts';
import { withRedis } from '../../ha/probes.ts';
import type { Stack } from '../../ops/supervisor/supervisor.ts';
import { waitFor } from '../../ops/supervisor/wait.ts';
import type { RedisNode } from '../../ops/topology.ts';
import type { Expected } from '../monitor/api.ts';
import { errorLoad } from './alert-load.ts';
import { hold } from './faults.ts';

export interface AlertFault {
  /** Its name on the command line. */
  name: string;
  /** What is done, for the table. */
  what: string;
  /** The alerts it must raise (within 30 s), and see resolved after the heal (within 60 s). */
  expected: (s: Stack, m: RedisNode) => Expected[];
  /**
   * Causes the fault; returns its heal, or null for a fault that ends within `cause` (a SIGSTOP
   * then SIGCONT): then the resolve time counts from the end of `cause`.
   */
  cause: (s: Stack, m: RedisNode) => Promise<(() => Promise<void>) | null>;
  /**
   * A fault a defence of the stack undoes by itself (before the alert's `for:` ends): waits for
   * that and says how long it took; the alert is measured, not required to page.
   */
  undone?: (s: Stack, m: RedisNode) => Promise<string>;
}

const on = <T>(s: Stack, n: RedisNode, fn: (r: Redis) => Promise<T>) =>
  withRedis(n.host, n.port, s.login, fn, 3000);

const replicaOf = (s: Stack, m: RedisNode) => s.topology.redis.find((r) => r.name !== m.name)!;

const exporterOf = (s: Stack, node: string) =>
  s.topology.monitoring.redisExporters.find((e) => e.node === node)!.name;

export const ALERT_FAULTS: AlertFault[] = [
  {
    name: 'memory',
    what: "a replica's maxmemory set 5 % above its used memory (CONFIG SET)",
    expected: (s, m) => [{ alertname: 'RedisMemoryNearMax', labels: { node: replicaOf(s, m).name } }],
    async cause(s, m) {
      const r = replicaOf(s, m);
      const before = await on(s, r, async (c) => (await c.config('GET', 'maxmemory'))[1] as string);
      const used = await on(s, r, async (c) => Number(/used_memory:(\d+)/.exec(await c.info('memory'))![1]));
      await on(s, r, (c) => c.config('SET', 'maxmemory', String(Math.ceil(used * 1.05))));
      return async () => {
        await on(s, r, (c) => c.config('SET', 'maxmemory', before));
      };
    },
  },
  {
    name: 'backup',
    what: 'the last good backup recorded 27 hours ago (the key the backup writes)',
    expected: () => [{ alertname: 'BackupTooOld' }],
    async cause(s, m) {
      const before = await on(s, m, (c) => c.get(BACKUP_LAST_GOOD_KEY));
      const old = Math.floor(Date.now() / 1000) - 27 * 3600;
      await on(s, m, (c) => c.set(BACKUP_LAST_GOOD_KEY, String(old)));
      return async () => {
        const now = (await s.currentMaster()) ?? m;
        await on(s, now, async (c) => {
          if (before === null) await c.del(BACKUP_LAST_GOOD_KEY);
          else await c.set(BACKUP_LAST_GOOD_KEY, before);
        });
      };
    },
  },
  {
    name: 'tilt',
    what: 'a Sentinel stopped (SIGSTOP) for 3 s, then continued: TILT for 30 s (healed = SIGCONT)',
    expected: (s) => [{ alertname: 'SentinelTilt', labels: { node: s.topology.sentinels[1]!.name } }],
    async cause(s) {
      const n = s.topology.sentinels[1]!.name;
      await s.pause(n);
      await hold(3000);
      await s.resume(n);
      return null;
    },
  },
  {
    name: 'link',
    what: "a replica's link to the master broken (a wrong masterauth, its link killed)",
    expected: (s, m) => [
      { alertname: 'RedisReplicaLinkDown', labels: { node: replicaOf(s, m).name } },
      { alertname: 'RedisReplicaMissing' },
    ],
    async cause(s, m) {
      const r = replicaOf(s, m);
      const auth = await on(s, r, async (c) => (await c.config('GET', 'masterauth'))[1] as string);
      await on(s, r, async (c) => {
        await c.config('SET', 'masterauth', `wrong-${Date.now()}`);
        await c.call('CLIENT', 'KILL', 'TYPE', 'master');
      });
      return async () => {
        await on(s, r, (c) => c.config('SET', 'masterauth', auth));
      };
    },
  },
  {
    name: 'stall',
    what: 'a replica stopped (SIGSTOP) for 9 s, under repl-timeout (10 s), then continued',
    expected: (_s, m) => [{ alertname: 'RedisReplicaLagging', labels: { node: m.name } }],
    async cause(s, m) {
      const r = replicaOf(s, m);
      await s.pause(r.name);
      await hold(9000);
      await s.resume(r.name);
      return null;
    },
  },
  {
    name: 'exporter-killed',
    what: "a replica's exporter killed (-9): the supervisor starts it again",
    expected: (s, m) => [
      { alertname: 'ScrapeTargetDown', labels: { job: 'redis', node: replicaOf(s, m).name } },
    ],
    undone: async (s, m) => {
      const name = exporterOf(s, replicaOf(s, m).name);
      const at = performance.now();
      await waitFor(`${name} running again`, async () => s.process(name).status === 'running', {
        timeoutMs: 30_000,
        intervalMs: 100,
      });
      return `${name} running again after ${((performance.now() - at) / 1000).toFixed(1)} s`;
    },
    async cause(s, m) {
      await s.kill(exporterOf(s, replicaOf(s, m).name));
      return async () => undefined;
    },
  },
  {
    name: 'exporter',
    what: "a replica's exporter and app-2 stopped (ha-stack stop)",
    expected: (s, m) => [
      { alertname: 'ScrapeTargetDown', labels: { job: 'redis', node: replicaOf(s, m).name } },
      { alertname: 'ScrapeTargetDown', labels: { job: 'app', node: s.topology.apps.at(-1)!.name } },
      { alertname: 'FrontServerDown', labels: { server: s.topology.apps.at(-1)!.name } },
    ],
    async cause(s, m) {
      const names = [exporterOf(s, replicaOf(s, m).name), s.topology.apps.at(-1)!.name];
      for (const n of names) await s.stop(n);
      return async () => {
        for (const n of names) await s.start(n);
      };
    },
  },
  {
    name: 'replicas',
    what: 'both replicas stopped',
    expected: (s, m) => [
      ...s.topology.redis
        .filter((r) => r.name !== m.name)
        .map((r) => ({ alertname: 'RedisNodeDown', labels: { node: r.name } })),
      { alertname: 'RedisReplicaMissing' },
      { alertname: 'RedisWritesRefused', labels: { node: m.name } },
    ],
    async cause(s, m) {
      const names = s.topology.redis.filter((r) => r.name !== m.name).map((r) => r.name);
      for (const n of names) await s.stop(n);
      return async () => {
        for (const n of names) await s.start(n);
      };
    },
  },
  {
    name: 'master-killed',
    what: 'the master killed (-9); healed: a new master, the old one back as a replica',
    expected: (s) => [{ alertname: 'RedisFailover', labels: { master_name: s.topology.masterName } }],
    async cause(s, m) {
      await s.kill(m.name);
      return () =>
        waitFor(
          'a new master and the old one back',
          async () => (await s.currentMaster())?.name !== m.name && s.process(m.name).status === 'running',
          { timeoutMs: 30_000, intervalMs: 250 },
        );
    },
  },
  {
    name: 'split-brain',
    what: 'REPLICAOF NO ONE on a replica (two masters); the supervisor demotes a stale master',
    expected: () => [{ alertname: 'RedisMultipleMasters' }],
    undone: async (s, m) => {
      const r = replicaOf(s, m);
      return `${r.name} a replica again after ${(await secondsUntilReplica(s, r)).toFixed(1)} s`;
    },
    async cause(s, m) {
      const r = replicaOf(s, m);
      await on(s, r, (c) => c.call('REPLICAOF', 'NO', 'ONE'));
      return async () => undefined;
    },
  },
  {
    name: 'no-master',
    what: 'two Sentinels stopped, then the master (no failover can happen), writes sent to each app',
    expected: (s, m) => [
      { alertname: 'RedisNoMaster' },
      { alertname: 'RedisNodeDown', labels: { node: m.name } },
      ...s.topology.sentinels.slice(1).map((x) => ({ alertname: 'SentinelDown', labels: { node: x.name } })),
      { alertname: 'SentinelQuorumLost' },
      { alertname: 'FrontBackendDown', labels: { proxy: 'redis_master' } },
      ...s.topology.apps.map((a) => ({ alertname: 'AppHighErrorRate', labels: { instance_id: a.name } })),
    ],
    async cause(s, m) {
      const load = await errorLoad(s);
      const sentinels = s.topology.sentinels.slice(1).map((x) => x.name);
      for (const n of sentinels) await s.stop(n);
      await s.stop(m.name);
      return async () => {
        // The Sentinels first: with their quorum back they promote a replica (the old master is
        // long down), and the old master then starts as its replica.
        for (const n of sentinels) await s.start(n);
        await s.start(m.name);
        await load.stop();
      };
    },
  },
];

/** Seconds until `node` reports role:slave again (the stale-master demoter's or Sentinel's work). */
export async function secondsUntilReplica(s: Stack, node: RedisNode, timeoutMs = 60_000): Promise<number> {
  const at = performance.now();
  await waitFor(
    `${node.name} a replica again`,
    async () => /role:slave/.test(await on(s, node, (c) => c.info('replication')).catch(() => '')),
    { timeoutMs, intervalMs: 100 },
  );
  return (performance.now() - at) / 1000;
}
