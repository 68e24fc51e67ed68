import {
  type AppNode,
  appEnvironment,
  DEFAULT_PORTS,
  defineTopology,
  initialMaster,
  type PortName,
  type RedisNode,
  type SentinelNode,
  type Topology,
} from '../topology.ts';
import { type RedisUser, userArguments } from './acl.ts';
import { DEFAULT_CONNECTIONS_PER_ADDRESS, renderHaproxyCfg } from './haproxy.ts';
import { renderRedisConf } from './redis.ts';
import { toYaml, type YamlValue } from './yaml.ts';

/** The compose service of each node of the topology; the service name is also its host name. */
export const COMPOSE_SERVICES = {
  'redis-1': 'redis-master',
  'redis-2': 'redis-replica-1',
  'redis-3': 'redis-replica-2',
  'sentinel-1': 'redis-sentinel-1',
  'sentinel-2': 'redis-sentinel-2',
  'sentinel-3': 'redis-sentinel-3',
  'app-1': 'app-1',
  'app-2': 'app-2',
  haproxy: 'haproxy',
} as const;

/**
 * Every container has its own address, so Redis and Sentinel listen on their standard ports there;
 * the apps and HAProxy keep the ports of local mode.
 */
export const COMPOSE_PORTS: Partial<Record<PortName, number>> = {
  'redis-1': 6379,
  'redis-2': 6379,
  'redis-3': 6379,
  'sentinel-1': 26379,
  'sentinel-2': 26379,
  'sentinel-3': 26379,
};

/**
 * Host ports compose publishes. HAProxy's HTTP front is the one that differs from local mode: port 80
 * on the host (8080 inside the container, so HAProxy needs no privilege to bind it). Only the site is
 * published on every interface; the others on the host's loopback (PRIVATE_HOST) only.
 */
export const PUBLISHED_PORTS = {
  'haproxy-http': 80,
  'haproxy-stats': DEFAULT_PORTS['haproxy-stats'],
  'haproxy-redis': DEFAULT_PORTS['haproxy-redis'],
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
  '# GENERATED from src/stack by `npm run ha-stack -- render --target compose --out deploy/`; do not edit.\n' +
  '# test/unit/deploy.test.ts fails when this file differs from what the renderers produce.\n';

export function composeTopology(): Topology {
  return defineTopology({ hosts: COMPOSE_SERVICES, ports: COMPOSE_PORTS });
}

const REDIS_CONF = '/usr/local/etc/redis/redis.conf';
const HAPROXY_CFG = '/usr/local/etc/haproxy/haproxy.cfg';
const ENTRYPOINT = '/usr/local/bin/sentinel-entrypoint.sh';
const REDIS_ENTRYPOINT = '/usr/local/bin/redis-entrypoint.sh';
/** The password checks both entrypoints source, beside them. */
const PASSWORDS_SCRIPT = '/usr/local/bin/passwords.sh';

const healthy = (services: string[]) =>
  Object.fromEntries(services.map((s) => [s, { condition: 'service_healthy' }]));

const healthcheck = (test: string[] | string, startPeriod = '5s'): YamlValue => ({
  test: typeof test === 'string' ? ['CMD-SHELL', test] : test,
  interval: '2s',
  timeout: '2s',
  retries: 15,
  start_period: startPeriod,
});

function redisService(t: Topology, node: RedisNode): YamlValue {
  const master = initialMaster(t);
  // `$$` reaches the container as `$`: the entrypoint puts each checked password in its place.
  const passwords = Object.fromEntries(
    Object.entries(USER_PASSWORD_VARIABLES).map(([user, variable]) => [user, `$$${variable}`]),
  ) as Record<RedisUser, string>;
  // A replica is healthy once it has synced; after a failover any node may be the master. The
  // check logs in as the haproxy user, which may PING and read INFO and nothing else.
  const cli = `redis-cli --user haproxy -p ${node.port}`;
  const check =
    node === master
      ? `${cli} ping | grep -q PONG`
      : `${cli} info replication | grep -Eq 'role:master|master_link_status:up'`;
  return {
    image: IMAGES.redis,
    restart: 'unless-stopped',
    user: USERS.redis,
    // The ACL users reach redis-server on its command line, never a file (Redis hides its arguments
    // from the process list). The command names each password by its variable; the entrypoint
    // refuses a missing or weak one and fills it in. redis-cli in the health check reads REDISCLI_AUTH.
    entrypoint: ['sh', REDIS_ENTRYPOINT],
    command: [
      'redis-server',
      REDIS_CONF,
      '--maxmemory',
      `\${${MAX_MEMORY_VARIABLE}:-${t.maxMemory}}`,
      '--masterauth',
      passwords.replication,
      ...userArguments(passwords),
    ],
    environment: {
      ...Object.fromEntries(Object.values(USER_PASSWORD_VARIABLES).map((v) => [v, SECRET_VARIABLES[v]])),
      REDISCLI_AUTH: SECRET_VARIABLES.REDIS_HAPROXY_PASSWORD,
    },
    volumes: [
      `./redis/${node.host}.conf:${REDIS_CONF}:ro`,
      `./redis-entrypoint.sh:${REDIS_ENTRYPOINT}:ro`,
      `./passwords.sh:${PASSWORDS_SCRIPT}:ro`,
      `${node.host}-data:/data`,
    ],
    ...(node === master ? {} : { depends_on: healthy([master.host]) }),
    healthcheck: healthcheck(check),
  };
}

function sentinelService(t: Topology, s: SentinelNode): YamlValue {
  const master = initialMaster(t);
  return {
    image: IMAGES.redis,
    restart: 'unless-stopped',
    user: 'redis',
    entrypoint: ['sh', ENTRYPOINT],
    environment: {
      SENTINEL_QUORUM: `\${SENTINEL_QUORUM:-${t.quorum}}`,
      SENTINEL_DOWN_AFTER: `\${SENTINEL_DOWN_AFTER:-${t.downAfterMs}}`,
      SENTINEL_FAILOVER: `\${SENTINEL_FAILOVER:-${t.failoverTimeoutMs}}`,
      MASTER_NAME: t.masterName,
      MASTER_HOST: master.host,
      MASTER_PORT: String(master.port),
      SENTINEL_PORT: String(s.port),
      SENTINEL_ANNOUNCE_HOST: s.host,
      SENTINEL_DIR: '/data',
      REDIS_SENTINEL_USER_PASSWORD: SECRET_VARIABLES.REDIS_SENTINEL_USER_PASSWORD,
      SENTINEL_PASSWORD: SECRET_VARIABLES.SENTINEL_PASSWORD,
      // For redis-cli in the health check.
      REDISCLI_AUTH: SECRET_VARIABLES.SENTINEL_PASSWORD,
    },
    // The config lives on the volume: Sentinel rewrites it with what it learns, and a restart keeps it.
    volumes: [
      `./sentinel-entrypoint.sh:${ENTRYPOINT}:ro`,
      `./passwords.sh:${PASSWORDS_SCRIPT}:ro`,
      `${s.host}-data:/data`,
    ],
    depends_on: healthy(t.redis.map((r) => r.host)),
    // Healthy when this Sentinel knows the master and enough Sentinels to authorise a failover.
    healthcheck: healthcheck(`redis-cli -p ${s.port} sentinel ckquorum ${t.masterName} | grep -q OK`, '10s'),
  };
}

function appService(t: Topology, app: AppNode): YamlValue {
  return {
    build: { context: '..', dockerfile: 'Dockerfile' },
    image: IMAGES.app,
    restart: 'unless-stopped',
    environment: {
      ...appEnvironment(t, app, {
        listen: '0.0.0.0',
        password: SECRET_VARIABLES.REDIS_APP_PASSWORD,
        sentinelPassword: SECRET_VARIABLES.SENTINEL_PASSWORD,
        sessionSecret: SECRET_VARIABLES.SESSION_SECRET,
        trustProxy: NETWORK.haproxyAddress,
        // HAProxy starts after the apps: until it answers, the topology page says its stats are unavailable.
        statsUrl: `http://${t.haproxy.host}:${t.haproxy.statsPort}/stats`,
      }),
      HAPROXY_OPERATOR_PASSWORD: SECRET_VARIABLES.HAPROXY_OPERATOR_PASSWORD,
    },
    user: USERS.app,
    depends_on: healthy(t.sentinels.map((s) => s.host)),
    // SIGTERM drains (/readyz 503, SHUTDOWN_DRAIN_MS) then waits for in-flight requests (SHUTDOWN_GRACE_MS).
    stop_grace_period: '15s',
    // The health check is the image's (GET /healthz).
  };
}

function haproxyService(t: Topology): YamlValue {
  const h = t.haproxy;
  return {
    image: IMAGES.haproxy,
    restart: 'unless-stopped',
    user: USERS.haproxy,
    volumes: [`./haproxy/haproxy.cfg:${HAPROXY_CFG}:ro`],
    // haproxy.cfg reads "${REDIS_HAPROXY_PASSWORD}" for the check of the Redis master.
    environment: {
      REDIS_HAPROXY_PASSWORD: SECRET_VARIABLES.REDIS_HAPROXY_PASSWORD,
      HAPROXY_OPERATOR_PASSWORD: SECRET_VARIABLES.HAPROXY_OPERATOR_PASSWORD,
      [CONNECTIONS_VARIABLE]: `\${${CONNECTIONS_VARIABLE}:-${DEFAULT_CONNECTIONS_PER_ADDRESS}}`,
    },
    // Only the site faces the network; the operator front and the Redis front stay on the host.
    ports: [
      `${PUBLISHED_PORTS['haproxy-http']}:${h.httpPort}`,
      `${PRIVATE_HOST}:${PUBLISHED_PORTS['haproxy-stats']}:${h.statsPort}`,
      `${PRIVATE_HOST}:${PUBLISHED_PORTS['haproxy-redis']}:${h.redisPort}`,
    ],
    networks: { default: { ipv4_address: NETWORK.haproxyAddress } },
    depends_on: healthy([...t.apps.map((a) => a.host), ...t.redis.map((r) => r.host)]),
    // The image has no HTTP client; bash's /dev/tcp asks the stats page for its CSV, as the
    // operator (`$$`: a `$` compose leaves to the shell).
    healthcheck: healthcheck([
      'CMD',
      'bash',
      '-c',
      `exec 3<>/dev/tcp/127.0.0.1/${h.statsPort} && ` +
        `printf 'GET /stats;csv HTTP/1.0\\r\\nAuthorization: Basic %s\\r\\n\\r\\n' "$$(printf 'operator:%s' "$$HAPROXY_OPERATOR_PASSWORD" | base64 -w0)" >&3 && ` +
        `grep -q '^apps,BACKEND' <&3`,
    ]),
  };
}

function redisinsightService(t: Topology): YamlValue {
  const port = PUBLISHED_PORTS.redisinsight;
  return {
    image: IMAGES.redisinsight,
    // Started only when asked for: `docker compose --profile tools up -d`.
    profiles: [TOOLS_PROFILE],
    restart: 'unless-stopped',
    user: USERS.redisinsight,
    ports: [`${PRIVATE_HOST}:${port}:${port}`],
    volumes: ['redisinsight-data:/data'],
    depends_on: healthy(t.sentinels.map((s) => s.host)),
  };
}

export function composeDocument(t: Topology = composeTopology()): { [key: string]: YamlValue } {
  const services: { [name: string]: YamlValue } = {};
  for (const r of t.redis) services[r.host] = redisService(t, r);
  for (const s of t.sentinels) services[s.host] = sentinelService(t, s);
  services['redisinsight'] = redisinsightService(t);
  for (const a of t.apps) services[a.host] = appService(t, a);
  services[t.haproxy.host] = haproxyService(t);
  const volumes = [...t.redis, ...t.sentinels].map((n) => `${n.host}-data`).concat('redisinsight-data');
  return {
    services,
    networks: { default: { ipam: { config: [{ subnet: NETWORK.subnet }] } } },
    volumes: Object.fromEntries(volumes.map((v) => [v, {}])),
  };
}

/**
 * Every generated file of deploy/, by path relative to it. The Sentinel config is not among them: the
 * entrypoint writes it at first start from the environment (test/deploy.test.ts checks it equals
 * renderSentinelConf's output for compose).
 */
export function renderComposeFiles(t: Topology = composeTopology()): Record<string, string> {
  const files: Record<string, string> = {
    'compose.yaml': toYaml(composeDocument(t)),
    'haproxy/haproxy.cfg': renderHaproxyCfg(t, {
      target: 'compose',
      password: { env: USER_PASSWORD_VARIABLES.haproxy },
      operatorPassword: { env: 'HAPROXY_OPERATOR_PASSWORD' },
      connectionsPerAddress: { env: CONNECTIONS_VARIABLE, default: DEFAULT_CONNECTIONS_PER_ADDRESS },
    }),
  };
  for (const node of t.redis) {
    // No user and no password here: they come on the command line from the environment.
    files[`redis/${node.host}.conf`] = renderRedisConf(t, node, {
      dir: '/data',
      users: undefined,
      announceHostname: true,
    });
  }
  return Object.fromEntries(Object.entries(files).map(([path, text]) => [path, GENERATED_HEADER + text]));
}
