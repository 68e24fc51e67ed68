import type { NodeInfo } from '../../../ha/info.ts';
import { newestMaster, type SentinelBelief } from '../../../ha/sentinel/belief.ts';
import type { TopologyConfig } from '../config.ts';
import type { NodeRow, SentinelRow, TopologySnapshot } from './model.ts';
import { type SupervisedProcess, supervised } from './snapshot.ts';

/**
 * The rows of a topology snapshot from what one poll read: pure functions of the answers (each
 * node's INFO, each Sentinel's belief, or the error instead) and the configured names.
 */
export type Settled<T> = { value: T | null; error: string | null };

/** A configured node's or Sentinel's name for an address; the address itself when none is known. */
export function nameOf(config: TopologyConfig, host: string, port: number | string): string {
  const p = Number(port);
  const known = [...config.redisNodes, ...config.sentinels].find((n) => n.host === host && n.port === p);
  return known?.name ?? `${host}:${p}`;
}

export function nodeRows(
  config: TopologyConfig,
  states: Settled<NodeInfo>[],
  processes: Map<string, SupervisedProcess>,
): NodeRow[] {
  const masterOffset = Math.max(
    0,
    ...states.filter((s) => s.value?.role === 'master').map((s) => s.value!.offset),
  );
  return config.redisNodes.map((n, i) => supervised(nodeRow(config, n, states, i, masterOffset), processes));
}

function nodeRow(
  config: TopologyConfig,
  n: { name: string; host: string; port: number },
  states: Settled<NodeInfo>[],
  i: number,
  masterOffset: number,
): Omit<NodeRow, 'restarts' | 'process'> {
  const nodes = config.redisNodes;
  const s = states[i]?.value;
  const address = `${n.host}:${n.port}`;
  if (!s) {
    const base = { link: null, following: null, replicas: null, offset: null };
    const lag = { lagBytes: null, lagSeconds: null };
    return {
      name: n.name,
      address,
      up: false,
      role: 'down',
      ...base,
      ...lag,
      error: states[i]?.error ?? null,
    };
  }
  const replica = s.role === 'slave';
  // The master's own record of the replica (matched by port: replicas announce their loopback address).
  const seen = states
    .map((x) => x.value)
    .filter((x) => x?.role === 'master')
    .flatMap((x) => x!.replicas)
    .find(
      (r) => r.port === n.port && (r.ip === n.host || nodes.filter((x) => x.port === n.port).length === 1),
    );
  return {
    name: n.name,
    address,
    up: true,
    role: replica ? 'replica' : s.role === 'master' ? 'master' : 'unknown',
    link: replica ? (s.linkUp ? 'up' : 'down') : null,
    following: replica && s.masterHost ? nameOf(config, s.masterHost, s.masterPort ?? 0) : null,
    replicas: replica ? null : s.connectedReplicas,
    offset: s.offset,
    lagBytes: replica && masterOffset > 0 ? Math.max(0, masterOffset - s.offset) : null,
    lagSeconds: replica && seen ? seen.lag : null,
    usedMemory: s.memory?.used ?? null,
    maxMemory: s.memory?.max ?? null,
    error: null,
  };
}

export function sentinelRows(
  config: TopologyConfig,
  beliefs: Settled<SentinelBelief>[],
  processes: Map<string, SupervisedProcess>,
): SentinelRow[] {
  return config.sentinels.map((s, i) => {
    const b = beliefs[i]?.value;
    return supervised(
      {
        name: s.name,
        address: `${s.host}:${s.port}`,
        up: !!b,
        master: b?.master ? nameOf(config, b.master.host, b.master.port) : null,
        flags: b?.flags ?? '',
        configEpoch: b ? b.configEpoch : null,
        tilt: b?.tilt ?? false,
        error: b ? null : (beliefs[i]?.error ?? null),
      },
      processes,
    );
  });
}

/**
 * The master: the one named in the Sentinels' newest configuration (right after a failover those
 * that have not heard of it still name the old one); without any Sentinel, the one node that
 * reports itself master.
 */
export function masterOf(
  config: TopologyConfig,
  beliefs: { value: SentinelBelief | null }[],
  nodes: NodeRow[],
): TopologySnapshot['master'] {
  const newest = newestMaster(beliefs.map((b) => b.value));
  if (newest)
    return { name: nameOf(config, newest.host, newest.port), address: `${newest.host}:${newest.port}` };
  const reporting = nodes.filter((n) => n.role === 'master');
  return reporting.length === 1 ? { name: reporting[0]!.name, address: reporting[0]!.address } : null;
}

/** The quorum the Sentinels were given (they all get the same monitor line); a majority when none answers. */
export function quorumOf(beliefs: { value: SentinelBelief | null }[]): number {
  const q = Math.max(0, ...beliefs.map((b) => b.value?.quorum ?? 0));
  return q > 0 ? q : Math.floor(beliefs.length / 2) + 1;
}
