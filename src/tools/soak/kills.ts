import type { StackActions } from '../../ops/actions.ts';
import { waitForMaster } from '../../ops/observe.ts';
import { waitWhole } from '../chaos/faults.ts';
import { rest } from './mixed.ts';

/** One master kill of the soak, in seconds from the start of the load. */
export interface KillRecord {
  atS: number;
  killed: string;
  promoted: string | null;
  /** From the kill until every Sentinel named the new master and it answered as master. */
  promotedAfterS: number | null;
  /** From the kill until the stack was whole again by itself (the killed node back as a replica). */
  wholeAfterS: number | null;
}

const seconds = (ms: number) => Math.round(ms / 100) / 10;

function sleepUntil(at: number, signal: AbortSignal): Promise<void> {
  return rest(Math.max(0, at - performance.now()), signal);
}

/**
 * Kills the master (SIGKILL, through the stack's actions, as `ha-stack kill master` does) every
 * `everyMs` from `start` while `start + k * everyMs` is before `endAt`, and waits each time until
 * the stack is whole again by itself before the next: nothing is restarted by hand. A kill due
 * while the previous one still heals comes right after. Stops at the abort (after any healing in
 * progress). Throws when a failover or the healing does not happen in time.
 */
export async function killMasters(
  actions: StackActions,
  start: number,
  endAt: number,
  everyMs: number,
  signal: AbortSignal,
  kills: KillRecord[],
  log: (m: string) => void,
): Promise<void> {
  if (everyMs <= 0) return;
  for (let k = 1; start + k * everyMs < endAt; k++) {
    await sleepUntil(start + k * everyMs, signal);
    if (signal.aborted || performance.now() >= endAt) return;
    const old = await actions.currentMaster();
    if (!old) throw new Error('no master named by the Sentinels before a kill');
    const at = performance.now();
    const rec: KillRecord = {
      atS: seconds(at - start),
      killed: old.name,
      promoted: null,
      promotedAfterS: null,
      wholeAfterS: null,
    };
    kills.push(rec);
    await actions.kill(old.name);
    const next = await waitForMaster(actions.topology, actions, (m) => m.name !== old.name, 30_000);
    rec.promoted = next.name;
    rec.promotedAfterS = seconds(performance.now() - at);
    await waitWhole(actions);
    rec.wholeAfterS = seconds(performance.now() - at);
    log(
      `kill ${kills.length}: ${old.name} killed at ${rec.atS} s, ${next.name} promoted after ${rec.promotedAfterS} s, whole again by itself after ${rec.wholeAfterS} s`,
    );
  }
}
