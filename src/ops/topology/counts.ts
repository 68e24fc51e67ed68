/**
 * How many of each there are: the one description every name, port, address and list of the
 * deployment is derived from (model.ts, ports.ts; the renderers and the supervisor read those).
 */
export interface TopologyCounts {
  redisNodes: number;
  sentinels: number;
  apps: number;
  /** Sentinels that must agree the master is down; a majority of them unless given. */
  quorum: number;
}

export const DEFAULT_COUNTS = { redisNodes: 3, sentinels: 3, apps: 2 } as const;

/**
 * At most nine of each: locally every Redis node and Sentinel has an address of its own in
 * 127.0.0.11-19 and 127.0.0.21-29 (ports.ts), and those ranges must not meet.
 */
export const MAX_COUNT = 9;

/** Where each count can be set, for messages that say how to fix it. */
export const COUNT_SOURCES = {
  redisNodes: { flag: '--redis-nodes', variable: 'REDIS_NODES', what: 'Redis nodes', min: 2 },
  sentinels: { flag: '--sentinels', variable: 'SENTINELS', what: 'Sentinels', min: 1 },
  apps: { flag: '--apps', variable: 'APPS', what: 'app instances', min: 1 },
  quorum: { flag: '--quorum', variable: 'SENTINEL_QUORUM', what: 'the quorum', min: 1 },
} as const satisfies Record<
  keyof TopologyCounts,
  { flag: string; variable: string; what: string; min: number }
>;

/** A count that cannot make a working stack. */
export class TopologyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TopologyError';
  }
}

export const majority = (n: number): number => Math.floor(n / 2) + 1;

function check(key: keyof TopologyCounts, value: number, max: number): number {
  const s = COUNT_SOURCES[key];
  if (!Number.isInteger(value) || value < s.min || value > max)
    throw new TopologyError(
      `${s.what} (${s.flag}, ${s.variable}): must be a whole number from ${s.min} to ${max}, got ${value}`,
    );
  return value;
}

/** The counts with their defaults filled in, checked: a clear error for one that cannot work. */
export function resolveCounts(given: Partial<TopologyCounts> = {}): TopologyCounts {
  const redisNodes = check('redisNodes', given.redisNodes ?? DEFAULT_COUNTS.redisNodes, MAX_COUNT);
  const sentinels = check('sentinels', given.sentinels ?? DEFAULT_COUNTS.sentinels, MAX_COUNT);
  const apps = check('apps', given.apps ?? DEFAULT_COUNTS.apps, MAX_COUNT);
  // More than the Sentinels there are could never be reached: no failover would ever start.
  const quorum = check('quorum', given.quorum ?? majority(sentinels), sentinels);
  return { redisNodes, sentinels, apps, quorum };
}

/** Counts that work but weaken the stack, in words (printed, not refused). */
export function countWarnings(c: TopologyCounts): string[] {
  const out: string[] = [];
  if (c.sentinels < 3 || c.sentinels % 2 === 0)
    out.push(
      `${c.sentinels} Sentinel(s): an odd number of 3 or more is recommended; a failover needs a majority ` +
        `(${majority(c.sentinels)}) of them up, so ${c.sentinels - majority(c.sentinels)} may fail`,
    );
  if (c.quorum < majority(c.sentinels))
    out.push(
      `quorum ${c.quorum} is below a majority of ${c.sentinels} Sentinels: a minority may declare the master down`,
    );
  return out;
}

/** Node names: numbered from 1, in start order. */
export const redisName = (i: number): `redis-${number}` => `redis-${i}`;
export const sentinelName = (i: number): `sentinel-${number}` => `sentinel-${i}`;
export const appName = (i: number): `app-${number}` => `app-${i}`;

export const numbered = <T>(count: number, name: (i: number) => T): T[] =>
  Array.from({ length: count }, (_, i) => name(i + 1));
