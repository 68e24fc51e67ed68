// The operator dashboard's own settings: read beside the app's (loadConfig), and only when the
// dashboard is on, so an app without it holds no operator credential at all.
import { namedList } from '../../config/addresses.ts';
import {
  type AppConfig,
  ConfigError,
  type Env,
  type NamedAddress,
  strongSecret,
} from '../../config/index.ts';
import { reader } from '../../config/settings.ts';
import { TOPOLOGY_SETTINGS } from '../../config/table-topology.ts';

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
  const get = reader(env, TOPOLOGY_SETTINGS);
  return {
    masterName: env['REDIS_MASTER_NAME'] || 'mymaster',
    redisNodes: get('TOPOLOGY_REDIS_NODES') ?? [],
    sentinels: get('TOPOLOGY_SENTINELS') ?? namedList('REDIS_SENTINELS', env['REDIS_SENTINELS'] ?? ''),
    haproxyStatsUrl: get('HAPROXY_STATS_URL'),
    haproxyAppBackend: get('HAPROXY_APP_BACKEND'),
    pollMs: get('TOPOLOGY_POLL_MS'),
    stateFile: get('HA_STACK_STATE_FILE'),
  };
}

/**
 * The dashboard's settings, or undefined when it is off. It is on when the operator's password is
 * set (the local stack, compose and Kubernetes all pass it) or when OPERATOR_DASHBOARD=true asks
 * for it without one; OPERATOR_DASHBOARD=false turns it off, and then a password would protect
 * nothing the operator expects it to, so both together are refused.
 */
export function readOperatorConfig(env: Env, appEnv: AppConfig['env']): OperatorConfig | undefined {
  const get = reader(env, TOPOLOGY_SETTINGS);
  const password = get('HAPROXY_OPERATOR_PASSWORD');
  if (!(get('OPERATOR_DASHBOARD') ?? password !== undefined)) {
    if (password !== undefined)
      throw new ConfigError(
        'OPERATOR_DASHBOARD',
        'is false while HAPROXY_OPERATOR_PASSWORD is set: unset one of them',
      );
    return undefined;
  }
  // A previous password alone opens nothing: without a password the views need none.
  const previous = password === undefined ? undefined : get('HAPROXY_OPERATOR_PASSWORD_PREVIOUS');
  return {
    password: strongSecret('HAPROXY_OPERATOR_PASSWORD', password, appEnv),
    previousPassword: strongSecret('HAPROXY_OPERATOR_PASSWORD_PREVIOUS', previous, appEnv),
    streamsPerAddress: get('TOPOLOGY_STREAMS_PER_ADDRESS'),
    streamsPerInstance: get('TOPOLOGY_STREAMS_PER_INSTANCE'),
    topology: readTopology(env),
  };
}
