import { setTimeout as sleep } from 'node:timers/promises';
import { sentinelView } from '../../ha/probes.ts';
import { newestMaster, type SentinelBelief } from '../../ha/sentinel/belief.ts';
import type { RedisNode, Topology } from '../topology.ts';
import type { Addr } from './stack-view.ts';

/** No Sentinel answered, or none names a master: a Redis node cannot tell how to start. */
export class NoSentinelMasterError extends Error {
  constructor(node: string) {
    super(`no Sentinel names a master; ${node} is not started until one does`);
    this.name = 'NoSentinelMasterError';
  }
}

type View = Pick<SentinelBelief, 'master' | 'configEpoch' | 'flags'>;

/** Every Sentinel's view of the master (undefined for one that does not answer). */
function askAll(t: Topology, password: string | undefined): Promise<(View | undefined)[]> {
  return Promise.all(
    t.sentinels.map((s) => sentinelView(s.host, s.port, t.masterName, password).catch(() => undefined)),
  );
}

/**
 * How a Redis node that is down must start: as a replica of the master the Sentinels name (newest
 * config epoch wins), or as master (null) only when they still name this very node after
 * 2 x (down-after + failover-timeout), long enough for a failover that goes through, and no
 * Sentinel has had a failover in progress for a failover-timeout: a failover whose first election
 * split (the leader of the previous one stuck, the two others each voting for itself) tries again
 * 2 x failover-timeout later, and a node started as master meanwhile would stand beside the one it
 * promotes. While they name this node it waits, calling `waiting` on each poll.
 */
export async function rejoinTarget(
  t: Topology,
  node: RedisNode,
  opts: {
    sentinelPassword: string | undefined;
    signal: AbortSignal;
    waiting?: () => void;
    pollMs?: number;
    /** The Sentinels' views (tests); by default each Sentinel of `t` is asked. */
    ask?: () => Promise<(View | undefined)[]>;
  },
): Promise<Addr | null> {
  const ask = opts.ask ?? (() => askAll(t, opts.sentinelPassword));
  const deadline = Date.now() + 2 * (t.downAfterMs + t.failoverTimeoutMs);
  let failoverSeen = Number.NEGATIVE_INFINITY;
  for (;;) {
    opts.signal.throwIfAborted();
    const views = await ask();
    opts.signal.throwIfAborted();
    const m = newestMaster(views);
    if (!m) throw new NoSentinelMasterError(node.name);
    if (m.host !== node.host || m.port !== node.port) return { host: m.host, port: m.port };
    const now = Date.now();
    if (views.some((v) => v?.flags.split(',').includes('failover_in_progress'))) failoverSeen = now;
    if (now >= deadline && now - failoverSeen >= t.failoverTimeoutMs) return null;
    opts.waiting?.();
    await sleep(opts.pollMs ?? 100, undefined, { signal: opts.signal, ref: false });
  }
}
