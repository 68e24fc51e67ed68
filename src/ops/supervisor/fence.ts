import type { Address } from '../../ha/sentinel/replies.ts';
import type { SentinelAnswer } from './stale-master.ts';

/**
 * The write fence of a master in doubt. Sentinel alone lets a master that its peers gave up on go
 * on acknowledging writes: a replica still attached to it (one the failover's leader has not yet
 * moved, over a lossy link seconds later) answers its WAIT, and those writes vanish once that
 * replica follows the promoted node. A master's own host fences it at the first sign: its
 * `min-replicas-to-write` raised above any replica count, so it refuses writes (NOREPLICAS, a 503
 * with Retry-After at the site) until the Sentinels name it again without reserve.
 */

/**
 * A fenced master's `min-replicas-to-write` (fence.ts): more replicas than any stack has, so it
 * refuses every write; a value at least this high is a fence to lift.
 */
export const FENCED_MIN_REPLICAS = 100;

/** Whether a node's `min-replicas-to-write` (CONFIG GET's reply) is a fence. */
export function isFence(reply: unknown): boolean {
  return Array.isArray(reply) && Number(reply[1]) >= FENCED_MIN_REPLICAS;
}

/** Reads whether a node's write fence is on, on a connection to it. */
export async function readFence(r: { call(...args: string[]): Promise<unknown> }): Promise<boolean> {
  return isFence(await r.call('CONFIG', 'GET', 'min-replicas-to-write'));
}

/** Flags of a Sentinel's master entry that mean it may be failed over (or is being). */
const DOUBT_FLAGS = ['s_down', 'o_down', 'failover_in_progress'];

const same = (a: Address | null | undefined, b: Address) => !!a && a.host === b.host && a.port === b.port;

/** What a Sentinel monitors (its `ip`), which its flags describe; the given address without it. */
const monitored = (a: SentinelAnswer) => (a.monitored === undefined ? a.master : a.monitored);

export type Verdict = { doubt: string } | { clean: true } | { unsure: string };

/**
 * Whether `node`, which reports role:master, may take writes, from the Sentinels' answers:
 * - doubt: a Sentinel flags it down or fails it over, or one names another master in a newer
 *   config epoch than any Sentinel naming it (a failover of it happened);
 * - clean: a majority of all `total` Sentinels answered and names it, and none doubts it;
 * - unsure otherwise (too few answers, or a node the Sentinels do not name yet, as a promoted
 *   replica before its failover is announced): the fence is left as it is.
 */
export function fenceVerdict(
  node: Address,
  answers: readonly (SentinelAnswer | null)[],
  total: number,
): Verdict {
  const answered = answers.filter((a): a is SentinelAnswer => a !== null);
  for (const a of answered) {
    if (!same(monitored(a), node)) continue;
    const flags = a.flags.split(',').filter((f) => DOUBT_FLAGS.includes(f));
    if (flags.length) return { doubt: `a Sentinel flags it ${flags.join(',')}` };
  }
  const naming = answered.filter((a) => same(a.master, node));
  if (naming.length) {
    const epoch = Math.max(...naming.map((a) => a.configEpoch));
    const ahead = answered.find((a) => a.master && !same(a.master, node) && a.configEpoch > epoch);
    if (ahead?.master)
      return {
        doubt: `a Sentinel names ${ahead.master.host}:${ahead.master.port} in config epoch ${ahead.configEpoch} (it: ${epoch})`,
      };
  }
  const majority = Math.floor(total / 2) + 1;
  if (naming.length >= majority && naming.length === answered.length) return { clean: true };
  return { unsure: `${naming.length} of ${answered.length} answering Sentinels (of ${total}) name it` };
}
