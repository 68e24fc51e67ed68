import type { HostFaults } from '../../ops/hosts/faults.ts';
import { waitFor } from '../../ops/supervisor/wait.ts';
import { type FaultContext, hold, newMaster, type Scenario, since, waitWhole } from './faults.ts';
import { partition } from './host-partition.ts';
import { guarded, MAX_FRONT_MOVE_S, masterOffFront, OFF_MS } from './host-steps.ts';
import { oneWayHost } from './one-way-host.ts';
import { wholeSite } from './whole-site.ts';

/** Two nodes may report role:master at most this long (sampled every 100 ms). */
export const MAX_TWO_MASTERS_S = 1;
/**
 * ...and within this long once its host receives nothing from the others: the majority check
 * fails (render/keepalived.ts), then another host takes the address.
 */
export const MAX_ONE_WAY_MOVE_S = 6;

/**
 * A request in flight to an app on a host that is cut off waits on TCP: its retransmissions back
 * off (0.2, 0.4, ... 6.4 s, 12.6 s in all) and the one after the heal gets through, so it is served
 * late rather than failed (HAProxy cannot send a form post elsewhere once sent). Measured up to
 * 13.9 s on the bed (2 cores, three hosts and the load on one machine).
 */
export const HOST_MAX_REQUEST_MS = 15_000;

/**
 * A lost or cut-off master's write window on the hosts, over down-after: Sentinel's own steps
 * (down-after from the first PING left unanswered, ODOWN, the vote, the promotion seen in the
 * next INFO) over a network with TLS, then the apps' new connection: down-after + 2 s.
 */
export const HOST_WINDOW_OVER_DOWN_AFTER_S = 2;

/** How long a link stays lossy or slow. */
const LINK_FAULT_MS = 30_000;

async function restoreAndWait(ctx: FaultContext, f: HostFaults, host: string, at: number): Promise<number> {
  f.restore(host);
  await waitWhole(ctx.actions, 90_000);
  return since(at);
}

/**
 * A fault of the front door's host (the master moved off it first): the floating address must be
 * on one other host within `maxS`; `OFF_MS` later the fault is undone and the stack waited whole.
 */
async function frontFault(
  ctx: FaultContext,
  f: HostFaults,
  fault: {
    maxS: number;
    /** The host itself must have let the address go (a lost host's dead interface may still show it). */
    released: boolean;
    inflict(holder: string): void;
    /** Undoes it; the seconds since `at` until whole again. */
    undo(holder: string, at: number): Promise<number>;
    say(holder: string, movedS: number, wholeS: number): string;
  },
): Promise<string> {
  await masterOffFront(ctx, f);
  return guarded(ctx, async () => {
    const holder = f.frontHolders()[0];
    if (!holder) throw new Error('no host holds the floating address');
    ctx.fault();
    const at = performance.now();
    fault.inflict(holder);
    await waitFor(
      'the floating address on another host',
      () => {
        const now = f.frontHolders();
        const others = now.filter((h) => h !== holder);
        return others.length === 1 && (!fault.released || !now.includes(holder));
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    const moved = since(at);
    if (moved > fault.maxS)
      throw new Error(`the floating address moved after ${moved} s, more than ${fault.maxS} s`);
    await hold(OFF_MS);
    return fault.say(holder, moved, await fault.undo(holder, at));
  });
}

/**
 * The front door's host stops receiving from the other hosts (what it sends still arrives, the
 * clients still reach it): it hears no advertisement and no peer. It must give the floating address
 * up (the majority check), not keep it while it cannot reach an app or a node elsewhere.
 */
const oneWayFront = (ctx: FaultContext, f: HostFaults) =>
  frontFault(ctx, f, {
    maxS: MAX_ONE_WAY_MOVE_S,
    released: true,
    inflict: (holder) =>
      f.cut(
        holder,
        f.hosts.filter((h) => h !== holder).map((h) => f.addressOf(h)),
        true,
      ),
    undo: async (_holder, at) => {
      f.heal();
      await waitWhole(ctx.actions, 90_000);
      return since(at);
    },
    say: (holder, moved, whole) =>
      `${holder} (the front door) received nothing from the other hosts: the address moved after ${moved} s; healed, whole again ${whole} s after the cut`,
  });

/** Every host scenario: two masters at most MAX_TWO_MASTERS_S, every Redis node back at the end. */
const EVERY = { maxTwoMastersS: MAX_TWO_MASTERS_S, replicaReads: true, nodesAtEnd: 'all' } as const;
/** A host lost or cut off while the site stays up (the front door elsewhere). */
const HOST_LOST = {
  ...EVERY,
  boundedWindow: true,
  windowOverDownAfterS: HOST_WINDOW_OVER_DOWN_AFTER_S,
  maxRequestMs: HOST_MAX_REQUEST_MS,
} as const;
/** Links that lose or slow packets: requests may fail while it lasts. */
const LINK_FAULT = { ...EVERY, outage: true, maxRequestMs: HOST_MAX_REQUEST_MS } as const;
/**
 * The host of the front door and the master cut off: requests in flight there fail (counted) until
 * the address moved, and the write window is bounded as when the master's host alone is cut off.
 */
const FRONT_CUT = {
  ...EVERY,
  outage: true,
  boundedWindow: true,
  windowOverDownAfterS: HOST_WINDOW_OVER_DOWN_AFTER_S,
  maxRequestMs: HOST_MAX_REQUEST_MS,
} as const;
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
      inject: (ctx) =>
        frontFault(ctx, f, {
          maxS: MAX_FRONT_MOVE_S,
          released: false,
          inflict: (holder) => f.lose(holder),
          undo: (holder, at) => restoreAndWait(ctx, f, holder, at),
          say: (holder, moved, whole) =>
            `${holder} (the front door) lost: the address moved after ${moved} s; whole again ${whole} s after the loss`,
        }),
    },
    {
      name: 'partition-host',
      goal: HOST_LOST,
      inject: (ctx) => partition(ctx, f),
    },
    {
      name: 'partition-front',
      goal: FRONT_CUT,
      inject: (ctx) => partition(ctx, f, true),
    },
    {
      name: 'one-way-front',
      goal: SITE_DOWN,
      inject: (ctx) => oneWayFront(ctx, f),
    },
    {
      name: 'one-way-host',
      goal: HOST_LOST,
      inject: (ctx) => oneWayHost(ctx, f),
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
      inject: (ctx) => guarded(ctx, () => wholeSite(ctx, f, { random: true, offMs: OFF_MS })),
    },
    {
      name: 'power-cycle',
      goal: SITE_DOWN,
      inject: (ctx) => guarded(ctx, () => wholeSite(ctx, f, { random: false, offMs: OFF_MS })),
    },
  ];
}

export const HOST_SCENARIO_NAMES = [
  'lose-host',
  'lose-front',
  'partition-host',
  'partition-front',
  'one-way-front',
  'one-way-host',
  'lossy-link',
  'slow-link',
  'cold-start',
  'power-cycle',
];
