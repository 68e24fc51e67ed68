import { nodeStates, type StackActions, waitForMaster } from '../actions.ts';
import { nodeState, sentinelView } from '../process/probes.ts';
import { waitFor } from '../process/wait.ts';
import type { RedisNode } from '../topology.ts';
import { partition, partitionUnsupported } from './partition.ts';

export interface FaultContext {
  actions: StackActions;
  rounds: number;
  /** Marks the moment a fault is injected (the write window of each fault is measured from it). */
  fault: () => void;
  log: (message: string) => void;
}

export interface Scenario {
  name: string;
  goal: string;
  /** Requests may fail in this scenario (quorum loss): only writes, only with 503 and Retry-After. */
  writesMayFail?: boolean;
  /** Checks the write window against down-after + 1.3 s. */
  boundedWindow?: boolean;
  inject: (ctx: FaultContext) => Promise<string | undefined>;
  /** Why this scenario cannot run on this machine, or null (then it is skipped and says why, never faked). */
  unsupported?: (actions: StackActions) => Promise<string | null>;
}

/** A pause inside a fault scenario: the fault lasts this long on purpose. */
const hold = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function master(ctx: FaultContext): Promise<RedisNode> {
  const m = await ctx.actions.currentMaster();
  if (!m) throw new Error('no master before the fault');
  return m;
}

async function newMaster(ctx: FaultContext, old: RedisNode): Promise<RedisNode> {
  return waitForMaster(ctx.actions.topology, ctx.actions.password, (m) => m.name !== old.name);
}

/**
 * Waits until every Redis node is up and linked to the one master, and every Sentinel names that
 * master with no failover of its own still in progress: the next fault starts from a whole stack.
 * (A Sentinel that led a failover keeps it open until every replica is reconfigured; killing the
 * new master before then leaves that Sentinel waiting for the dead node.)
 */
export async function waitWhole(actions: StackActions): Promise<void> {
  const t = actions.topology;
  await waitFor(
    'every Redis node up and replicating, every Sentinel agreeing with no failover in progress',
    async () => {
      const states = [...(await nodeStates(t, actions.password)).entries()];
      const masters = states.filter(([, s]) => s?.role === 'master');
      if (states.some(([, s]) => s === null) || masters.length !== 1) return false;
      if (!states.every(([, s]) => s!.role === 'master' || s!.linkUp)) return false;
      const master = t.redis.find((r) => r.name === masters[0]![0])!;
      const views = await Promise.all(
        t.sentinels.map((s) => sentinelView(s.host, s.port, t.masterName).catch(() => null)),
      );
      return views.every(
        (v) =>
          v !== null &&
          v.master?.port === master.port &&
          v.master.host === master.host &&
          !v.flags.includes('failover_in_progress') &&
          v.replicas === t.redis.length - 1,
      );
    },
    { timeoutMs: 60_000 },
  );
}

async function rejoin(ctx: FaultContext, node: RedisNode): Promise<void> {
  await ctx.actions.restart(node.name);
  const state = await nodeState(node.host, node.port, ctx.actions.password);
  if (state.role !== 'slave') throw new Error(`${node.name} came back as ${state.role}, not as a replica`);
  await waitWhole(ctx.actions);
}

/** A node stopped (kill -9 or SIGTERM) for `ms`, then started again; users must notice nothing. */
function stopAndStart(name: string, how: 'kill' | 'terminate', node: string, ms: number): Scenario {
  return {
    name,
    goal: '0 failed, 0 lost',
    async inject(ctx) {
      ctx.fault();
      await ctx.actions[how](node);
      await hold(ms);
      await ctx.actions.restart(node);
      return undefined;
    },
  };
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'kill-master',
    goal: '0 failed, 0 lost, write window <= down-after + 1.3 s',
    boundedWindow: true,
    async inject(ctx) {
      for (let round = 1; round <= ctx.rounds; round++) {
        const old = await master(ctx);
        ctx.fault();
        await ctx.actions.kill(old.name);
        const next = await newMaster(ctx, old);
        ctx.log(`round ${round}: ${old.name} killed, ${next.name} promoted`);
        await rejoin(ctx, old);
      }
      return undefined;
    },
  },
  {
    name: 'pause-master',
    goal: '0 failed, 0 lost; the old master rejoins as a replica',
    async inject(ctx) {
      const old = await master(ctx);
      ctx.fault();
      await ctx.actions.pause(old.name);
      const next = await newMaster(ctx, old);
      await hold(1000);
      await ctx.actions.resume(old.name);
      await waitFor(
        `${old.name} to rejoin as a replica`,
        async () => {
          const s = await nodeState(old.host, old.port, ctx.actions.password);
          return s.role === 'slave' && s.linkUp;
        },
        { timeoutMs: 30_000 },
      );
      await waitWhole(ctx.actions);
      return `${old.name} paused until ${next.name} took over, then resumed as its replica`;
    },
  },
  {
    name: 'partition-master',
    goal: '0 failed, 0 lost; the cut-off master takes no acknowledged write and rejoins as a replica',
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
        const s = await nodeState(old.host, old.port, ctx.actions.password);
        ctx.log(`${old.name} cut off; ${next.name} promoted; the old master still says ${s.role}`);
      } finally {
        await heal();
      }
      await waitFor(
        `${old.name} to rejoin as a replica after the partition healed`,
        async () => {
          const s = await nodeState(old.host, old.port, ctx.actions.password);
          return s.role === 'slave' && s.linkUp;
        },
        { timeoutMs: 30_000 },
      );
      await waitWhole(ctx.actions);
      return `${old.name} cut off from replicas and Sentinels for ~8 s, ${next.name} took over, ${old.name} rejoined as its replica`;
    },
  },
  {
    name: 'restart-old-master',
    goal: '0 failed, 0 lost, no split brain',
    async inject(ctx) {
      const old = await master(ctx);
      ctx.fault();
      await ctx.actions.kill(old.name);
      await newMaster(ctx, old);
      await rejoin(ctx, old);
      const masters = [...(await nodeStates(ctx.actions.topology, ctx.actions.password)).values()].filter(
        (s) => s?.role === 'master',
      );
      if (masters.length !== 1) throw new Error(`split brain: ${masters.length} masters`);
      return undefined;
    },
  },
  stopAndStart('kill-app', 'kill', 'app-1', 3000),
  stopAndStart('term-app', 'terminate', 'app-2', 5000),
  {
    name: 'kill-replica',
    goal: '0 failed, 0 lost',
    async inject(ctx) {
      const m = await master(ctx);
      const replica = ctx.actions.topology.redis.find((r) => r.name !== m.name)!;
      ctx.fault();
      await ctx.actions.kill(replica.name);
      await hold(3000);
      await rejoin(ctx, replica);
      return undefined;
    },
  },
  stopAndStart('kill-sentinel', 'kill', 'sentinel-1', 3000),
  {
    name: 'quorum-loss',
    goal: 'writes 503 with Retry-After, reads served, 0 lost, recovery without restarts',
    writesMayFail: true,
    async inject(ctx) {
      const old = await master(ctx);
      ctx.fault();
      await ctx.actions.kill('sentinel-1');
      await ctx.actions.kill('sentinel-2');
      await ctx.actions.kill(old.name);
      // Longer than the write deadline: writes must be answered 503, not hang.
      await hold(8000);
      await ctx.actions.restart('sentinel-1');
      await ctx.actions.restart('sentinel-2');
      await ctx.actions.restart(old.name);
      await waitWhole(ctx.actions);
      return `${old.name} and two Sentinels down for 8 s, then started again`;
    },
  },
];

export const SCENARIO_NAMES = SCENARIOS.map((s) => s.name);
