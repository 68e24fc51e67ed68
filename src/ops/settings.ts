// The operator's tool's environment variables (ha-stack up, render --target local), as a table of
// the same kind as the app's (src/config/table.ts): docs/configuration.md lists both.

import { custom, type Env, integer, oneOf, reader, text } from '../config/settings.ts';
import { ConfigError } from '../config/types.ts';
import { BACKUP_SETTINGS } from './backup/settings.ts';
import { DEFAULT_CONNECTIONS_PER_ADDRESS } from './render/haproxy.ts';
import { SERVER_KINDS, type ServerKind } from './supervisor/servers.ts';
import {
  checkDownAfter,
  checkMaxMemory,
  DEFAULT_MAX_MEMORY,
  DOWN_AFTER_FLOOR_MS,
  PORT_SETTINGS,
  portsFromEnv,
  type TopologyCounts,
  type TopologyOptions,
} from './topology.ts';

const MAX_MS = 2_147_483_647;

export const OPS_SETTINGS = {
  HA_STACK_RUN_DIR: text({
    defaultText: '`.run` in the checkout',
    help: 'the run directory: configs, data, logs, passwords and the control socket of the local stack',
  }),
  REDIS_SERVER: oneOf({
    default: 'redis',
    words: SERVER_KINDS,
    help: 'the server the local stack starts: redis (redis-server, redis-sentinel) or valkey (valkey-server, valkey-sentinel, Valkey 8.0 from bookworm-backports: scripts/setup.sh valkey); ha-stack upgrade moves a running stack (docs/upgrade.md)',
    refusal: (raw) => `must be redis or valkey, got "${raw}"`,
  }),
  SENTINEL_DOWN_AFTER_MS: custom<number | undefined>({
    type: 'integer',
    default: undefined,
    defaultText: `\`${DOWN_AFTER_FLOOR_MS}\``,
    allowed: `${DOWN_AFTER_FLOOR_MS} to ${MAX_MS} (lower values let Sentinel fail back: docs/failover-and-chaos.md)`,
    help: "the Sentinels' down-after-milliseconds: how long a silent master takes to be judged down",
    parse: (raw, name) => {
      if (!/^\d+$/.test(raw.trim())) throw new ConfigError(name, `must be an integer, got "${raw}"`);
      const n = Number(raw);
      if (n > MAX_MS) throw new ConfigError(name, `must be at most ${MAX_MS}, got ${n}`);
      return checkDownAfter(n, name);
    },
  }),
  SENTINEL_FAILOVER_TIMEOUT_MS: integer({
    min: 0,
    max: MAX_MS,
    defaultText: '`3000`',
    help: "the Sentinels' failover-timeout",
  }),
  REDIS_MAXMEMORY: custom<string | undefined>({
    type: 'size',
    default: undefined,
    defaultText: `\`${DEFAULT_MAX_MEMORY}\``,
    allowed: 'bytes, or a number with k, kb, m, mb, g or gb',
    help: "every Redis node's maxmemory (noeviction: a full node refuses writes)",
    parse: (raw, name) => checkMaxMemory(raw, name),
  }),
  HAPROXY_CONNECTIONS_PER_ADDRESS: integer({
    min: 1,
    max: 999_999,
    defaultText: `\`${DEFAULT_CONNECTIONS_PER_ADDRESS}\``,
    help: "concurrent connections one client address may hold on HAProxy's HTTP fronts",
  }),
  ...PORT_SETTINGS,
  ...BACKUP_SETTINGS,
};

/** The topology as the environment shapes it: ports, Sentinel timings, maxmemory. */
export function topologyFromEnv(env: Env = process.env, counts?: TopologyCounts): TopologyOptions {
  const get = reader(env, OPS_SETTINGS);
  return {
    ...(counts ? { counts } : {}),
    ports: portsFromEnv(env, counts),
    downAfterMs: get('SENTINEL_DOWN_AFTER_MS'),
    failoverTimeoutMs: get('SENTINEL_FAILOVER_TIMEOUT_MS'),
    maxMemory: get('REDIS_MAXMEMORY'),
  };
}

export function connectionsPerAddressFromEnv(env: Env = process.env): number | undefined {
  return reader(env, OPS_SETTINGS)('HAPROXY_CONNECTIONS_PER_ADDRESS');
}

/** REDIS_SERVER: which server the local supervisor starts (redis by default). */
export function serverFromEnv(env: Env = process.env): ServerKind {
  return reader(env, OPS_SETTINGS)('REDIS_SERVER');
}
