import type { RedisLogin } from '../../ha/probes.ts';
import { nodeState, sentinelView, withRedis } from '../../ha/probes.ts';
import type { RedisNode } from '../topology.ts';
import { StaleMasterDemoter } from './demoter.ts';
import type { StackView } from './stack-view.ts';

/**
 * How long one look may wait for a Sentinel or a node: one that does not answer (a host cut off,
 * then healed) must not slow every poll to a second, or a stale master lasts that much longer (a
 * look that began just before a partition healed waited out its Sentinels' 1 s before the next
 * could see them). A Sentinel slower than this counts as silent: without a majority's answers the
 * demoter holds, so a slow machine delays a demotion, never causes one.
 */
const LOOK_TIMEOUT_MS = 300;

/** A demoter on real Sentinels and Redis nodes; the logins are read at each use (rotations change them). */
export function demoterOn(d: {
  nodes: readonly RedisNode[];
  sentinels: readonly { host: string; port: number }[];
  masterName: string;
  sentinelPassword: () => string | undefined;
  login: () => RedisLogin;
  log(message: string): void;
  changed(): void;
  pollMs?: number;
}): StaleMasterDemoter {
  return new StaleMasterDemoter({
    ...(d.pollMs ? { pollMs: d.pollMs } : {}),
    nodes: d.nodes,
    sentinelCount: d.sentinels.length,
    askSentinels: () =>
      Promise.all(
        d.sentinels.map((s) =>
          sentinelView(s.host, s.port, d.masterName, d.sentinelPassword(), LOOK_TIMEOUT_MS).catch(() => null),
        ),
      ),
    role: (n) =>
      nodeState(n.host, n.port, d.login(), LOOK_TIMEOUT_MS).then(
        (s) => s.role,
        () => undefined,
      ),
    demote: (n, m) =>
      withRedis(n.host, n.port, d.login(), async (r) => {
        await r.call('REPLICAOF', m.host, String(m.port));
        // As Sentinel does: the node restarts as a replica too (the supervisor's own restarts ask the Sentinels anyway).
        await r.call('CONFIG', 'REWRITE').catch(() => undefined);
      }),
    log: d.log,
    changed: d.changed,
  });
}

/**
 * The demoter of a running stack: it asks every Sentinel of the topology (with their password) and
 * the supervisor's own `nodes` (with the operator's login).
 */
export function staleMasterDemoter(d: {
  view: StackView;
  /** The Redis nodes this supervisor runs; default: every one of the topology. */
  nodes?: readonly RedisNode[];
  log(message: string): void;
  changed(): void;
}): StaleMasterDemoter {
  const t = d.view.topology;
  return demoterOn({
    nodes: d.nodes ?? t.redis,
    sentinels: t.sentinels,
    masterName: t.masterName,
    sentinelPassword: () => d.view.sentinelPassword,
    login: () => d.view.login,
    log: d.log,
    changed: d.changed,
  });
}
