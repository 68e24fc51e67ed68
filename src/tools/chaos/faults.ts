import { parseReplicationDetail } from '../../ha/info.ts';
import { sentinelView, withRedis } from '../../ha/probes.ts';
import type { StackActions } from '../../ops/actions.ts';
import { nodeStates, waitForMaster } from '../../ops/observe.ts';
import { waitFor } from '../../ops/supervisor/wait.ts';
import type { RedisNode } from '../../ops/topology.ts';
import type { ScenarioGoal } from './judge.ts';

/** What a scenario's fault can use: the stack, and a mark for the moment each fault happens. */
export interface FaultContext {
  actions: StackActions;
  rounds: number;
  /** Marks the moment a fault is injected (the write window of each fault is measured from it). */
  fault: () => void;
  log: (message: string) => void;
  /** The longest time two nodes reported role:master, where the scenario watched the roles. */
  twoMasters?: (seconds: number) => void;
}

/**
 * A scenario is data: the fault (what, when, how long) and the goal it must meet. A crashed
 * process (kill -9) comes back by itself, as under a restart policy; an operator's stop keeps a
 * node down until it is started again. No scenario restarts by hand what the supervisor restarts.
 */
export interface Scenario {
  name: string;
  goal: ScenarioGoal;
  /** Injects the fault and waits until it is healed; returns a note for the report. */
  inject: (ctx: FaultContext) => Promise<string | undefined>;
  /** Why this scenario cannot run on this machine, or null (then it is skipped and says why, never faked). */
  unsupported?: (actions: StackActions) => Promise<string | null>;
}

/** A pause inside a fault scenario: the fault lasts this long on purpose. */
export const hold = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Seconds since `from` (performance.now()), to a tenth. */
export const since = (from: number) => Math.round((performance.now() - from) / 100) / 10;

export async function master(ctx: FaultContext): Promise<RedisNode> {
  const m = await ctx.actions.currentMaster();
  if (!m) throw new Error('no master before the fault');
  return m;
}

export function newMaster(ctx: FaultContext, old: RedisNode, timeoutMs = 30_000): Promise<RedisNode> {
  return waitForMaster(ctx.actions.topology, ctx.actions, (m) => m.name !== old.name, timeoutMs);
}

/**
 * Waits until every Redis node is up and linked to the one master, and every Sentinel names that
 * master with no failover of its own still in progress: the next fault starts from a whole stack.
 * (A Sentinel that led a failover keeps it open until every replica is reconfigured; killing the
 * new master before then leaves that Sentinel waiting for the dead node.)
 */
export async function waitWhole(actions: StackActions, timeoutMs = 60_000): Promise<void> {
  const t = actions.topology;
  await waitFor(
    'every Redis node up and replicating, every Sentinel agreeing with no failover in progress',
    async () => {
      const states = [...(await nodeStates(t, actions.login)).entries()];
      const masters = states.filter(([, s]) => s?.role === 'master');
      if (states.some(([, s]) => s === null) || masters.length !== 1) return false;
      const master = t.redis.find((r) => r.name === masters[0]![0])!;
      // Every other node a replica of that master itself, its link up: a replica of a replica (a
      // node the Sentinels have not moved yet after a cold start) is not whole.
      const ofMaster = (s: NonNullable<(typeof states)[number][1]>) =>
        s.role === 'master' || (s.linkUp && s.masterHost === master.host && s.masterPort === master.port);
      if (!states.every(([, s]) => ofMaster(s!))) return false;
      const views = await Promise.all(
        t.sentinels.map((s) =>
          sentinelView(s.host, s.port, t.masterName, actions.sentinelPassword).catch(() => null),
        ),
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
    { timeoutMs, intervalMs: 200 },
  );
}

/**
 * Redis nodes in good health right now: the one master (none counts when several claim the role)
 * and the replicas whose link to it is up.
 */
export async function healthyNodes(actions: StackActions): Promise<number> {
  const t = actions.topology;
  const states = await nodeStates(t, actions.login);
  const masters = t.redis.filter((r) => states.get(r.name)?.role === 'master');
  if (masters.length !== 1) return 0;
  const m = masters[0]!;
  const linked = t.redis.filter((r) => {
    const s = states.get(r.name);
    return s?.role === 'slave' && s.linkUp && s.masterPort === m.port && s.masterHost === m.host;
  });
  return 1 + linked.length;
}

/**
 * Whether a node that reports role:master would take a write now, from its own numbers: it
 * refuses every write (NOREPLICAS) while fewer replicas than its `min-replicas-to-write` are
 * attached within `min-replicas-max-lag` (`min_slaves_good_slaves`), so a master fenced off by its
 * guard (fence.ts) takes none, nor one whose replicas have all left it. Not answering: it may.
 */
export function acceptsWrites(minReplicasReply: unknown, info: string): boolean {
  const min = Array.isArray(minReplicasReply) ? Number(minReplicasReply[1]) : 0;
  return !(min > 0) || parseReplicationDetail(info).goodReplicas >= min;
}

/** Of `masters` (names), those that would take a write (acceptsWrites): a master cut from its replicas takes none. */
async function takingWrites(actions: StackActions, masters: string[]): Promise<string[]> {
  const open = await Promise.all(
    masters.map(async (name) => {
      const n = actions.topology.redis.find((r) => r.name === name)!;
      return withRedis(
        n.host,
        n.port,
        actions.login,
        async (r) =>
          acceptsWrites(
            await r.call('CONFIG', 'GET', 'min-replicas-to-write'),
            (await r.call('INFO', 'replication')) as string,
          ),
        250,
      ).catch(() => true);
    }),
  );
  return masters.filter((_, i) => open[i]);
}

/**
 * Samples every node's role until closed, and keeps each sample in which more than one node
 * claimed to be master and would take a write (acceptsWrites: a master fenced off by its guard
 * or left without a replica takes none, and is counted apart): a split brain, however short, is in the record.
 */
export function watchRoles(actions: StackActions, intervalMs = 100) {
  const splits: string[] = [];
  /** Samples in which more than one node reported role:master, taking writes or not. */
  const reported: string[] = [];
  let samples = 0;
  /** Samples of a master refusing writes (fenced off, or without a replica) beside another. */
  let fenced = 0;
  let stopped = false;
  // The longest runs of samples with two masters taking writes, and with two merely reporting
  // role:master, each from its first sample to the first without.
  const taking = longestRun();
  const reporting = longestRun();
  const loop = (async () => {
    while (!stopped) {
      // A node that does not answer within 250 ms counts as no master: the samples stay ~100 ms apart.
      const states = await nodeStates(actions.topology, actions.login, 250);
      const at = performance.now();
      const all = [...states].filter(([, s]) => s?.role === 'master').map(([n]) => n);
      // A master that refuses writes (fenced off, or no replica left) splits no data.
      const masters = all.length > 1 ? await takingWrites(actions, all) : all;
      samples++;
      if (all.length > 1) fenced += all.length - masters.length;
      if (masters.length > 1) splits.push(masters.join('+'));
      if (all.length > 1) reported.push(all.join('+'));
      taking.sample(masters.length > 1, at);
      reporting.sample(all.length > 1, at);
      await hold(intervalMs);
    }
  })();
  const tenths = (ms: number) => Math.round(ms / 100) / 10;
  return {
    close: async () => {
      stopped = true;
      await loop;
      return {
        samples,
        splits,
        reported,
        fenced,
        longestS: tenths(taking.ms()),
        reportingS: tenths(reporting.ms()),
      };
    },
  };
}

/** The longest run of samples for which a condition held, from its first sample to the first without. */
function longestRun() {
  let since: number | undefined;
  let longest = 0;
  return {
    sample(holds: boolean, at: number) {
      if (since !== undefined) longest = Math.max(longest, at - since);
      if (holds) since ??= at;
      else since = undefined;
    },
    ms: () => longest,
  };
}

/** Waits for a node to come back as a replica with its link up; resolves with the seconds it took from `from`. */
export async function waitReplica(actions: StackActions, node: RedisNode, from: number, timeoutMs = 60_000) {
  await waitFor(
    `${node.name} to come back as a replica`,
    async () => {
      const s = (await nodeStates(actions.topology, actions.login)).get(node.name);
      return s?.role === 'slave' && s.linkUp;
    },
    { timeoutMs, intervalMs: 100 },
  );
  return since(from);
}

/**
 * Waits until an app instance answers its /readyz with 200 (directly, not through HAProxy), or
 * with `ready` false until it no longer does (draining, or gone).
 */
export async function waitAppReady(actions: StackActions, name: string, timeoutMs = 30_000, ready = true) {
  const app = actions.topology.apps.find((a) => a.name === name);
  if (!app) throw new Error(`not an app of the topology: ${name}`);
  const url = `http://${app.host}:${app.port}/readyz`;
  await waitFor(
    ready ? `${name} to be ready again` : `${name} to stop being ready`,
    async () =>
      (await fetch(url, { signal: AbortSignal.timeout(1000) }).then(
        (r) => r.ok,
        () => false,
      )) === ready,
    { timeoutMs, intervalMs: 100 },
  );
}

/** The Sentinels that report TILT mode now (their belief, as status and the topology page read it). */
export async function tiltedSentinels(actions: StackActions): Promise<string[]> {
  const t = actions.topology;
  const out = await Promise.all(
    t.sentinels.map(async (s) => {
      const v = await sentinelView(s.host, s.port, t.masterName, actions.sentinelPassword).catch(() => null);
      return v?.tilt ? s.name : null;
    }),
  );
  return out.filter((x): x is string => x !== null);
}
