/**
 * The degraded modes of the stack, defined once: the app's `/readyz`, `ha-stack status`, the status
 * line and the topology page all name the mode with these words.
 *
 * - `healthy`: a master with at least `min-replicas-to-write` fresh replicas: reads and writes.
 * - `no-master`: no master answers (a failover is under way, or cannot happen): reads are served by
 *   a replica, writes wait for a master up to their deadline, then answer 503 with Retry-After.
 * - `read-only`: a master without enough replicas: it refuses writes (`NOREPLICAS`), so reads are
 *   served (session renewal skipped) and logins and cart writes answer 503 with Retry-After.
 * - `unavailable`: no Redis node answers at all.
 */
export type ServiceMode = 'healthy' | 'no-master' | 'read-only' | 'unavailable';

/** What the Sentinels can do: fail over (`ok`), or not (`no-quorum`, `tilt`: a failover cannot start). */
export type SentinelMode = 'ok' | 'no-quorum' | 'tilt';

export interface ModeInput {
  /** A node reports role:master and answers. */
  masterUp: boolean;
  /** Replicas linked to that master (INFO replication's connected_slaves with a fresh link). */
  replicasOfMaster: number;
  /** The master's `min-replicas-to-write`. */
  minReplicas: number;
  /** Replicas that answer, linked to a master or not. */
  replicasUp: number;
}

export function serviceMode(s: ModeInput): ServiceMode {
  if (s.masterUp) return s.replicasOfMaster >= s.minReplicas ? 'healthy' : 'read-only';
  return s.replicasUp > 0 ? 'no-master' : 'unavailable';
}

export interface SentinelInput {
  /** Sentinels that answer. */
  up: number;
  /** Of those, how many are in TILT mode. */
  tilt: number;
  quorum: number;
}

/**
 * A failover needs `quorum` Sentinels to agree the master is down, and a majority of all Sentinels
 * to elect a leader; a Sentinel in TILT takes part in neither until it leaves TILT (30 s).
 */
export function sentinelMode(s: SentinelInput, total: number): SentinelMode {
  const active = s.up - s.tilt;
  const needed = Math.max(s.quorum, Math.floor(total / 2) + 1);
  if (active >= needed) return 'ok';
  return s.tilt > 0 && s.up >= needed ? 'tilt' : 'no-quorum';
}

/** A sentence for people: what works in this mode and what does not. */
export function describeMode(mode: ServiceMode): string {
  switch (mode) {
    case 'healthy':
      return 'reads and writes served';
    case 'no-master':
      return 'no master: reads served by a replica, writes wait for a master, then 503';
    case 'read-only':
      return 'master without enough replicas: reads served, writes answered 503 until a replica is back';
    case 'unavailable':
      return 'no Redis node answers';
  }
}

export function describeSentinels(mode: SentinelMode): string {
  switch (mode) {
    case 'ok':
      return 'Sentinels can fail over';
    case 'no-quorum':
      return 'too few Sentinels answer: no failover can happen';
    case 'tilt':
      return 'Sentinels in TILT mode: no failover until they leave it (30 s)';
  }
}

/** Sentinels that must answer, out of TILT, for a failover: the quorum, and a majority to elect a leader. */
export function sentinelsNeeded(quorum: number, total: number): number {
  return Math.max(quorum, Math.floor(total / 2) + 1);
}
