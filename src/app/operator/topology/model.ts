import type { SentinelMode, ServiceMode } from '../../../ha/mode.ts';

/** What the topology page, `GET /api/topology` and its event stream show: one look at the system. */
export interface TopologySnapshot {
  /** When the state was read (ISO time). */
  at: string;
  /** The app instance that observed it. */
  observer: string;
  masterName: string;
  /** The master as the Sentinels (newest configuration) name it, else the node reporting role:master. */
  master: { name: string; address: string } | null;
  /** The stack's degraded mode as this observer sees it (see src/redis/mode.ts). */
  mode: { service: ServiceMode; sentinels: SentinelMode; text: string };
  /** States that need a person: more than one master, no Sentinel answering. */
  alarms: string[];
  /** States that are normal for a moment during a failover (Sentinels disagreeing, no master). */
  warnings: string[];
  /** Parts that are not configured, with the variable that would turn each on. */
  missing: string[];
  nodes: NodeRow[];
  sentinels: SentinelRow[];
  haproxy: {
    configured: boolean;
    up: boolean;
    error: string | null;
    /** Servers of the app backend: the app instances as HAProxy sees them. */
    apps: ProxiedRow[];
    /** Servers of the other backends (the Redis TCP front). */
    others: ProxiedRow[];
  };
  /** Oldest first. */
  events: TopologyEvent[];
}

export interface NodeRow {
  name: string;
  address: string;
  up: boolean;
  role: 'master' | 'replica' | 'unknown' | 'down';
  /** A replica's link to its master; null for a master or a node that is down. */
  link: 'up' | 'down' | null;
  /** The master a replica follows (its name when known). */
  following: string | null;
  /** Replicas attached to a master. */
  replicas: number | null;
  offset: number | null;
  /** Bytes behind the master's offset (replicas only). */
  lagBytes: number | null;
  /** Seconds since the master last heard from this replica. */
  lagSeconds: number | null;
  /** Bytes in use and the node's maxmemory (0: no limit); absent when the node is down. */
  usedMemory?: number | null;
  maxMemory?: number | null;
  error: string | null;
  /** Restarts by the local supervisor after a crash (null: not run by it). */
  restarts: number | null;
  /** The supervisor's word for the process (`running`, `restarting`, `stopped`, ...), when known. */
  process: string | null;
}

export interface SentinelRow {
  name: string;
  address: string;
  up: boolean;
  /** The master it believes in (node name when known, else address). */
  master: string | null;
  flags: string;
  configEpoch: number | null;
  /** In TILT mode: takes part in no failover until it leaves it. */
  tilt: boolean;
  error: string | null;
  restarts: number | null;
  process: string | null;
}

export interface ProxiedRow {
  backend: string;
  server: string;
  status: string;
  check: string;
  ready: boolean;
}

export interface TopologyEvent {
  /** Increasing within one observer: lets a client tell new events from ones it has shown. */
  id: number;
  at: string;
  /** `+sdown`, `+odown`, `+switch-master`, ... from a Sentinel; `down`, `up`, `role` from polling. */
  type: string;
  text: string;
  /** Who reported it: Sentinels (several when each said the same) or `poll`. */
  sources: string[];
}
