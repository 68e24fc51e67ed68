/**
 * `INFO` replies: the one parser of its text, and the typed fields of the sections the stack reads
 * (replication, memory, persistence). Everything that reads a node's role, link, offsets or
 * replicas reads them here.
 */

/** `INFO` text as a record of fields (section headers left out). */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

export interface Replication {
  role: 'master' | 'slave' | 'unknown';
  offset: number;
  connectedReplicas: number;
  linkUp: boolean;
  masterHost?: string | undefined;
  masterPort?: number | undefined;
  /** Replicas as the master sees them: address, offset and lag in seconds. */
  replicas: { ip: string; port: number; offset: number; lag: number }[];
}

/** The replication section of `INFO` as typed fields. */
export function parseReplication(text: string): Replication {
  return replicationOf(parseInfo(text));
}

function replicationOf(info: Record<string, string>): Replication {
  const replicas = Object.entries(info)
    .filter(([k]) => /^slave\d+$/.test(k))
    .map(([, v]) => {
      const f = Object.fromEntries(v.split(',').map((kv) => kv.split('=') as [string, string]));
      return {
        ip: f['ip'] ?? '',
        port: Number(f['port']),
        offset: Number(f['offset']),
        lag: Number(f['lag']),
      };
    });
  const role = info['role'] === 'master' || info['role'] === 'slave' ? info['role'] : 'unknown';
  return {
    role,
    offset: Number(info['master_repl_offset'] ?? info['slave_repl_offset'] ?? 0),
    connectedReplicas: Number(info['connected_slaves'] ?? 0),
    linkUp: info['master_link_status'] === 'up',
    masterHost: info['master_host'],
    masterPort: info['master_port'] ? Number(info['master_port']) : undefined,
    replicas,
  };
}

/** What `INFO replication` says beyond what a poll shows (Replication). */
export interface ReplicationDetail extends Replication {
  /**
   * Replicas the master counts for `min-replicas-to-write` (attached and within
   * `min-replicas-max-lag`); its connected replicas when it has no such setting.
   */
  goodReplicas: number;
  /** A replica receiving a full copy of its master's data right now. */
  syncing: boolean;
  /** The replication history's id: two nodes with the same id and offset hold the same data. */
  replid: string;
}

export function parseReplicationDetail(text: string): ReplicationDetail {
  return detailOf(parseInfo(text));
}

function detailOf(info: Record<string, string>): ReplicationDetail {
  const base = replicationOf(info);
  return {
    ...base,
    goodReplicas: Number(info['min_slaves_good_slaves'] ?? base.connectedReplicas),
    syncing: info['master_sync_in_progress'] === '1',
    replid: info['master_replid'] ?? '',
  };
}

/** `INFO memory`: bytes in use and the node's `maxmemory` (0: no limit). */
export interface Memory {
  used: number;
  max: number;
}

export function parseMemory(text: string): Memory | null {
  const info = parseInfo(text);
  if (info['used_memory'] === undefined) return null;
  return { used: Number(info['used_memory']), max: Number(info['maxmemory'] ?? 0) };
}

/** Share of `maxmemory` in use above which a node is reported: full, it refuses writes. */
export const MEMORY_ALARM_SHARE = 0.8;

/** The alarm for a node whose memory passed MEMORY_ALARM_SHARE of its maxmemory, else null. */
export function memoryAlarm(name: string, m: Memory | null | undefined): string | null {
  if (!m || m.max <= 0 || m.used < m.max * MEMORY_ALARM_SHARE) return null;
  const pct = Math.round((100 * m.used) / m.max);
  return `${name} uses ${pct} % of its maxmemory (${m.used} of ${m.max} bytes): writes are refused once it is full`;
}

/** What a poll of one node reads: `INFO replication memory`. */
export type NodeInfo = Replication & { memory: Memory | null };

export function parseNodeInfo(text: string): NodeInfo {
  return { ...parseReplication(text), memory: parseMemory(text) };
}

/**
 * From `INFO persistence replication`: the node is loading its files or receiving a full sync from
 * its master; slow with a large data set, but not stuck.
 */
export function parseBusy(text: string): boolean {
  const info = parseInfo(text);
  return info['loading'] === '1' || info['async_loading'] === '1' || detailOf(info).syncing;
}
