import { nodeState } from '../../ha/probes.ts';
import { waitFor } from '../../ops/supervisor/wait.ts';
import type { RedisNode } from '../../ops/topology.ts';
import {
  type FaultContext,
  hold,
  master,
  newMaster,
  type Scenario,
  since,
  waitAppReady,
  waitReplica,
  waitWhole,
  watchRoles,
} from './faults.ts';
import { partition, partitionUnsupported } from './partition.ts';
import { MULTI_FAULT_SCENARIOS } from './scenarios-multi.ts';

export type { FaultContext, Scenario } from './faults.ts';
export { waitWhole } from './faults.ts';

/** Every Redis node healthy at the end: the master and all its replicas, however many the stack has. */
const WHOLE = 'all';

async function rejoined(ctx: FaultContext, old: RedisNode): Promise<void> {
  await waitFor(
    `${old.name} to rejoin as a replica`,
    async () => {
      const s = await nodeState(old.host, old.port, ctx.actions.login);
      return s.role === 'slave' && s.linkUp;
    },
    { timeoutMs: 30_000 },
  );
  await waitWhole(ctx.actions);
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'kill-master',
    goal: { replicaReads: true, boundedWindow: true, nodesAtEnd: WHOLE },
    async inject(ctx) {
      const back: number[] = [];
      for (let round = 1; round <= ctx.rounds; round++) {
        const old = await master(ctx);
        ctx.fault();
        const at = performance.now();
        await ctx.actions.kill(old.name);
        const next = await newMaster(ctx, old);
        ctx.log(`round ${round}: ${old.name} killed, ${next.name} promoted`);
        // No hand on the stack: the killed node must come back by itself, as a replica.
        await waitWhole(ctx.actions);
        back.push(since(at));
      }
      return `whole again by itself ${back.join(', ')} s after each kill`;
    },
  },
  {
    name: 'pause-master',
    goal: { replicaReads: true, nodesAtEnd: WHOLE },
    async inject(ctx) {
      const old = await master(ctx);
      ctx.fault();
      await ctx.actions.pause(old.name);
      const next = await newMaster(ctx, old);
      await hold(1000);
      await ctx.actions.resume(old.name);
      await rejoined(ctx, old);
      return `${old.name} paused until ${next.name} took over, then resumed as its replica`;
    },
  },
  {
    name: 'partition-master',
    goal: { replicaReads: true },
    async unsupported(actions) {
      const t = actions.topology;
      const m = t.redis[0]!;
      return partitionUnsupported(
        m.host,
        [...t.redis.slice(1), ...t.sentinels].map((n) => n.host),
      );
    },
    async inject(ctx) {
      const t = ctx.actions.topology;
      const old = await master(ctx);
      const peers = [...t.redis.filter((r) => r.name !== old.name), ...t.sentinels].map((n) => n.host);
      const heal = await partition(old.host, peers);
      ctx.fault(); // once every rule is in place
      let next: RedisNode;
      try {
        next = await newMaster(ctx, old);
        // Keep it cut off past min-replicas-max-lag: the old master must refuse writes by itself.
        await hold(6000);
        const s = await nodeState(old.host, old.port, ctx.actions.login);
        ctx.log(`${old.name} cut off; ${next.name} promoted; the old master still says ${s.role}`);
      } finally {
        await heal();
      }
      await rejoined(ctx, old);
      return `${old.name} cut off from replicas and Sentinels for ~8 s, ${next.name} took over, ${old.name} rejoined as its replica`;
    },
  },
  {
    name: 'restart-old-master',
    goal: { replicaReads: true, nodesAtEnd: WHOLE },
    async inject(ctx) {
      const old = await master(ctx);
      // Roles are sampled from the kill until the stack is whole: never two masters at once.
      const roles = watchRoles(ctx.actions);
      const at = performance.now();
      const healed = (async () => {
        ctx.fault();
        await ctx.actions.kill(old.name);
        const next = await newMaster(ctx, old);
        const backS = await waitReplica(ctx.actions, old, at);
        await waitWhole(ctx.actions);
        return { next, backS };
      })();
      const outcome = await healed.then(
        (v) => ({ ok: true as const, ...v }),
        (err: unknown) => ({ ok: false as const, err }),
      );
      // Strictly: no second node reporting master, whether it would take writes or not.
      const { samples, reported } = await roles.close();
      if (reported.length)
        throw new Error(`two masters in ${reported.length} of ${samples} samples: ${reported[0]}`);
      if (!outcome.ok) throw outcome.err;
      const { next, backS } = outcome;
      return `${old.name} back by itself as a replica of ${next.name} ${backS} s after the kill; never two masters`;
    },
  },
  {
    name: 'kill-app',
    goal: {},
    async inject(ctx) {
      ctx.fault();
      const at = performance.now();
      await ctx.actions.kill('app-1');
      await waitAppReady(ctx.actions, 'app-1');
      return `app-1 back by itself, ready ${since(at)} s after the kill`;
    },
  },
  {
    name: 'term-app',
    goal: {},
    async inject(ctx) {
      // SIGTERM: the instance reports not-ready, drains, exits, and is started again by itself.
      ctx.fault();
      const at = performance.now();
      await ctx.actions.terminate('app-2');
      await waitAppReady(ctx.actions, 'app-2', 30_000, false);
      const goneS = since(at);
      await waitAppReady(ctx.actions, 'app-2');
      return `app-2 drained and out after ${goneS} s, back by itself ${since(at)} s after SIGTERM`;
    },
  },
  {
    name: 'kill-replica',
    goal: { nodesAtEnd: WHOLE },
    async inject(ctx) {
      const m = await master(ctx);
      const replica = ctx.actions.topology.redis.find((r) => r.name !== m.name)!;
      ctx.fault();
      const at = performance.now();
      await ctx.actions.kill(replica.name);
      const backS = await waitReplica(ctx.actions, replica, at);
      await waitWhole(ctx.actions);
      return `${replica.name} back by itself as a replica ${backS} s after the kill`;
    },
  },
  {
    name: 'kill-sentinel',
    goal: { nodesAtEnd: WHOLE },
    async inject(ctx) {
      ctx.fault();
      const at = performance.now();
      await ctx.actions.kill('sentinel-1');
      await waitWhole(ctx.actions);
      return `sentinel-1 back by itself and agreeing ${since(at)} s after the kill`;
    },
  },
  ...MULTI_FAULT_SCENARIOS,
];

export const SCENARIO_NAMES = SCENARIOS.map((s) => s.name);
