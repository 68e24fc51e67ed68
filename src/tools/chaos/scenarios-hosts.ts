import { plannedFailover } from '../../ops/failover.ts';
import type { HostFaults } from '../../ops/hosts/faults.ts';
import { waitFor } from '../../ops/supervisor/wait.ts';
import type { RedisNode } from '../../ops/topology.ts';
import { farSide } from './far-side.ts';
import {
  type FaultContext,
  hold,
  master,
  newMaster,
  type Scenario,
  since,
  waitWhole,
  watchRoles,
} from './faults.ts';

/** Two nodes may report role:master at most this long (sampled every 100 ms). */
export const MAX_TWO_MASTERS_S = 1;
/** The floating address must be on another host within this long of its host's loss. */
export const MAX_FRONT_MOVE_S = 3;

/**
 * A request in flight to an app on a host that is cut off waits on TCP: its retransmissions back
 * off (0.2, 0.4, ... 6.4 s, 12.6 s in all) and the one after the heal gets through, so it is served
 * late rather than failed (HAProxy cannot send a form post elsewhere once sent). Measured up to
 * 13.9 s on the bed (2 cores, three hosts and the load on one machine).
 */
export const HOST_MAX_REQUEST_MS = 15_000;

/** How long a lost host stays off, a link stays lossy or slow. */
const OFF_MS = 3000;
const LINK_FAULT_MS = 30_000;

/**
 * Runs a fault with every node's role sampled every 100 ms: the longest time two nodes reported
 * role:master goes to the row (judged against MAX_TWO_MASTERS_S) and the note.
 */
async function guarded(ctx: FaultContext, fault: () => Promise<string>): Promise<string> {
  const roles = watchRoles(ctx.actions, 100);
  let note: string;
  try {
    note = await fault();
  } catch (err) {
    await roles.close();
    throw err;
  }
  const seen = await roles.close();
  ctx.twoMasters?.(seen.longestS);
  if (seen.longestS > 0) ctx.log(`two masters for ${seen.longestS} s: ${seen.splits.at(-1)}`);
  return `${note}; two masters at most ${seen.longestS} s in ${seen.samples} samples`;
}

/**
 * The master on a host that does not hold the floating address (a planned failover first when it
 * does), so that losing the master's host and losing the front door stay two scenarios.
 */
async function masterOffFront(ctx: FaultContext, f: HostFaults): Promise<RedisNode> {
  const m = await master(ctx);
  const host = f.hostOf(m.name);
  if (!f.frontHolders().includes(host)) return m;
  const moved = await plannedFailover(ctx.actions);
  await waitWhole(ctx.actions);
  ctx.log(`master moved off ${host} (it holds the floating address): ${moved.to}`);
  return await master(ctx);
}

async function restoreAndWait(ctx: FaultContext, f: HostFaults, host: string, at: number): Promise<number> {
  f.restore(host);
  await waitWhole(ctx.actions, 90_000);
  return since(at);
}

const shuffle = <T>(xs: T[]): T[] => {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
};

/** Every host off under the load, then booted (`spreadMs` apart at random, in random order when asked). */
async function wholeSite(ctx: FaultContext, f: HostFaults, opts: { random: boolean }): Promise<string> {
  ctx.fault();
  const at = performance.now();
  f.powerOff();
  await hold(OFF_MS);
  const order = opts.random ? shuffle(f.hosts) : f.hosts;
  if (opts.random)
    for (const h of order) {
      f.bootAll([h]);
      await hold(Math.floor(Math.random() * 1000));
    }
  else f.bootAll(order);
  const booted = performance.now();
  await waitFor(
    'one master named by the Sentinels and reporting itself master',
    async () => {
      const m = await ctx.actions.currentMaster().catch(() => undefined);
      return m !== undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  const oneMaster = since(booted);
  await waitWhole(ctx.actions, 90_000);
  return `every host off for ${OFF_MS / 1000} s, booted ${order.join(', ')}: a master after ${oneMaster} s, whole after ${since(at)} s`;
}

/**
 * The master's host cut off from the other hosts and the main clients (both ways), with a client
 * on each side: the main load on the majority's side through the floating address, and a far-side
 * client that reaches only the cut-off host's own front. Healed 3 s after the promotion. Whatever the far side was told it had written must be there after the heal.
 */
async function partition(ctx: FaultContext, f: HostFaults): Promise<string> {
  const old = await masterOffFront(ctx, f);
  const host = f.hostOf(old.name);
  const front = `http://${f.addressOf(host)}:${ctx.actions.topology.haproxy.httpPort}`;
  const far = await farSide(ctx.actions, front, f.farClient, `${host}-${Date.now().toString(36)}`);
  let note: string;
  try {
    await waitFor('the far-side client to write', () => far.acked() >= 4, { timeoutMs: 30_000 });
    note = await guarded(ctx, async () => {
      // The main clients are on the majority's side: they reach the two other hosts only; the
      // far-side client reaches the cut-off host only.
      const peers = [...f.hosts.filter((h) => h !== host).map((h) => f.addressOf(h)), f.client];
      ctx.fault();
      const at = performance.now();
      for (const h of f.hosts) if (h !== host) f.cut(h, [f.farClient]);
      f.cut(host, peers);
      const next = await newMaster(ctx, old);
      const promoted = since(at);
      await hold(OFF_MS);
      f.heal();
      await waitWhole(ctx.actions, 90_000);
      return `${host} (master ${old.name}) cut off both ways: ${next.name} promoted after ${promoted} s; healed, whole again ${since(at)} s after the cut`;
    });
  } catch (err) {
    // The far side's accounts go as well (the check deletes them); the fault's error stands.
    await far.check(ctx.log).catch(() => undefined);
    throw err;
  }
  const seen = await far.check(ctx.log);
  if (seen.lost || seen.sessionsLost) throw new Error(`${note}; ${seen.note}`);
  return `${note}; ${seen.note}`;
}

/** Every host scenario: two masters at most MAX_TWO_MASTERS_S, every Redis node back at the end. */
const EVERY = { maxTwoMastersS: MAX_TWO_MASTERS_S, replicaReads: true, nodesAtEnd: 'all' } as const;
/** A host lost or cut off while the site stays up (the front door elsewhere). */
const HOST_LOST = { ...EVERY, boundedWindow: true, maxRequestMs: HOST_MAX_REQUEST_MS } as const;
/** Links that lose or slow packets: requests may fail while it lasts. */
const LINK_FAULT = { ...EVERY, outage: true, maxRequestMs: HOST_MAX_REQUEST_MS } as const;
/** The front door's host, or every host, down for a while. */
const SITE_DOWN = { ...EVERY, outage: true } as const;

/** The scenarios of `ha-stack chaos --hosts`, on the host test bed's faults. */
export function hostScenarios(f: HostFaults): Scenario[] {
  return [
    {
      name: 'lose-host',
      goal: HOST_LOST,
      inject: async (ctx) => {
        const old = await masterOffFront(ctx, f);
        return guarded(ctx, async () => {
          const host = f.hostOf(old.name);
          ctx.fault();
          const at = performance.now();
          f.lose(host);
          const next = await newMaster(ctx, old);
          const promoted = since(at);
          await hold(OFF_MS);
          const whole = await restoreAndWait(ctx, f, host, at);
          return `${host} (master ${old.name}) lost: ${next.name} promoted after ${promoted} s; the host booted, whole again ${whole} s after the loss`;
        });
      },
    },
    {
      name: 'lose-front',
      goal: SITE_DOWN,
      inject: async (ctx) => {
        await masterOffFront(ctx, f);
        return guarded(ctx, async () => {
          const holder = f.frontHolders()[0];
          if (!holder) throw new Error('no host holds the floating address');
          ctx.fault();
          const at = performance.now();
          f.lose(holder);
          await waitFor(
            'the floating address on another host',
            () => f.frontHolders().filter((h) => h !== holder).length === 1,
            { timeoutMs: 30_000, intervalMs: 100 },
          );
          const moved = since(at);
          if (moved > MAX_FRONT_MOVE_S)
            throw new Error(`the floating address moved after ${moved} s, more than ${MAX_FRONT_MOVE_S} s`);
          await hold(OFF_MS);
          const whole = await restoreAndWait(ctx, f, holder, at);
          return `${holder} (the front door) lost: the address moved after ${moved} s; whole again ${whole} s after the loss`;
        });
      },
    },
    {
      name: 'partition-host',
      goal: HOST_LOST,
      inject: (ctx) => partition(ctx, f),
    },
    {
      name: 'lossy-link',
      goal: LINK_FAULT,
      inject: (ctx) =>
        guarded(ctx, async () => {
          ctx.fault();
          f.lossy(0.1);
          await hold(LINK_FAULT_MS);
          f.heal();
          const before = (await ctx.actions.currentMaster())?.name;
          await waitWhole(ctx.actions, 60_000);
          return `10 % of the packets between hosts dropped for ${LINK_FAULT_MS / 1000} s; master ${before} after`;
        }),
    },
    {
      name: 'slow-link',
      goal: LINK_FAULT,
      inject: async (ctx) => {
        const old = await masterOffFront(ctx, f);
        return guarded(ctx, async () => {
          const host = f.hostOf(old.name);
          ctx.fault();
          f.slow(host, '256kbit');
          await hold(LINK_FAULT_MS);
          f.heal();
          await waitWhole(ctx.actions, 60_000);
          return `${host} (master ${old.name}) capped at 256 kbit/s for ${LINK_FAULT_MS / 1000} s; master ${(await ctx.actions.currentMaster())?.name} after`;
        });
      },
    },
    {
      name: 'cold-start',
      goal: SITE_DOWN,
      inject: (ctx) => guarded(ctx, () => wholeSite(ctx, f, { random: true })),
    },
    {
      name: 'power-cycle',
      goal: SITE_DOWN,
      inject: (ctx) => guarded(ctx, () => wholeSite(ctx, f, { random: false })),
    },
  ];
}

export const HOST_SCENARIO_NAMES = [
  'lose-host',
  'lose-front',
  'partition-host',
  'lossy-link',
  'slow-link',
  'cold-start',
  'power-cycle',
];
