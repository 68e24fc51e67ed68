import type { NodeState, RedisLogin } from '../ha/probes.ts';
import { nodeState, sentinelView, withRedis } from '../ha/probes.ts';
import type { RotateResult } from './supervisor/rotate.ts';
import { waitFor } from './supervisor/wait.ts';
import type { RedisNode, Topology } from './topology.ts';

/** How the operator's tools log in: Redis as the `operator` ACL user, the Sentinels with their password. */
export interface StackCredentials {
  readonly login: RedisLogin;
  readonly sentinelPassword: string | undefined;
}

/** What chaos scenarios and CLI commands can do to a running stack, in-process or through the launcher. */
export interface StackActions extends StackCredentials {
  readonly topology: Topology;
  /** The operator's Redis password (user `username`). */
  readonly password: string;
  readonly username: string;
  readonly frontUrl: string;
  readonly statsUrl: string;
  kill(name: string): Promise<void>;
  /** SIGTERM without waiting for the exit. */
  terminate(name: string): Promise<void>;
  pause(name: string): Promise<void> | void;
  resume(name: string): Promise<void> | void;
  restart(name: string): Promise<void>;
  /** Stops a node (SIGTERM, then SIGKILL after a grace period); it stays down until `start`. */
  stop(name: string): Promise<void>;
  /** Starts a stopped node as an automatic restart would (a Redis node rejoins as a replica). */
  start(name: string): Promise<void>;
  currentMaster(): Promise<RedisNode | undefined>;
  /** Replaces a secret without downtime (rotate.ts names them; rotation.ts says how). */
  rotate(secret: string): Promise<RotateResult>;
}

export async function nodeStates(t: Topology, login: RedisLogin): Promise<Map<string, NodeState | null>> {
  const out = new Map<string, NodeState | null>();
  await Promise.all(
    t.redis.map(async (n) => {
      out.set(n.name, await nodeState(n.host, n.port, login).catch(() => null));
    }),
  );
  return out;
}

/** Waits until every Sentinel that answers names `master` and that node reports role:master. */
export async function waitForMaster(
  t: Topology,
  creds: StackCredentials,
  accept: (m: RedisNode) => boolean,
  timeoutMs = 30_000,
): Promise<RedisNode> {
  let found: RedisNode | undefined;
  await waitFor(
    'the Sentinels to agree on a master',
    async () => {
      const views = await Promise.all(
        t.sentinels.map((s) =>
          sentinelView(s.host, s.port, t.masterName, creds.sentinelPassword).catch(() => null),
        ),
      );
      const named = views.filter((v) => v?.master).map((v) => `${v!.master!.host}:${v!.master!.port}`);
      if (named.length < t.quorum || new Set(named).size !== 1) return false;
      const node = t.redis.find((r) => `${r.host}:${r.port}` === named[0]);
      if (!node || !accept(node)) return false;
      const state = await nodeState(node.host, node.port, creds.login);
      found = node;
      return state.role === 'master';
    },
    { timeoutMs },
  );
  return found!;
}

/**
 * A planned failover that loses nothing: writes on the master are paused (clients wait, they do
 * not fail), the replicas catch up, Sentinel promotes one, and the pause ends.
 */
export async function plannedFailover(
  actions: StackActions,
  timeoutMs = 20_000,
): Promise<{ from: string; to: string; ms: number }> {
  const t = actions.topology;
  const started = Date.now();
  const old = await actions.currentMaster();
  if (!old) throw new Error('no master known to the Sentinels');
  const pauseMs = Math.min(timeoutMs, 10_000);
  await withRedis(old.host, old.port, actions.login, (r) =>
    r.call('CLIENT', 'PAUSE', String(pauseMs), 'WRITE'),
  );
  const unpause = () =>
    withRedis(old.host, old.port, actions.login, (r) => r.call('CLIENT', 'UNPAUSE')).catch(() => undefined);
  try {
    let asked = false;
    for (const s of t.sentinels) {
      try {
        await withRedis(s.host, s.port, { password: actions.sentinelPassword }, (r) =>
          r.call('SENTINEL', 'FAILOVER', t.masterName),
        );
        asked = true;
        break;
      } catch {
        // Try the next Sentinel.
      }
    }
    if (!asked) throw new Error('no Sentinel accepted the failover request');
    const next = await waitForMaster(t, actions, (m) => m.name !== old.name, timeoutMs);
    // Unpause as soon as the new master is named: the Sentinels' own messages to the old master
    // (PUBLISH of their hello) wait behind the pause too, and they must reach it to demote it. A write
    // it takes meanwhile is never acknowledged: its replicas follow the new master, so WAIT fails.
    await unpause();
    // Sentinel would demote the old master itself, but only at its next INFO of it (every 10 s once
    // the failover is over): do what it would do, now that every Sentinel names the new master.
    await withRedis(old.host, old.port, actions.login, async (r) => {
      await r.call('REPLICAOF', next.host, String(next.port));
      await r.call('CONFIG', 'REWRITE').catch(() => undefined);
    });
    // Done only when the old master has been turned into a replica: no moment with two masters.
    await waitFor(
      `${old.name} to become a replica`,
      async () => (await nodeState(old.host, old.port, actions.login)).role === 'slave',
      { timeoutMs },
    );
    return { from: old.name, to: next.name, ms: Date.now() - started };
  } finally {
    await unpause();
  }
}
