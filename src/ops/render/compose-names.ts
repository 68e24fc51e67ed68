import { HAPROXY_PORTS } from '../topology.ts';
import type { RedisUser } from './acl.ts';
import type { YamlValue } from './yaml.ts';

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
  // The monitoring profile (compose-monitoring.ts), behind basic auth, on the loopback only.
  prometheus: 9090,
  alertmanager: 9093,
} as const;

/** Where the operator front, the Redis front and RedisInsight are published: the host itself only. */
export const PRIVATE_HOST = '127.0.0.1';

/** The compose profile of the optional tools (RedisInsight): `docker compose --profile tools up`. */
export const TOOLS_PROFILE = 'tools';

/** The non-root user each image runs its process as (each official image has its own). */
export const USERS = {
  redis: 'valkey',
  haproxy: 'haproxy',
  app: 'node',
  redisinsight: 'node',
  // redis_exporter's image has no user database: the number its Dockerfile names.
  exporter: '59000:59000',
  prometheus: 'nobody',
} as const;

/**
 * The images compose and the Kubernetes base run. Redis and Sentinel run Valkey 8.0, a maintained
 * Redis-compatible release under the BSD licence (Redis 7.0, which local mode runs from Debian, is
 * past its end of life upstream): it reads the same redis.conf directives, loads Redis 7.0's RDB and
 * AOF files, speaks the same protocol and Sentinel API, and each 8.0.x brings its security fixes
 * (CVE-2024-46981 and CVE-2025-49844 among them). `8.0` follows those patch releases; the digest
 * below fixes one of them.
 */
export const IMAGES = {
  redis: 'valkey/valkey:8.0',
  haproxy: 'haproxy:2.6',
  // A release, not :latest: what runs is what was read and tested.
  redisinsight: 'redis/redisinsight:2.70.1',
  // The monitoring profile: the exporter release local mode runs (Debian's 1.45), Prometheus's
  // long-term-support release and its Alertmanager.
  exporter: 'oliver006/redis_exporter:v1.45.0',
  prometheus: 'prom/prometheus:v2.53.4',
  alertmanager: 'prom/alertmanager:v0.27.0',
  app: 'redis-ha-stack',
} as const;

/**
 * PIN HERE: the digest of each image above, `sha256:<64 hex>`, once read from a registry
 * (`docker pull valkey/valkey:8.0 && docker image inspect --format '{{index .RepoDigests 0}}'
 * valkey/valkey:8.0`, see docs/compose.md, "Images"). With a digest the files say `tag@digest` and
 * Docker runs that exact image. None is set yet: the files were rendered where no registry could be
 * reached. The app's image is built from the Dockerfile and has none.
 */
export const IMAGE_DIGESTS: { readonly [K in Exclude<keyof typeof IMAGES, 'app'>]: string } = {
  redis: '',
  haproxy: '',
  redisinsight: '',
  exporter: '',
  prometheus: '',
  alertmanager: '',
};

/** The image reference the files carry: the tag, and its digest once pinned. */
export function imageRef(name: keyof typeof IMAGES): string {
  const digest = name === 'app' ? '' : IMAGE_DIGESTS[name];
  if (digest && !/^sha256:[0-9a-f]{64}$/.test(digest)) throw new Error(`not a digest for ${name}: ${digest}`);
  return digest ? `${IMAGES[name]}@${digest}` : IMAGES[name];
}

/** The programs of the Redis image (IMAGES.redis): the server, Sentinel and the command-line client. */
export const REDIS_PROGRAMS = {
  server: 'valkey-server',
  sentinel: 'valkey-sentinel',
  cli: 'valkey-cli',
} as const;

/**
 * What every container gets: no capability (each starts as its non-root user directly, so none
 * needs CHOWN, SETUID or SETGID, and no port below 1024 is bound inside a container), a read-only
 * root file system (the volumes and a small /tmp are the only places it can write), and no way to
 * gain privileges through a set-user-ID program.
 */
export const HARDENING = {
  cap_drop: ['ALL'],
  read_only: true,
  security_opt: ['no-new-privileges:true'],
  tmpfs: ['/tmp:size=16m,mode=1777'],
} satisfies { [key: string]: YamlValue };

/**
 * Memory, CPU and process limits of each kind of service (docker-compose 1.29 and `docker compose`
 * both apply `mem_limit`, `cpus` and `pids_limit` without swarm). The same as the Kubernetes limits
 * where both run the service: Redis's maxmemory (256mb by default) stays well under its limit, as
 * replication buffers and the fork of an AOF rewrite need room above it.
 */
export const LIMITS = {
  redis: { mem_limit: '768m', cpus: 1, pids_limit: 256 },
  sentinel: { mem_limit: '128m', cpus: 0.5, pids_limit: 128 },
  app: { mem_limit: '512m', cpus: 1, pids_limit: 256 },
  haproxy: { mem_limit: '256m', cpus: 1, pids_limit: 256 },
  redisinsight: { mem_limit: '512m', cpus: 1, pids_limit: 256 },
  // A restore loads the backup in a scratch server inside its container: room for the data set, as Redis.
  backup: { mem_limit: '768m', cpus: 1, pids_limit: 64 },
  exporter: { mem_limit: '128m', cpus: 0.5, pids_limit: 64 },
  prometheus: { mem_limit: '512m', cpus: 1, pids_limit: 128 },
  alertmanager: { mem_limit: '128m', cpus: 0.5, pids_limit: 64 },
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
  REDIS_EXPORTER_PASSWORD: '${REDIS_EXPORTER_PASSWORD:?set REDIS_EXPORTER_PASSWORD, see README}',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: compose variables, not templates
  REDIS_BACKUP_PASSWORD: '${REDIS_BACKUP_PASSWORD:?set REDIS_BACKUP_PASSWORD, see README}',
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
  exporter: 'REDIS_EXPORTER_PASSWORD',
  backup: 'REDIS_BACKUP_PASSWORD',
} as const satisfies Record<RedisUser, keyof typeof SECRET_VARIABLES>;

/** Every node's maxmemory, `REDIS_MAXMEMORY` (default: the topology's). */
export const MAX_MEMORY_VARIABLE = 'REDIS_MAXMEMORY';

/** The per-address connection limit of HAProxy's HTTP fronts, which HAProxy reads at start. */
export const CONNECTIONS_VARIABLE = 'HAPROXY_CONNECTIONS_PER_ADDRESS';

export const GENERATED_HEADER =
  '# GENERATED from src/ops by `npm run ha-stack -- render --target compose --out deploy/`; do not edit.\n' +
  '# test/unit/deploy.test.ts fails when this file differs from what the renderers produce.\n';

// The stack's network and its fixed addresses, with the other names.
export * from './compose-network.ts';
