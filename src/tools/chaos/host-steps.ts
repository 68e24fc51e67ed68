// Steps the host scenarios share (scenarios-hosts.ts, one-way-host.ts).
import { plannedFailover, plannedFailoverTo } from '../../ops/failover.ts';
import type { HostFaults } from '../../ops/hosts/faults.ts';
import type { RedisNode } from '../../ops/topology.ts';
import { type FaultContext, master, waitWhole, watchRoles } from './faults.ts';

/** The floating address must be on another host within this long of its host's loss. */
export const MAX_FRONT_MOVE_S = 3;

/** How long a lost host stays off, or a cut host apart, before it is brought back. */
export const OFF_MS = 3000;

/**
 * Runs a fault with every node's role sampled every 100 ms: the longest time two nodes reported
 * role:master and would take a write (acceptsWrites) goes to the row (judged against MAX_TWO_MASTERS_S) and the note,
 * with the samples of a master refusing writes beside another.
 */
export async function guarded(ctx: FaultContext, fault: () => Promise<string>): Promise<string> {
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
  const fenced = seen.fenced
    ? ` (and ${seen.fenced} of a master refusing writes beside another: fenced off or without a replica)`
    : '';
  return `${note}; two masters taking writes at most ${seen.longestS} s (reporting role:master: ${seen.reportingS} s) in ${seen.samples} samples${fenced}`;
}

/**
 * The master on a host that does not hold the floating address (a planned failover first when it
 * does), so that losing the master's host and losing the front door stay two scenarios.
 */
export async function masterOffFront(ctx: FaultContext, f: HostFaults): Promise<RedisNode> {
  const m = await master(ctx);
  const host = f.hostOf(m.name);
  if (!f.frontHolders().includes(host)) return m;
  const moved = await plannedFailover(ctx.actions);
  await waitWhole(ctx.actions);
  ctx.log(`master moved off ${host} (it holds the floating address): ${moved.to}`);
  return await master(ctx);
}

/**
 * The master on the host that holds the floating address (a planned failover to that host's node
 * first when it is not), so that the front door and the master are lost or cut off together.
 */
export async function masterOnFront(ctx: FaultContext, f: HostFaults): Promise<RedisNode> {
  const m = await master(ctx);
  const holder = f.frontHolders()[0];
  if (!holder) throw new Error('no host holds the floating address');
  if (f.hostOf(m.name) === holder) return m;
  const target = ctx.actions.topology.redis.find((r) => f.hostOf(r.name) === holder);
  if (!target) throw new Error(`no Redis node on ${holder}`);
  const moved = await plannedFailoverTo(ctx.actions, target);
  await waitWhole(ctx.actions);
  ctx.log(`master moved onto ${holder} (it holds the floating address): ${moved.to}`);
  return await master(ctx);
}
