import type { HostFaults } from '../../ops/hosts/faults.ts';
import { type FaultContext, hold, since, waitWhole } from './faults.ts';
import { guarded, masterOffFront, OFF_MS } from './host-steps.ts';

/**
 * A host that holds neither the floating address nor the master stops receiving from the two others
 * (what it sends still arrives). Nothing should move: its Sentinel alone sees the master down (no
 * majority), its keepalived hears no advertisement but must not take the address (the majority
 * check), the front stops sending it requests (its app's checks fail); the master keeps a replica
 * that acknowledges. Healed after OFF_MS, the host back as a replica without a hand.
 */
export async function oneWayHost(ctx: FaultContext, f: HostFaults): Promise<string> {
  const m = await masterOffFront(ctx, f);
  const front = f.frontHolders()[0];
  const host = f.hosts.find((h) => h !== front && h !== f.hostOf(m.name));
  if (!front || !host) throw new Error('no host holds neither the floating address nor the master');
  return guarded(ctx, async () => {
    ctx.fault();
    const at = performance.now();
    f.cut(
      host,
      f.hosts.filter((h) => h !== host).map((h) => f.addressOf(h)),
      true,
    );
    // The address stays where it is all along: on the cut-off host it would draw the clients to a
    // front that reaches no app and no node.
    const end = performance.now() + OFF_MS + 3000;
    while (performance.now() < end) {
      const holders = f.frontHolders();
      if (holders.length !== 1 || holders[0] !== front)
        throw new Error(
          `the floating address on ${holders.join(' and ') || 'no host'} ${since(at)} s after the cut of ${host}`,
        );
      await hold(100);
    }
    const still = (await ctx.actions.currentMaster())?.name;
    if (still !== m.name)
      throw new Error(`the master moved from ${m.name} to ${still} while ${host} was cut off one way`);
    f.heal();
    await waitWhole(ctx.actions, 90_000);
    return `${host} (a replica's host) received nothing from the other hosts for ${(OFF_MS + 3000) / 1000} s: the floating address stayed on ${front}, the master on ${m.name}; healed, whole again ${since(at)} s after the cut`;
  });
}
