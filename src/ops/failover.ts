import { fieldsOf } from '../ha/fields.ts';
import { nodeState, withRedis } from '../ha/probes.ts';
import type { StackActions } from './actions.ts';
import { waitForMaster } from './observe.ts';
import { waitFor } from './supervisor/wait.ts';
import type { RedisNode } from './topology.ts';

/**
 * A planned failover that loses nothing: writes on the master are paused (clients wait, they do
 * not fail), the replicas catch up, Sentinel promotes one, and the pause ends.
 */
export async function plannedFailover(
  actions: StackActions,
  timeoutMs = 20_000,
  /** Runs once writes are paused, before Sentinel is asked (a rollback's copy: rollback.ts). */
  whilePaused?: () => Promise<void>,
): Promise<{ from: string; to: string; ms: number; pausedMs: number }> {
  const t = actions.topology;
  const started = Date.now();
  const old = await actions.currentMaster();
  if (!old) throw new Error('no master known to the Sentinels');
  // A copy under the pause may take longer: the pause must outlast it, or writes would slip by.
  const pauseMs = whilePaused ? 5 * timeoutMs : Math.min(timeoutMs, 10_000);
  await withRedis(old.host, old.port, actions.login, (r) =>
    r.call('CLIENT', 'PAUSE', String(pauseMs), 'WRITE'),
  );
  // How long writes waited: from the pause to the first UNPAUSE that was sent.
  const pausedAt = Date.now();
  let pausedMs = -1;
  const unpause = () => {
    if (pausedMs < 0) pausedMs = Date.now() - pausedAt;
    return withRedis(old.host, old.port, actions.login, (r) => r.call('CLIENT', 'UNPAUSE')).catch(
      () => undefined,
    );
  };
  try {
    await whilePaused?.();
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
    return { from: old.name, to: next.name, ms: Date.now() - started, pausedMs };
  } finally {
    await unpause();
  }
}

/**
 * A planned failover (plannedFailover) to `target`, one of the replicas: Sentinel promotes the
 * replica with the lowest `replica-priority`, then the largest offset, then the smallest run id, so
 * the other replicas get priority 0 (never promoted) until it is done, once every Sentinel has
 * read it in their INFO (once a second as the stack sets Sentinel's timers). Their priority is put
 * back to `restorePriority` (Redis's default, 100) whatever happens.
 */
export async function plannedFailoverTo(
  actions: StackActions,
  target: RedisNode,
  opts: { timeoutMs?: number; whilePaused?: () => Promise<void>; restorePriority?: string } = {},
): Promise<{ from: string; to: string; ms: number; pausedMs: number }> {
  const t = actions.topology;
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const old = await actions.currentMaster();
  if (!old) throw new Error('no master known to the Sentinels');
  if (old.name === target.name) throw new Error(`${target.name} is the master already`);
  const others = t.redis.filter((n) => n.name !== old.name && n.name !== target.name);
  const priority = (n: RedisNode, value: string) =>
    withRedis(n.host, n.port, actions.login, (r) => r.call('CONFIG', 'SET', 'replica-priority', value));
  const row = (rows: Record<string, string>[], n: RedisNode) =>
    rows.find((f) => f['ip'] === n.host && Number(f['port']) === n.port);
  const seen = (what: string, ok: (rows: Record<string, string>[]) => boolean) =>
    waitFor(
      `every Sentinel to see ${what}`,
      async () => {
        for (const s of t.sentinels) if (!ok(await sentinelReplicas(actions, s))) return false;
        return true;
      },
      { timeoutMs },
    );
  await seen(`${target.name} as a replica`, (rows) => row(rows, target)?.['flags'] === 'slave');
  try {
    for (const n of others) await priority(n, '0');
    await seen('replica-priority 0 on the other replicas', (rows) =>
      others.every((n) => (row(rows, n)?.['slave-priority'] ?? row(rows, n)?.['replica-priority']) === '0'),
    );
    const done = await plannedFailover(actions, timeoutMs, opts.whilePaused);
    if (done.to !== target.name) throw new Error(`Sentinel promoted ${done.to}, not ${target.name}`);
    return done;
  } finally {
    for (const n of others) await priority(n, opts.restorePriority ?? '100').catch(() => undefined);
  }
}

/** SENTINEL REPLICAS of one Sentinel, each replica's fields by name. */
export async function sentinelReplicas(
  actions: StackActions,
  s: { host: string; port: number },
): Promise<Record<string, string>[]> {
  const rows = (await withRedis(s.host, s.port, { password: actions.sentinelPassword }, (r) =>
    r.call('SENTINEL', 'REPLICAS', actions.topology.masterName),
  )) as string[][];
  return rows.map(fieldsOf);
}
