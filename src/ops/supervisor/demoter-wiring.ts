import { nodeState, sentinelView, withRedis } from '../../ha/probes.ts';
import type { RedisNode } from '../topology.ts';
import { StaleMasterDemoter } from './demoter.ts';
import type { StackView } from './stack-view.ts';

/**
 * The demoter of a running stack: it asks every Sentinel of the topology (with their password) and
 * the supervisor's own `nodes` (with the operator's login, read at each use: rotations change it).
 */
export function staleMasterDemoter(d: {
  view: StackView;
  /** The Redis nodes this supervisor runs; default: every one of the topology. */
  nodes?: readonly RedisNode[];
  log(message: string): void;
  changed(): void;
}): StaleMasterDemoter {
  const t = d.view.topology;
  return new StaleMasterDemoter({
    nodes: d.nodes ?? t.redis,
    sentinelCount: t.sentinels.length,
    askSentinels: () =>
      Promise.all(
        t.sentinels.map((s) =>
          sentinelView(s.host, s.port, t.masterName, d.view.sentinelPassword).catch(() => null),
        ),
      ),
    role: (n) =>
      nodeState(n.host, n.port, d.view.login).then(
        (s) => s.role,
        () => undefined,
      ),
    demote: (n, m) =>
      withRedis(n.host, n.port, d.view.login, async (r) => {
        await r.call('REPLICAOF', m.host, String(m.port));
        // As Sentinel does: the node restarts as a replica too (the supervisor's own restarts ask the Sentinels anyway).
        await r.call('CONFIG', 'REWRITE').catch(() => undefined);
      }),
    log: d.log,
    changed: d.changed,
  });
}
