// A host cut off from the others both ways, with a client on each side (scenarios-hosts.ts).
import type { HostFaults } from '../../ops/hosts/faults.ts';
import { waitFor } from '../../ops/supervisor/wait.ts';
import { farSide } from './far-side.ts';
import { type FaultContext, hold, newMaster, since, waitWhole } from './faults.ts';
import { guarded, MAX_FRONT_MOVE_S, masterOffFront, masterOnFront, OFF_MS } from './host-steps.ts';

/**
 * The master's host cut off from the other hosts and the main clients (both ways), with a client
 * on each side: the main load on the majority's side through the floating address, and a far-side
 * client that reaches only the cut-off host's own front. Healed 3 s after the promotion. Whatever
 * the far side was told it had written must be there after the heal. With `withFront`, that host holds
 * the floating address as well: it must be on one host of the majority's side within
 * MAX_FRONT_MOVE_S (the cut-off host gives it up, hearing no majority; the others take it, hearing
 * no advertisement).
 */
export async function partition(ctx: FaultContext, f: HostFaults, withFront = false): Promise<string> {
  const old = await (withFront ? masterOnFront(ctx, f) : masterOffFront(ctx, f));
  const host = f.hostOf(old.name);
  const front = f.frontOf(host);
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
      const [next, moved] = await Promise.all([
        newMaster(ctx, old),
        withFront ? addressMoved(f, host, at) : Promise.resolve(undefined),
      ]);
      const promoted = since(at);
      await hold(OFF_MS);
      f.heal();
      await waitWhole(ctx.actions, 90_000);
      const address =
        moved === undefined ? '' : ` (and the floating address: on ${moved.to} after ${moved.s} s)`;
      return `${host} (master ${old.name}${address}) cut off both ways: ${next.name} promoted after ${promoted} s; healed, whole again ${since(at)} s after the cut`;
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

/** Waits until one other host than `from` alone holds the floating address, within MAX_FRONT_MOVE_S. */
async function addressMoved(f: HostFaults, from: string, at: number): Promise<{ to: string; s: number }> {
  await waitFor(
    'the floating address on one host of the majority',
    () => {
      const now = f.frontHolders();
      return now.length === 1 && now[0] !== from;
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  const s = since(at);
  if (s > MAX_FRONT_MOVE_S)
    throw new Error(`the floating address moved after ${s} s, more than ${MAX_FRONT_MOVE_S} s`);
  return { to: f.frontHolders()[0]!, s };
}
