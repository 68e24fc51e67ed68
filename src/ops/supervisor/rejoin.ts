import { setTimeout as sleep } from 'node:timers/promises';
import { sentinelsMaster } from '../../ha/probes.ts';
import type { RedisNode, Topology } from '../topology.ts';
import type { Addr } from './stack-view.ts';

/** No Sentinel answered, or none names a master: a Redis node cannot tell how to start. */
export class NoSentinelMasterError extends Error {
  constructor(node: string) {
    super(`no Sentinel names a master; ${node} is not started until one does`);
    this.name = 'NoSentinelMasterError';
  }
}

/**
 * How a Redis node that is down must start: as a replica of the master the Sentinels name (newest
 * config epoch wins), or as master (null) only when they still name this very node after
 * 2 x (down-after + failover-timeout): long enough for any failover that could happen, so none can
 * (no replica left, no quorum). While they name this node it waits, calling `waiting` on each poll.
 */
export async function rejoinTarget(
  t: Topology,
  node: RedisNode,
  opts: { sentinelPassword: string | undefined; signal: AbortSignal; waiting?: () => void; pollMs?: number },
): Promise<Addr | null> {
  const deadline = Date.now() + 2 * (t.downAfterMs + t.failoverTimeoutMs);
  for (;;) {
    opts.signal.throwIfAborted();
    const m = await sentinelsMaster(t.sentinels, t.masterName, opts.sentinelPassword);
    opts.signal.throwIfAborted();
    if (!m) throw new NoSentinelMasterError(node.name);
    if (m.host !== node.host || m.port !== node.port) return { host: m.host, port: m.port };
    if (Date.now() >= deadline) return null;
    opts.waiting?.();
    await sleep(opts.pollMs ?? 100, undefined, { signal: opts.signal, ref: false });
  }
}
