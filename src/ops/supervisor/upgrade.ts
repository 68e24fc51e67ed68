import { sentinelView } from '../../ha/probes.ts';
import type { StackActions } from '../actions.ts';
import { plannedFailover } from '../failover.ts';
import type { RedisNode } from '../topology.ts';
import { type RollbackDeps, type RollbackResult, rollbackToRedis } from './rollback.ts';
import type { RunDir } from './rundir.ts';
import { dropValkeyFiles, type ServerChoice, type ServerKind } from './servers.ts';
import { waitFor } from './wait.ts';

/** What `ha-stack upgrade --server S` did on the running stack. */
export interface UpgradeResult {
  server: ServerKind;
  /** The processes restarted on `server`, in order. */
  moved: string[];
  /** The planned failover that crossed the point of no return (writes paused `pausedMs`). */
  failover: { from: string; to: string; ms: number; pausedMs: number } | null;
  /**
   * It stopped at the point of no return: before it (the master still runs Redis), or, with
   * `server` redis, past it (the master runs Valkey: the way back is the rollback).
   */
  stoppedBeforeNoReturn: boolean;
  /** Past the point of no return, back to Redis: the logical copy (rollback.ts). */
  rollback: RollbackResult | null;
  /** Where every process stands now. */
  servers: Record<string, ServerKind>;
  ms: number;
}

export interface UpgradeDeps {
  /** Starts a node on Redis as a copy target for a rollback (starter.ts). */
  startCopyTarget: RollbackDeps['startCopyTarget'];
  readonly actions: StackActions;
  readonly servers: ServerChoice;
  /** Each node's folder (its data files). */
  readonly run: RunDir;
  log(message: string): void;
  timeoutMs: number;
}

/** One upgrade at a time on a stack. */
export class Upgrader {
  private busy = false;

  constructor(private readonly deps: UpgradeDeps) {}

  async run(server: ServerKind, pastNoReturn: boolean): Promise<UpgradeResult> {
    if (this.busy) throw new Error('an upgrade is already running');
    this.busy = true;
    try {
      return await upgradeStack(this.deps, server, pastNoReturn);
    } finally {
      this.busy = false;
    }
  }
}

/**
 * A rolling move of every Redis node and Sentinel to `server`: the replicas first (each restarted
 * on the same data folder as a replica of the master, ready once its link is up), then the
 * Sentinels one at a time (each ready once it sees the master, every replica and every other
 * Sentinel), then, only with `pastNoReturn`, a planned failover to a node already moved and the
 * old master restarted as a replica. Back to Redis while the master still runs Redis is the same
 * walk; once a Valkey node is master, Redis 7.0 cannot replicate from it (RDB version 11).
 */
export async function upgradeStack(
  d: UpgradeDeps,
  server: ServerKind,
  pastNoReturn: boolean,
): Promise<UpgradeResult> {
  const started = Date.now();
  const t = d.actions.topology;
  const moved: string[] = [];
  let master = await d.actions.currentMaster();
  if (!master) throw new Error('no master known to the Sentinels: nothing is moved');
  let rollback: RollbackResult | null = null;
  if (d.servers.of(master.name) !== server && server === 'redis') {
    // Past the point of no return: the way back is the rollback, which needs the operator's yes.
    if (!pastNoReturn) {
      d.log(
        `upgrade: the rollback to Redis needs --yes-past-no-return: ${master.name}, the master, runs valkey`,
      );
      const servers = serversNow(d);
      return { server, moved, failover: null, rollback: null, stoppedBeforeNoReturn: true, servers, ms: 0 };
    }
    rollback = await rollbackToRedis(d, master);
    moved.push(rollback.to);
    master = await d.actions.currentMaster();
    if (!master) throw new Error('no master known to the Sentinels after the rollback');
  }
  const current = master;
  for (const node of t.redis.filter((r) => r.name !== current.name)) {
    if (await moveReplica(d, node, server)) moved.push(node.name);
  }
  for (const s of t.sentinels) {
    if (d.servers.of(s.name) === server) continue;
    d.servers.set(s.name, server);
    await d.actions.stop(s.name);
    await d.actions.start(s.name);
    await waitForSentinel(d, s, current);
    d.log(`upgrade: ${s.name} runs ${server}, sees the master, its replicas and the other Sentinels`);
    moved.push(s.name);
  }
  let failover: UpgradeResult['failover'] = null;
  let stoppedBeforeNoReturn = false;
  if (d.servers.of(current.name) !== server) {
    if (!pastNoReturn) {
      stoppedBeforeNoReturn = true;
      d.log(`upgrade: stopped before the point of no return: ${current.name}, the master, runs redis`);
    } else {
      failover = await plannedFailover(d.actions, d.timeoutMs);
      d.log(
        `upgrade: past the point of no return: ${failover.to} is master (writes paused ${failover.pausedMs} ms)`,
      );
      if (await moveReplica(d, current, server)) moved.push(current.name);
    }
  }
  const servers = serversNow(d);
  return { server, moved, failover, rollback, stoppedBeforeNoReturn, servers, ms: Date.now() - started };
}

function serversNow(d: UpgradeDeps): Record<string, ServerKind> {
  const t = d.actions.topology;
  const servers: Record<string, ServerKind> = {};
  for (const n of [...t.redis, ...t.sentinels]) servers[n.name] = d.servers.of(n.name);
  return servers;
}

/** Restarts a replica on `server` (false: it runs it already). */
async function moveReplica(d: UpgradeDeps, node: RedisNode, server: ServerKind): Promise<boolean> {
  const from = d.servers.of(node.name);
  if (from === server) return false;
  d.servers.set(node.name, server);
  await d.actions.stop(node.name);
  // Back on Redis, the files Valkey wrote (RDB version 11 in the AOF's base) would not load:
  // the node starts without them and takes a full copy from its Redis master.
  if (from === 'valkey') dropValkeyFiles(d.run.nodeDir(node.name));
  await d.actions.start(node.name);
  d.log(`upgrade: ${node.name} runs ${server} as a replica, its link up`);
  return true;
}

async function waitForSentinel(
  d: UpgradeDeps,
  s: { name: string; host: string; port: number },
  master: RedisNode,
): Promise<void> {
  const t = d.actions.topology;
  await waitFor(
    `${s.name} to see ${master.name}, ${t.redis.length - 1} replica(s) and ${t.sentinels.length - 1} other Sentinel(s)`,
    async () => {
      const v = await sentinelView(s.host, s.port, t.masterName, d.actions.sentinelPassword);
      return (
        v.master?.host === master.host &&
        v.master.port === master.port &&
        v.replicas === t.redis.length - 1 &&
        v.otherSentinels === t.sentinels.length - 1
      );
    },
    { timeoutMs: d.timeoutMs },
  );
}
