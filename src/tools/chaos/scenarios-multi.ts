import { sentinelsNeeded } from '../../ha/mode.ts';
import { sentinelsMaster } from '../../ha/probes.ts';
import { nodeStates, waitForMaster } from '../../ops/observe.ts';
import { waitFor } from '../../ops/supervisor/wait.ts';
import type { RedisNode } from '../../ops/topology.ts';
import {
  type FaultContext,
  hold,
  master,
  newMaster,
  type Scenario,
  since,
  tiltedSentinels,
  waitWhole,
} from './faults.ts';

/**
 * Faults that leave the stack degraded for a while: a second fault before the first healed, two
 * nodes down, the Sentinels unable to fail over. Reads must be served throughout; writes may be
 * refused meanwhile, but only with 503 and Retry-After; nothing acknowledged may be lost; and the
 * stack must be whole again once the nodes are back, without a hand on it.
 */

/** Longer than the app's write deadline (6 s by default): writes must be answered 503, not hang. */
const OUTAGE_MS = 8000;

const DEGRADED = { writesMayFail: true, nodesAtEnd: 'all', replicaReads: true } as const;

/**
 * Waits until every other node that answers replicates from `promoted` with everything it held
 * when this began (whichever Sentinel promotes next then has it); says how long that took, or that
 * it did not within 10 s.
 */
async function caughtUpWith(ctx: FaultContext, promoted: RedisNode): Promise<string> {
  const t = ctx.actions.topology;
  const at = performance.now();
  const held = (await nodeStates(t, ctx.actions.login)).get(promoted.name)?.offset ?? 0;
  let who: string[] = [];
  const ok = await waitFor(
    'the other nodes to catch up with the promoted one',
    async () => {
      const others = [...(await nodeStates(t, ctx.actions.login))].filter(
        ([name, s]) => name !== promoted.name && s !== null,
      );
      who = others.map(([name]) => name);
      return (
        others.length > 0 &&
        others.every(
          ([, s]) => s?.role === 'slave' && s.masterPort === promoted.port && s.linkUp && s.offset >= held,
        )
      );
    },
    { timeoutMs: 10_000, intervalMs: 20 },
  ).then(
    () => true,
    () => false,
  );
  return ok
    ? `${who.join(', ')} caught up with it ${since(at)} s after it was named`
    : 'not caught up with within 10 s';
}

export const MULTI_FAULT_SCENARIOS: Scenario[] = [
  {
    name: 'double-fault',
    goal: DEGRADED,
    async inject(ctx) {
      const t = ctx.actions.topology;
      const first = await master(ctx);
      ctx.fault();
      const at = performance.now();
      await ctx.actions.kill(first.name);
      // The second blow follows once a Sentinel names the promoted node (the first is restarted by
      // itself meanwhile, and rejoins once it sees the new master).
      let second: RedisNode | undefined;
      await waitFor(
        'a Sentinel to name a new master',
        async () => {
          const m = await sentinelsMaster(t.sentinels, t.masterName, ctx.actions.sentinelPassword);
          second = t.redis.find((r) => r.host === m?.host && r.port === m.port && r.name !== first.name);
          return second !== undefined;
        },
        { timeoutMs: 30_000, intervalMs: 20 },
      );
      const promoted = second!;
      // A write WAIT acknowledged is on two nodes: the master and one replica, maybe the promoted
      // one only. Until the third node has what the promoted one holds, a second kill takes that
      // write's last live copy, and the third node, promoted, serves a data set without it (one
      // fault is what WAIT 1 survives: docs/failover-and-chaos.md). The second blow lands the
      // moment the nodes that answer have caught up with the promoted one.
      const caughtUp = await caughtUpWith(ctx, promoted);
      ctx.fault();
      await ctx.actions.kill(promoted.name);
      const firstState = (await nodeStates(t, ctx.actions.login)).get(first.name);
      ctx.log(`${first.name} killed, ${promoted.name} promoted after ${since(at)} s and killed too`);
      const third = await newMaster(ctx, promoted, 60_000);
      await waitWhole(ctx.actions, 90_000);
      const firstWas = firstState ? `already back as ${firstState.role}` : 'still down';
      return `${first.name} killed; ${promoted.name} promoted, then killed with ${first.name} ${firstWas}; ${caughtUp}; ${third.name} promoted; whole by itself ${since(at)} s after the first kill`;
    },
  },
  {
    name: 'lose-two-nodes',
    goal: DEGRADED,
    async inject(ctx) {
      const t = ctx.actions.topology;
      const first = await master(ctx);
      // A stop lets the node finish what it is doing (SIGTERM): the fault counts from its exit.
      await ctx.actions.stop(first.name);
      ctx.fault();
      const second = await newMaster(ctx, first);
      await ctx.actions.stop(second.name);
      ctx.fault();
      const last = t.redis.find((r) => r.name !== first.name && r.name !== second.name)!;
      ctx.log(`${first.name} and ${second.name} stopped; ${last.name} alone for ${OUTAGE_MS / 1000} s`);
      await hold(OUTAGE_MS);
      const alone = (await nodeStates(t, ctx.actions.login)).get(last.name);
      const at = performance.now();
      await ctx.actions.start(first.name);
      await ctx.actions.start(second.name);
      await waitWhole(ctx.actions, 90_000);
      return `${first.name} then ${second.name} stopped; ${last.name} alone (${alone?.role ?? 'down'}) for ${OUTAGE_MS / 1000} s; whole ${since(at)} s after both were started`;
    },
  },
  {
    name: 'sentinel-tilt',
    goal: DEGRADED,
    async inject(ctx) {
      const t = ctx.actions.topology;
      const paused = t.sentinels.slice(1).map((s) => s.name);
      // A Sentinel that sees its clock jump by more than 2 s (here: a 3 s stop) enters TILT for 30 s:
      // it watches but takes no part in a failover, so no quorum can be reached meanwhile.
      for (const s of paused) await ctx.actions.pause(s);
      await hold(3000);
      for (const s of paused) await ctx.actions.resume(s);
      let tilted: string[] = [];
      await waitFor(
        'the resumed Sentinels to enter TILT',
        async () => {
          tilted = await tiltedSentinels(ctx.actions);
          return tilted.length > 0;
        },
        { timeoutMs: 5000, intervalMs: 100 },
      ).catch(() => undefined);
      const old = await master(ctx);
      ctx.fault();
      const at = performance.now();
      await ctx.actions.kill(old.name);
      let tiltOverS: number | null = tilted.length ? null : 0;
      const tilt = (async () => {
        while (tiltOverS === null) {
          if ((await tiltedSentinels(ctx.actions)).length === 0) tiltOverS = since(at);
          else await hold(250);
        }
      })();
      // A master again: a node Sentinel promoted once TILT ended, or the killed one if it came back first.
      const next = await waitForMaster(t, ctx.actions, () => true, 90_000).finally(() => {
        tiltOverS ??= -1;
      });
      const masterS = since(at);
      await tilt;
      await waitWhole(ctx.actions, 90_000);
      const inTilt = tilted.length ? `${tilted.join(', ')} in TILT` : 'no Sentinel entered TILT';
      const over =
        tiltOverS === -1 ? 'still in TILT when a master was back' : `TILT over ${tiltOverS} s after the kill`;
      const how =
        next.name === old.name
          ? `${old.name} back as master by itself (no failover)`
          : `${next.name} promoted`;
      return `${inTilt}; ${old.name} killed; ${over}; ${how} ${masterS} s after the kill; whole by itself ${since(at)} s after it`;
    },
  },
  {
    name: 'quorum-loss',
    goal: DEGRADED,
    async inject(ctx) {
      const t = ctx.actions.topology;
      const old = await master(ctx);
      // One Sentinel fewer than a failover needs is left: with 3 and quorum 2, two are stopped.
      const stopped = t.sentinels
        .slice(0, t.sentinels.length - sentinelsNeeded(t.quorum, t.sentinels.length) + 1)
        .map((s) => s.name);
      // Stopped, not killed: a killed process would be back by itself before the outage is felt.
      for (const s of stopped) await ctx.actions.stop(s);
      await ctx.actions.stop(old.name);
      ctx.fault();
      await hold(OUTAGE_MS);
      const at = performance.now();
      for (const s of stopped) await ctx.actions.start(s);
      await ctx.actions.start(old.name);
      await waitWhole(ctx.actions);
      return `${old.name} and ${stopped.join(', ')} down for ${OUTAGE_MS / 1000} s, then started; whole ${since(at)} s later`;
    },
  },
];
