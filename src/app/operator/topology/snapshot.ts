import { readFile } from 'node:fs/promises';
import type { ProxiedServer } from '../../../ha/haproxy-stats.ts';
import { memoryAlarm } from '../../../ha/info.ts';
import { describeMode, describeSentinels, sentinelMode, serviceMode } from '../../../ha/mode.ts';
import { expiryWarning, ownCertificates } from '../../../ha/tls.ts';
import type { TopologyConfig } from '../config.ts';
import type { NodeRow, SentinelRow, TopologySnapshot } from './model.ts';

/** The pure parts of a snapshot: built from what the observer read, unit-tested on their own. */

/** Alarms need a person; warnings describe a state that is normal for a moment (during a failover). */
export function alarms(nodes: NodeRow[], sentinels: SentinelRow[]): { alarms: string[]; warnings: string[] } {
  const out = { alarms: [] as string[], warnings: [] as string[] };
  const masters = nodes.filter((n) => n.role === 'master');
  if (masters.length > 1)
    out.alarms.push(`split brain: ${masters.map((m) => m.name).join(' and ')} report role:master`);
  if (sentinels.length > 0 && sentinels.every((s) => !s.up)) out.alarms.push('no Sentinel answers');
  for (const n of nodes) {
    const alarm = memoryAlarm(n.name, { used: n.usedMemory ?? 0, max: n.maxMemory ?? 0 });
    if (alarm) out.alarms.push(alarm);
  }
  const tilted = sentinels.filter((s) => s.up && s.tilt).map((s) => s.name);
  if (tilted.length)
    out.alarms.push(
      `${tilted.join(', ')} in TILT mode: ${tilted.length === 1 ? 'it takes' : 'they take'} part in no failover for 30 s`,
    );
  const named = new Map<string, string[]>();
  for (const s of sentinels) if (s.master) named.set(s.master, [...(named.get(s.master) ?? []), s.name]);
  if (named.size > 1) {
    const who = [...named].map(([m, by]) => `${m} (${by.join(', ')})`).join(' vs ');
    out.warnings.push(`Sentinels disagree on the master: ${who}; normal for a moment during a failover`);
  }
  if (nodes.length > 0 && masters.length === 0) out.warnings.push('no node reports role:master');
  return out;
}

/** The stack's mode from the nodes' and Sentinels' rows (the master is the one `master` names). */
export function modeOf(
  nodes: NodeRow[],
  sentinels: SentinelRow[],
  master: TopologySnapshot['master'],
  minReplicas: number,
  quorum: number,
): TopologySnapshot['mode'] {
  const row =
    nodes.find((n) => n.role === 'master' && n.name === master?.name) ??
    nodes.find((n) => n.role === 'master');
  const service = serviceMode({
    masterUp: !!row,
    replicasOfMaster: nodes.filter(
      (n) => n.role === 'replica' && n.link === 'up' && n.following === row?.name,
    ).length,
    minReplicas,
    replicasUp: nodes.filter((n) => n.role === 'replica').length,
  });
  const up = sentinels.filter((s) => s.up);
  const sentinelsMode =
    sentinels.length === 0
      ? 'ok'
      : sentinelMode({ up: up.length, tilt: up.filter((s) => s.tilt).length, quorum }, sentinels.length);
  const text =
    sentinelsMode === 'ok'
      ? describeMode(service)
      : `${describeMode(service)}; ${describeSentinels(sentinelsMode)}`;
  return { service, sentinels: sentinelsMode, text };
}

export function missing(config: TopologyConfig): string[] {
  const out: string[] = [];
  if (config.redisNodes.length === 0)
    out.push('Redis nodes are not observed: set TOPOLOGY_REDIS_NODES=name=host:port,...');
  if (config.sentinels.length === 0)
    out.push('Sentinels are not observed: set TOPOLOGY_SENTINELS or REDIS_SENTINELS=host:port,...');
  if (!config.haproxyStatsUrl)
    out.push("App instances are not observed: set HAPROXY_STATS_URL to HAProxy's stats page");
  return out;
}

export function haproxyPart(
  config: TopologyConfig,
  stats: { value: ProxiedServer[] | null; error: string | null } | null,
): TopologySnapshot['haproxy'] {
  const servers = stats?.value ?? [];
  return {
    configured: !!config.haproxyStatsUrl,
    up: !!stats?.value,
    error: stats?.error ?? null,
    apps: servers.filter((s) => s.backend === config.haproxyAppBackend),
    others: servers.filter((s) => s.backend !== config.haproxyAppBackend),
  };
}

export interface SupervisedProcess {
  status: string;
  restarts: number;
}

/** The local supervisor's state file (`HA_STACK_STATE_FILE`): each process's status and restarts. */
export function parseSupervisorState(text: string): Map<string, SupervisedProcess> {
  const out = new Map<string, SupervisedProcess>();
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return out;
  }
  const nodes = (data as { nodes?: unknown } | null)?.nodes;
  if (typeof nodes !== 'object' || nodes === null) return out;
  for (const [name, v] of Object.entries(nodes as Record<string, unknown>)) {
    const p = v as { status?: unknown; restarts?: unknown } | null;
    if (typeof p?.status === 'string' && typeof p.restarts === 'number')
      out.set(name, { status: p.status, restarts: p.restarts });
  }
  return out;
}

export async function readSupervisorState(file: string | undefined): Promise<Map<string, SupervisedProcess>> {
  if (!file) return new Map();
  try {
    return parseSupervisorState(await readFile(file, 'utf8'));
  } catch {
    return new Map();
  }
}

/** A row with the supervisor's status and restart count of the process of the same name. */
export function supervised<T extends { name: string }>(
  row: T,
  state: Map<string, SupervisedProcess>,
): T & { restarts: number | null; process: string | null } {
  const p = state.get(row.name);
  return { ...row, restarts: p?.restarts ?? null, process: p?.status ?? null };
}

/** The alarms with one for this instance's certificate or CA ending within 14 days (ha/tls.ts). */
export function withCertificateWarnings(a: { alarms: string[]; warnings: string[] }): {
  alarms: string[];
  warnings: string[];
} {
  let certs: ReturnType<typeof ownCertificates> = [];
  try {
    certs = ownCertificates();
  } catch {
    // A file being replaced: the next snapshot reads it.
  }
  const now = Date.now();
  const more = certs
    .map((c) => expiryWarning(c.name === 'ca' ? 'CA' : `of ${c.file.split('/').pop()}`, c.end, now))
    .filter((w): w is string => w !== undefined);
  return { alarms: [...a.alarms, ...more], warnings: a.warnings };
}
