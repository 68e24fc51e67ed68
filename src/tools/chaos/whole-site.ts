import type { HostFaults } from '../../ops/hosts/faults.ts';
import { waitFor } from '../../ops/supervisor/wait.ts';
import { type FaultContext, hold, since, waitWhole } from './faults.ts';

const shuffle = <T>(xs: T[]): T[] => {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
};

/** Every host off under the load, then booted (`spreadMs` apart at random, in random order when asked). */
export async function wholeSite(
  ctx: FaultContext,
  f: HostFaults,
  opts: { random: boolean; offMs: number },
): Promise<string> {
  ctx.fault();
  const at = performance.now();
  f.powerOff();
  await hold(opts.offMs);
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
  return `every host off for ${opts.offMs / 1000} s, booted ${order.join(', ')}: a master after ${oneMaster} s, whole after ${since(at)} s`;
}
