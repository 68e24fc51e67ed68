import { parseNodeInfo } from '../../ha/info.ts';
import { KeptProbes } from '../../ha/kept-probes.ts';
import type { RedisLogin } from '../../ha/probes.ts';
import { withRedis } from '../../ha/probes.ts';
import { askSentinel } from '../../ha/sentinel/belief.ts';
import type { Address } from '../../ha/sentinel/replies.ts';
import { setSentinelTimers } from '../../ha/sentinel/timers.ts';
import type { RedisNode } from '../topology.ts';
import { StaleMasterDemoter } from './demoter.ts';
import { FENCED_MIN_REPLICAS, readFence } from './fence.ts';
import { FenceLines } from './fence-lines.ts';
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
  /** The nodes' own `min-replicas-to-write`, which a lifted fence puts back. */
  minReplicasToWrite: number;
  log(message: string): void;
  changed(): void;
  pollMs?: number;
}): StaleMasterDemoter {
  // Kept from one look to the next (five a second): a connection per look cost a TCP and, with
  // TLS, a full handshake on both sides each time, and over a lossy link lost the look far more
  // often than one request on a connection already made.
  const probes = new KeptProbes(LOOK_TIMEOUT_MS);
  const minReplicas = (on: boolean) => String(on ? FENCED_MIN_REPLICAS : d.minReplicasToWrite);
  // The lines to the other hosts' masters this host's replicas follow (fence-lines.ts).
  const lines = new FenceLines(LOOK_TIMEOUT_MS);
  const lineOf = new Map<string, string>();
  // What each node's INFO of this look said it follows: `upstream` reads what `role` just asked.
  const follows = new Map<string, Address | undefined>();
  // Each Sentinel gets the stack's timers on every connection made to it, so also after a restart
  // (they are not in its config file): by the guard of every host on the hosts' layout.
  const timersFailed = new Set<string>();
  const setTimers = (where: string) => async (r: Parameters<typeof setSentinelTimers>[0]) => {
    try {
      await setSentinelTimers(r);
      timersFailed.delete(where);
    } catch (err) {
      if (!timersFailed.has(where))
        d.log(`Sentinel ${where}: its timers were not set: ${(err as Error).message}`);
      timersFailed.add(where);
    }
  };
  return new StaleMasterDemoter({
    ...(d.pollMs ? { pollMs: d.pollMs } : {}),
    nodes: d.nodes,
    sentinelCount: d.sentinels.length,
    askSentinels: () =>
      Promise.all(
        d.sentinels.map((s) =>
          probes
            .use(
              s.host,
              s.port,
              { password: d.sentinelPassword() },
              (r) => askSentinel(r, d.masterName),
              setTimers(`${s.host}:${s.port}`),
            )
            .catch(() => null),
        ),
      ),
    role: (n) =>
      probes
        .use(n.host, n.port, d.login(), (r) => r.call('INFO', 'replication', 'memory'))
        .then(
          (info) => {
            const r = parseNodeInfo(info as string);
            const m =
              r.role === 'slave' && r.masterHost && r.masterPort
                ? { host: r.masterHost, port: r.masterPort }
                : undefined;
            const own = d.nodes.some((x) => x.host === n.host && x.port === n.port);
            if (!own) return r.role;
            follows.set(`${n.host}:${n.port}`, m);
            // A line to the master it follows when that is another host's; a look that failed changes nothing.
            if (m && !d.nodes.some((x) => x.host === m.host && x.port === m.port)) {
              lines.keep(m.host, m.port, d.login());
              lineOf.set(`${n.host}:${n.port}`, `${m.host}:${m.port}`);
            } else lineOf.delete(`${n.host}:${n.port}`);
            lines.only(new Set(lineOf.values()));
            return r.role;
          },
          () => undefined,
        ),
    upstream: async (n) => follows.get(`${n.host}:${n.port}`),
    fenced: (n) => probes.use(n.host, n.port, d.login(), readFence).catch(() => undefined),
    fence: (n, on) =>
      probes.use(n.host, n.port, d.login(), async (r) => {
        await r.call('CONFIG', 'SET', 'min-replicas-to-write', minReplicas(on));
        // Sentinel may have saved the fence in the node's config (REPLICAOF, then CONFIG REWRITE).
        if (!on) await r.call('CONFIG', 'REWRITE').catch(() => undefined);
      }),
    fenceUpstream: async (m) => {
      await lines.send(m.host, m.port, ['CONFIG', 'SET', 'min-replicas-to-write', minReplicas(true)]);
    },
    demote: (n, m) =>
      withRedis(n.host, n.port, d.login(), async (r) => {
        await r.call('REPLICAOF', m.host, String(m.port));
        // As Sentinel does: the node restarts as a replica too (the supervisor's own restarts ask the Sentinels anyway).
        await r.call('CONFIG', 'REWRITE').catch(() => undefined);
      }),
    log: d.log,
    changed: d.changed,
    release: () => {
      probes.close();
      lines.close();
    },
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
    minReplicasToWrite: t.minReplicasToWrite,
    log: d.log,
    changed: d.changed,
  });
}
