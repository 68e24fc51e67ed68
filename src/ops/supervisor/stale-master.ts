import type { SentinelBelief } from '../../ha/sentinel/belief.ts';
import { newestMaster } from '../../ha/sentinel/belief.ts';
import type { Address } from '../../ha/sentinel/replies.ts';

/** What the decision needs of one Sentinel's answer (sentinel/belief.ts: askSentinel). */
export type SentinelAnswer = Pick<
  SentinelBelief,
  'master' | 'configEpoch' | 'flags' | 'failoverState' | 'monitored'
>;

/** Failover states in which the leader already gives clients the promoted replica, in its new epoch. */
const ANNOUNCED = new Set(['reconf_slaves', 'update_config']);

/**
 * The master the Sentinels agree on, or why nothing may be done now. `failingOver`: the masters
 * that Sentinels with a failover not yet announced are failing over (see agreedMaster).
 */
export type Agreement =
  | { master: Address; epoch: number; failingOver: (Address | null)[] }
  | { hold: string };

const same = (a: Address | null, b: Address) => !!a && a.host === b.host && a.port === b.port;

/**
 * The master a node that is not it must follow, when the Sentinels say so firmly enough that
 * demoting another master cannot undo a failover:
 * - a majority of all `total` Sentinels answered (never acts on silence or on a minority);
 * - the master of the newest config epoch (newestMaster) is named by a majority of all Sentinels,
 *   so one Sentinel behind, or one alone ahead, decides nothing;
 * - a failover in progress that has not yet announced its promoted replica is noted in
 *   `failingOver` (the master it fails over): until its `reconf_slaves` state (sentinel.c:
 *   sentinelGetCurrentMasterAddress) the replica it promotes reports role:master while every
 *   Sentinel, the leader too, still names the old master in the old epoch, and must be left alone;
 *   only the master being failed over may then be demoted (no failover of it can make it master).
 *   A candidate that lost the election stays in that state until its election timeout.
 */
export function agreedMaster(answers: readonly (SentinelAnswer | null)[], total: number): Agreement {
  const majority = Math.floor(total / 2) + 1;
  const answered = answers.filter((a): a is SentinelAnswer => a !== null);
  if (answered.length < majority) return { hold: `${answered.length} of ${total} Sentinels answered` };
  const newest = newestMaster(answered);
  if (!newest) return { hold: 'no Sentinel names a master' };
  if (newest.votes < majority)
    return { hold: `the Sentinels disagree (${newest.votes} of ${total} name the newest master)` };
  const master = { host: newest.host, port: newest.port };
  const failingOver = answered
    .filter(
      (a) =>
        a.flags.split(',').includes('failover_in_progress') &&
        !(ANNOUNCED.has(a.failoverState) && same(a.master, master) && a.configEpoch === newest.epoch),
    )
    .map((a) => a.master);
  return { master, epoch: newest.epoch, failingOver };
}

/** What a node of this supervisor reports, from its INFO (undefined: it does not answer). */
export type ReportedRole = 'master' | 'slave' | 'unknown' | undefined;

/**
 * The nodes to demote now: those that report role:master although the Sentinels agree on another
 * master, which itself answers as master. Never the master they name; while a failover is not yet
 * announced, only the master it fails over.
 */
export function staleMasters<N extends Address & { name: string }>(
  agreement: Agreement,
  nodes: readonly { node: N; role: ReportedRole }[],
  namedMasterRole: ReportedRole,
): N[] {
  if ('hold' in agreement || namedMasterRole !== 'master') return [];
  return nodes
    .filter(
      (n) =>
        n.role === 'master' &&
        !same(n.node, agreement.master) &&
        agreement.failingOver.every((f) => same(f, n.node)),
    )
    .map((n) => n.node);
}
