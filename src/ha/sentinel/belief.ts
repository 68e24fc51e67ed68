import type { Redis } from 'ioredis';
import {
  type Address,
  parseMasterAddress,
  parseSentinelMaster,
  parseTilt,
  type SentinelMasterFields,
} from './replies.ts';

/** What one Sentinel believes about one master: the one reading every part of the stack makes. */
export interface SentinelBelief extends SentinelMasterFields {
  /** In TILT mode (it saw its clock jump, or was paused): it takes part in no failover for 30 s. */
  tilt: boolean;
  /** The master of its `SENTINEL MASTER` entry (`ip`): what `flags` describe, during a failover still the old one. */
  monitored?: Address | null;
}

/**
 * Asks one Sentinel about `masterName`. The master is the address the Sentinel gives its clients
 * (`GET-MASTER-ADDR-BY-NAME`), not the `ip` of `SENTINEL MASTER`: the Sentinel leading a failover
 * already holds the new config epoch while `ip` still names the old master, and only the address
 * it gives clients goes with that epoch. The three commands leave together on one connection.
 */
export async function askSentinel(r: Pick<Redis, 'call'>, masterName: string): Promise<SentinelBelief> {
  const [raw, addr, info] = await Promise.all([
    r.call('SENTINEL', 'MASTER', masterName) as Promise<string[]>,
    r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName),
    r.call('INFO', 'sentinel') as Promise<string>,
  ]);
  const fields = parseSentinelMaster(raw);
  const given = parseMasterAddress(addr);
  return {
    ...fields,
    monitored: fields.master,
    master: given === undefined ? fields.master : given,
    tilt: parseTilt(info).tilt,
  };
}

/**
 * The master named in the newest configuration among Sentinels' answers (highest config epoch:
 * right after a failover the Sentinels that have not heard of it yet still name the old master),
 * then by number of Sentinels naming it; undefined when none names one. The one answer to "which
 * node is master" for status, the topology page, chaos, bench and the supervisor.
 */
export function newestMaster(
  views: readonly ({ master: Address | null; configEpoch: number } | null | undefined)[],
): (Address & { epoch: number; votes: number }) | undefined {
  const named = new Map<string, Address & { epoch: number; votes: number }>();
  for (const v of views) {
    if (!v?.master) continue;
    const key = `${v.master.host}:${v.master.port}`;
    const entry = named.get(key) ?? { ...v.master, epoch: 0, votes: 0 };
    entry.epoch = Math.max(entry.epoch, v.configEpoch);
    entry.votes++;
    named.set(key, entry);
  }
  return [...named.values()].sort((a, b) => b.epoch - a.epoch || b.votes - a.votes)[0];
}
