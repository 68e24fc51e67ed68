// The operator dashboard's own settings: read beside the app's (loadConfig), and only when the
// dashboard is on, so an app without it holds no operator credential at all.
import {
  type AppConfig,
  bool,
  ConfigError,
  type Env,
  int,
  type NamedAddress,
  namedList,
  secretWeakness,
  str,
} from '../../config/index.ts';

/** What the topology page observes; each part may be missing, the page then says so. */
export interface TopologyConfig {
  masterName: string;
  redisNodes: NamedAddress[];
  sentinels: NamedAddress[];
  /** HAProxy's stats page (`http://host:port/stats`); its CSV tells which app instances are up. */
  haproxyStatsUrl: string | undefined;
  /** The HAProxy backend whose servers are the app instances. */
  haproxyAppBackend: string;
  pollMs: number;
  /** The local supervisor's state (process status and restart counts), when it started this instance. */
  stateFile: string | undefined;
}

/** The operator's views (the topology page, its API and stream, metrics) and who may see them. */
export interface OperatorConfig {
  /**
   * The password of user `operator` on HAProxy's operator front. Set, the app reads HAProxy's stats
   * with it and answers its operator views only to requests that carry it; unset (a dashboard
   * turned on with OPERATOR_DASHBOARD=true on an instance run without the front), it serves them
   * to anyone who reaches it.
   */
  password: string | undefined;
  /**
   * Accepted beside it while the password is rotated (`HAPROXY_OPERATOR_PASSWORD_PREVIOUS`): the
   * operator front may still have it for the moment its reload takes, and reading the stats page
   * falls back to it on a 401.
   */
  previousPassword: string | undefined;
  /** Open topology event streams one client address may hold on this instance. */
  streamsPerAddress: number;
  /** Open topology event streams on this instance, from all addresses together. */
  streamsPerInstance: number;
  topology: TopologyConfig;
}

function readTopology(env: Env): TopologyConfig {
  const sentinels = env['TOPOLOGY_SENTINELS'] || env['REDIS_SENTINELS'] || '';
  const stats = env['HAPROXY_STATS_URL'] || undefined;
  if (stats !== undefined) {
    let url: URL;
    try {
      url = new URL(stats);
    } catch {
      throw new ConfigError('HAPROXY_STATS_URL', `"${stats}" is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new ConfigError('HAPROXY_STATS_URL', 'must be an http:// or https:// URL');
  }
  return {
    masterName: str(env, 'REDIS_MASTER_NAME', 'mymaster'),
    redisNodes: namedList('TOPOLOGY_REDIS_NODES', env['TOPOLOGY_REDIS_NODES'] ?? ''),
    sentinels: namedList(env['TOPOLOGY_SENTINELS'] ? 'TOPOLOGY_SENTINELS' : 'REDIS_SENTINELS', sentinels),
    haproxyStatsUrl: stats,
    haproxyAppBackend: str(env, 'HAPROXY_APP_BACKEND', 'apps'),
    pollMs: int(env, 'TOPOLOGY_POLL_MS', 500, 100, 60_000),
    stateFile: env['HA_STACK_STATE_FILE'] || undefined,
  };
}

/**
 * The dashboard's settings, or undefined when it is off. It is on when the operator's password is
 * set (the local stack, compose and Kubernetes all pass it) or when OPERATOR_DASHBOARD=true asks
 * for it without one; OPERATOR_DASHBOARD=false turns it off, and then a password would protect
 * nothing the operator expects it to, so both together are refused.
 */
export function readOperatorConfig(env: Env, appEnv: AppConfig['env']): OperatorConfig | undefined {
  const password = env['HAPROXY_OPERATOR_PASSWORD'] || undefined;
  if (!bool(env, 'OPERATOR_DASHBOARD', password !== undefined)) {
    if (password !== undefined)
      throw new ConfigError(
        'OPERATOR_DASHBOARD',
        'is false while HAPROXY_OPERATOR_PASSWORD is set: unset one of them',
      );
    return undefined;
  }
  const weakness = password === undefined ? undefined : secretWeakness(password);
  if (weakness && appEnv !== 'development') throw new ConfigError('HAPROXY_OPERATOR_PASSWORD', weakness);
  const previousPassword = (password && env['HAPROXY_OPERATOR_PASSWORD_PREVIOUS']) || undefined;
  const previousWeakness = previousPassword === undefined ? undefined : secretWeakness(previousPassword);
  if (previousWeakness && appEnv !== 'development')
    throw new ConfigError('HAPROXY_OPERATOR_PASSWORD_PREVIOUS', previousWeakness);
  return {
    password,
    previousPassword,
    streamsPerAddress: int(env, 'TOPOLOGY_STREAMS_PER_ADDRESS', 8, 1, 10_000),
    streamsPerInstance: int(env, 'TOPOLOGY_STREAMS_PER_INSTANCE', 64, 1, 100_000),
    topology: readTopology(env),
  };
}
