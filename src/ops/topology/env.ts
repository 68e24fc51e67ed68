import { integer, reader } from '../../config/settings.ts';
import { COUNT_SOURCES, resolveCounts, type TopologyCounts, TopologyError } from './counts.ts';
import type { AppNode, Topology } from './model.ts';
import { defaultPort, type PortName, portNames, portVariable } from './ports.ts';

/** The counts the environment sets (`REDIS_NODES=5 SENTINELS=5 APPS=2 SENTINEL_QUORUM=3`), unchecked. */
export function givenCounts(env: Record<string, string | undefined>): Partial<TopologyCounts> {
  const given: Partial<TopologyCounts> = {};
  for (const [key, s] of Object.entries(COUNT_SOURCES) as [keyof TopologyCounts, { variable: string }][]) {
    const raw = env[s.variable];
    if (raw === undefined || raw === '') continue;
    if (!/^\d{1,6}$/.test(raw))
      throw new TopologyError(`${s.variable}: must be a whole number, got "${raw}"`);
    given[key] = Number(raw);
  }
  return given;
}

/** The counts from the environment, checked; unset ones take their defaults (counts.ts). */
export function countsFromEnv(env: Record<string, string | undefined>): TopologyCounts {
  return resolveCounts(givenCounts(env));
}

/** The environment that gives these counts, for a process that reads them again (a detached launcher). */
export function countsToEnv(c: TopologyCounts): Record<string, string> {
  return Object.fromEntries(
    (Object.keys(COUNT_SOURCES) as (keyof TopologyCounts)[]).map((k) => [
      COUNT_SOURCES[k].variable,
      String(c[k]),
    ]),
  );
}

/** The port variables of a topology of these counts, as a table of settings (docs/configuration.md). */
export function portSettings(counts: Partial<TopologyCounts> = {}) {
  return Object.fromEntries(
    portNames(counts).map((name) => [
      portVariable(name),
      integer({ min: 1, max: 65535, defaultText: `\`${defaultPort(name)}\``, help: `the port of ${name}` }),
    ]),
  );
}

/** The port variables of the default counts. */
export const PORT_SETTINGS = portSettings();

/** Reads port overrides from the environment (`REDIS_1_PORT=7000 ...`), naming a bad value. */
export function portsFromEnv(
  env: Record<string, string | undefined>,
  counts: Partial<TopologyCounts> = {},
): Partial<Record<PortName, number>> {
  const get = reader(env, portSettings(counts));
  const out: Partial<Record<PortName, number>> = {};
  for (const name of portNames(counts)) {
    const port = get(portVariable(name)) as number | undefined;
    if (port !== undefined) out[name] = port;
  }
  return out;
}

/**
 * The environment of one app instance, the same variables in local mode and in compose (where the
 * secrets are `${VAR}` references that compose fills in at start).
 */
export function appEnvironment(
  t: Topology,
  app: AppNode,
  v: {
    listen: string;
    /**
     * The app's ACL user's password, and that of the Sentinels' read-only user (SENTINEL_READER in
     * render/acl.ts): the apps never get the Sentinels' own password, which may reconfigure them.
     */
    password: string;
    sentinelPassword: string;
    sessionSecret: string;
    trustProxy: string;
    statsUrl?: string;
  },
): Record<string, string> {
  return {
    HOST: v.listen,
    PORT: String(app.port),
    INSTANCE_ID: app.name,
    REDIS_SENTINELS: t.sentinels.map((s) => `${s.host}:${s.port}`).join(','),
    REDIS_MASTER_NAME: t.masterName,
    REDIS_USERNAME: 'app',
    REDIS_PASSWORD: v.password,
    REDIS_SENTINEL_USERNAME: 'reader',
    REDIS_SENTINEL_PASSWORD: v.sentinelPassword,
    SESSION_SECRET: v.sessionSecret,
    TRUST_PROXY: v.trustProxy,
    // What the topology page watches: every node by name, and HAProxy's view of the instances.
    TOPOLOGY_REDIS_NODES: t.redis.map((r) => `${r.name}=${r.host}:${r.port}`).join(','),
    TOPOLOGY_SENTINELS: t.sentinels.map((s) => `${s.name}=${s.host}:${s.port}`).join(','),
    ...(v.statsUrl ? { HAPROXY_STATS_URL: v.statsUrl } : {}),
  };
}
