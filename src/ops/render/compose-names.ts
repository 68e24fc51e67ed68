import { HAPROXY_PORTS } from '../topology.ts';
import type { RedisUser } from './acl.ts';

// The names compose.ts gives the deployment: services, ports, images, users and the variables a
// user sets. Tests and the CLI read them from here too.

/**
 * The compose service of each node of the topology; the service name is also its host name. The
 * first Redis node is the master at the first start, the others its replicas.
 */
export function composeService(name: string): string {
  const m = /^(redis|sentinel)-(\d+)$/.exec(name);
  if (!m) return name;
  const n = Number(m[2]);
  if (m[1] === 'sentinel') return `redis-sentinel-${n}`;
  return n === 1 ? 'redis-master' : `redis-replica-${n - 1}`;
}

/**
 * Every container has its own address, so Redis and Sentinel listen on their standard ports there;
 * the apps and HAProxy keep the ports of local mode.
 */
export const COMPOSE_PORTS = { redis: 6379, sentinel: 26379 } as const;

/**
 * Host ports compose publishes. HAProxy's HTTP front is the one that differs from local mode: port 80
 * on the host (8080 inside the container, so HAProxy needs no privilege to bind it). Only the site is
 * published on every interface; the others on the host's loopback (PRIVATE_HOST) only.
 */
export const PUBLISHED_PORTS = {
  'haproxy-http': 80,
  'haproxy-stats': HAPROXY_PORTS['haproxy-stats'],
  'haproxy-redis': HAPROXY_PORTS['haproxy-redis'],
  redisinsight: 5540,
} as const;

/** Where the operator front, the Redis front and RedisInsight are published: the host itself only. */
export const PRIVATE_HOST = '127.0.0.1';

/** The compose profile of the optional tools (RedisInsight): `docker compose --profile tools up`. */
export const TOOLS_PROFILE = 'tools';

/** The non-root user each image runs its process as (each official image has its own). */
export const USERS = { redis: 'redis', haproxy: 'haproxy', app: 'node', redisinsight: 'node' } as const;

/** Same major versions as the Debian packages local mode runs (redis 7.0, HAProxy 2.6). */
export const IMAGES = {
  redis: 'redis:7.0',
  haproxy: 'haproxy:2.6',
  // A release, not :latest: what runs is what was read and tested.
  redisinsight: 'redis/redisinsight:2.70.1',
  app: 'redis-ha-stack',
} as const;

/** Secrets come from the environment of `docker compose`; compose refuses to start without them. */
export const SECRET_VARIABLES = {
  // One password per Redis ACL user (render/acl.ts) and the Sentinels' own.
  // biome-ignore lint/suspicious/noTemplateCurlyInString: compose variables, not templates
  REDIS_APP_PASSWORD: '${REDIS_APP_PASSWORD:?set REDIS_APP_PASSWORD, see README}',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: compose variables, not templates
  REDIS_REPLICATION_PASSWORD: '${REDIS_REPLICATION_PASSWORD:?set REDIS_REPLICATION_PASSWORD, see README}',
  REDIS_SENTINEL_USER_PASSWORD:
    // biome-ignore lint/suspicious/noTemplateCurlyInString: compose variables, not templates
    '${REDIS_SENTINEL_USER_PASSWORD:?set REDIS_SENTINEL_USER_PASSWORD, see README}',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: compose variables, not templates
  REDIS_OPERATOR_PASSWORD: '${REDIS_OPERATOR_PASSWORD:?set REDIS_OPERATOR_PASSWORD, see README}',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: compose variables, not templates
  REDIS_HAPROXY_PASSWORD: '${REDIS_HAPROXY_PASSWORD:?set REDIS_HAPROXY_PASSWORD, see README}',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: compose variables, not templates
  SENTINEL_PASSWORD: '${SENTINEL_PASSWORD:?set SENTINEL_PASSWORD, see README}',
  // The Sentinels' read-only user (render/acl.ts, SENTINEL_READER): what the apps log in to them as.
  SENTINEL_READER_PASSWORD:
    // biome-ignore lint/suspicious/noTemplateCurlyInString: compose variables, not templates
    '${SENTINEL_READER_PASSWORD:?set SENTINEL_READER_PASSWORD, see README}',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: compose variables, not templates
  SESSION_SECRET: '${SESSION_SECRET:?set SESSION_SECRET to 32 or more random characters, see README}',
  HAPROXY_OPERATOR_PASSWORD:
    // biome-ignore lint/suspicious/noTemplateCurlyInString: compose variables, not templates
    '${HAPROXY_OPERATOR_PASSWORD:?set HAPROXY_OPERATOR_PASSWORD to 32 or more random characters, see README}',
} as const;

/** The variable of each Redis ACL user's password. */
export const USER_PASSWORD_VARIABLES = {
  app: 'REDIS_APP_PASSWORD',
  replication: 'REDIS_REPLICATION_PASSWORD',
  sentinel: 'REDIS_SENTINEL_USER_PASSWORD',
  operator: 'REDIS_OPERATOR_PASSWORD',
  haproxy: 'REDIS_HAPROXY_PASSWORD',
} as const satisfies Record<RedisUser, keyof typeof SECRET_VARIABLES>;

/** Every node's maxmemory, `REDIS_MAXMEMORY` (default: the topology's). */
export const MAX_MEMORY_VARIABLE = 'REDIS_MAXMEMORY';

/** The per-address connection limit of HAProxy's HTTP fronts, which HAProxy reads at start. */
export const CONNECTIONS_VARIABLE = 'HAPROXY_CONNECTIONS_PER_ADDRESS';

/**
 * A fixed address for HAProxy, so the apps believe `X-Forwarded-For` from it and from nobody else.
 * Both can be moved when the subnet collides with a network of the host.
 */
export const NETWORK = {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: compose variables, not templates
  subnet: '${STACK_SUBNET:-10.56.0.0/24}',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: compose variables, not templates
  haproxyAddress: '${HAPROXY_ADDRESS:-10.56.0.80}',
} as const;

export const GENERATED_HEADER =
  '# GENERATED from src/ops by `npm run ha-stack -- render --target compose --out deploy/`; do not edit.\n' +
  '# test/unit/deploy.test.ts fails when this file differs from what the renderers produce.\n';
