import {
  type AppNode,
  appEnvironment,
  defineTopology,
  initialMaster,
  nodeNames,
  type RedisNode,
  type SentinelNode,
  type Topology,
  type TopologyCounts,
} from '../topology.ts';
import { type RedisUser, SENTINEL_READER, userArguments } from './acl.ts';
import { renderMonitoringFiles } from './compose-monitoring.ts';
import {
  COMPOSE_PORTS,
  CONNECTIONS_VARIABLE,
  composeService,
  GENERATED_HEADER,
  HARDENING,
  imageRef,
  LIMITS,
  MAX_MEMORY_VARIABLE,
  PRIVATE_HOST,
  PUBLISHED_PORTS,
  REDIS_PROGRAMS,
  SECRET_VARIABLES,
  USER_PASSWORD_VARIABLES,
  USERS,
} from './compose-names.ts';
import { NETWORK, withAddresses } from './compose-network.ts';
import { PROFILE_VOLUMES, profileServices, withProfileNotes } from './compose-profiles.ts';
import { renderComposeTlsFiles } from './compose-tls.ts';
import { DEFAULT_CONNECTIONS_PER_ADDRESS, renderHaproxyCfg } from './haproxy.ts';
import { renderRedisConf } from './redis.ts';
import { toYaml, type YamlValue } from './yaml.ts';

export * from './compose-names.ts';

/** The topology as compose runs it: each node by its service name, Redis and Sentinel on their standard ports. */
export function composeTopology(counts: Partial<TopologyCounts> = {}): Topology {
  const shape = defineTopology({ counts });
  const hosts = Object.fromEntries(nodeNames(shape).map((n) => [n, composeService(n)]));
  const ports = Object.fromEntries([
    ...shape.redis.map((r) => [r.name, COMPOSE_PORTS.redis]),
    ...shape.sentinels.map((s) => [s.name, COMPOSE_PORTS.sentinel]),
  ]);
  return defineTopology({ counts, hosts, ports });
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
  const cli = `${REDIS_PROGRAMS.cli} --user haproxy -p ${node.port}`;
  const check =
    node === master
      ? `${cli} ping | grep -q PONG`
      : `${cli} info replication | grep -Eq 'role:master|master_link_status:up'`;
  return {
    image: imageRef('redis'),
    restart: 'unless-stopped',
    user: USERS.redis,
    ...HARDENING,
    ...LIMITS.redis,
    // The ACL users reach redis-server on its command line, never a file (Redis hides its arguments
    // from the process list). The command names each password by its variable; the entrypoint
    // refuses a missing or weak one and fills it in. valkey-cli in the health check reads REDISCLI_AUTH.
    entrypoint: ['sh', REDIS_ENTRYPOINT],
    command: [
      REDIS_PROGRAMS.server,
      REDIS_CONF,
      '--maxmemory',
      `\${${MAX_MEMORY_VARIABLE}:-${t.maxMemory}}`,
      '--masterauth',
      passwords.replication,
      ...userArguments(passwords),
    ],
    environment: {
      ...Object.fromEntries(Object.values(USER_PASSWORD_VARIABLES).map((v) => [v, SECRET_VARIABLES[v]])),
      // A restarted node asks the Sentinels for the master first (deploy/scripts/redis-entrypoint.sh).
      REDIS_SENTINELS: t.sentinels.map((x) => `${x.host}:${x.port}`).join(','),
      MASTER_NAME: t.masterName,
      REDIS_ANNOUNCE_HOST: node.host,
      // How long a failover can take: a node the Sentinels name waits that long before it is master.
      SENTINEL_DOWN_AFTER: `\${SENTINEL_DOWN_AFTER:-${t.downAfterMs}}`,
      SENTINEL_FAILOVER: `\${SENTINEL_FAILOVER:-${t.failoverTimeoutMs}}`,
      SENTINEL_PASSWORD: SECRET_VARIABLES.SENTINEL_PASSWORD,
      REDISCLI_AUTH: SECRET_VARIABLES.REDIS_HAPROXY_PASSWORD,
    },
    volumes: [
      `./redis/${node.host}.conf:${REDIS_CONF}:ro`,
      `./scripts/redis-entrypoint.sh:${REDIS_ENTRYPOINT}:ro`,
      `./scripts/passwords.sh:${PASSWORDS_SCRIPT}:ro`,
      `${node.host}-data:/data`,
    ],
    ...(node === master ? {} : { depends_on: healthy([master.host]) }),
    healthcheck: healthcheck(check),
  };
}

function sentinelService(t: Topology, s: SentinelNode): YamlValue {
  const master = initialMaster(t);
  return {
    image: imageRef('redis'),
    restart: 'unless-stopped',
    user: USERS.redis,
    ...HARDENING,
    ...LIMITS.sentinel,
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
      SENTINEL_READER_PASSWORD: SECRET_VARIABLES.SENTINEL_READER_PASSWORD,
      // For valkey-cli in the health check.
      REDISCLI_AUTH: SECRET_VARIABLES.SENTINEL_PASSWORD,
    },
    // The config lives on the volume: Sentinel rewrites it with what it learns, and a restart keeps it.
    volumes: [
      `./scripts/sentinel-entrypoint.sh:${ENTRYPOINT}:ro`,
      `./scripts/passwords.sh:${PASSWORDS_SCRIPT}:ro`,
      `${s.host}-data:/data`,
    ],
    depends_on: healthy(t.redis.map((r) => r.host)),
    // Healthy when this Sentinel knows the master and enough Sentinels to authorise a failover.
    healthcheck: healthcheck(
      `${REDIS_PROGRAMS.cli} -p ${s.port} sentinel ckquorum ${t.masterName} | grep -q OK`,
      '10s',
    ),
  };
}

function appService(t: Topology, app: AppNode): YamlValue {
  return {
    build: { context: '..', dockerfile: 'Dockerfile' },
    image: imageRef('app'),
    restart: 'unless-stopped',
    environment: {
      ...appEnvironment(t, app, {
        listen: '0.0.0.0',
        password: SECRET_VARIABLES.REDIS_APP_PASSWORD,
        sentinelPassword: SECRET_VARIABLES.SENTINEL_READER_PASSWORD,
        sessionSecret: SECRET_VARIABLES.SESSION_SECRET,
        trustProxy: NETWORK.haproxyAddress,
        // HAProxy starts after the apps: until it answers, the topology page says its stats are unavailable.
        statsUrl: `http://${t.haproxy.host}:${t.haproxy.statsPort}/stats`,
      }),
      HAPROXY_OPERATOR_PASSWORD: SECRET_VARIABLES.HAPROXY_OPERATOR_PASSWORD,
    },
    user: USERS.app,
    ...HARDENING,
    ...LIMITS.app,
    depends_on: {
      ...healthy(t.sentinels.map((s) => s.host)),
      // The Redis functions its stores call: without them registration and login answer 503.
      [FUNCTIONS_SERVICE]: { condition: 'service_completed_successfully' },
    },
    // SIGTERM drains (/readyz 503, SHUTDOWN_DRAIN_MS) then waits for in-flight requests (SHUTDOWN_GRACE_MS).
    stop_grace_period: '15s',
    // The health check is the image's (GET /healthz).
  };
}

/** The one-shot service that loads the app's Redis functions on the master, as the operator. */
export const FUNCTIONS_SERVICE = 'functions';
/**
 * The stack's functions step (src/app/load-functions.ts): the app's image, run once at each
 * `compose up` with the operator's password, which no app container gets. The library replicates
 * and is kept in the AOF, so a promoted replica has it.
 */
function functionsService(t: Topology): YamlValue {
  return {
    build: { context: '..', dockerfile: 'Dockerfile' },
    image: imageRef('app'),
    command: ['node', 'dist/app/load-functions.js'],
    restart: 'on-failure',
    environment: {
      REDIS_SENTINELS: t.sentinels.map((s) => `${s.host}:${s.port}`).join(','),
      REDIS_MASTER_NAME: t.masterName,
      REDIS_USERNAME: 'operator',
      REDIS_PASSWORD: SECRET_VARIABLES.REDIS_OPERATOR_PASSWORD,
      REDIS_SENTINEL_USERNAME: SENTINEL_READER,
      REDIS_SENTINEL_PASSWORD: SECRET_VARIABLES.SENTINEL_READER_PASSWORD,
    },
    user: USERS.app,
    ...HARDENING,
    ...LIMITS.app,
    depends_on: healthy(t.sentinels.map((s) => s.host)),
  };
}

function haproxyService(t: Topology): YamlValue {
  const h = t.haproxy;
  return {
    image: imageRef('haproxy'),
    restart: 'unless-stopped',
    user: USERS.haproxy,
    ...HARDENING,
    ...LIMITS.haproxy,
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

export function composeDocument(t: Topology = composeTopology()): { [key: string]: YamlValue } {
  const services: { [name: string]: YamlValue } = {};
  for (const r of t.redis) services[r.host] = redisService(t, r);
  for (const s of t.sentinels) services[s.host] = sentinelService(t, s);
  services[FUNCTIONS_SERVICE] = functionsService(t);
  for (const a of t.apps) services[a.host] = appService(t, a);
  services[t.haproxy.host] = haproxyService(t);
  // The services of a profile (compose-profiles.ts): none starts with a plain `up`.
  Object.assign(services, profileServices(t));
  const volumes = [...t.redis, ...t.sentinels].map((n) => `${n.host}-data`).concat(PROFILE_VOLUMES);
  const placed = withAddresses(t, services);
  return {
    services: placed.services,
    networks: placed.networks,
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
    'compose.yaml': withProfileNotes(toYaml(composeDocument(t))),
    'haproxy/haproxy.cfg': renderHaproxyCfg(t, {
      target: 'compose',
      password: { env: USER_PASSWORD_VARIABLES.haproxy },
      operatorPassword: { env: 'HAPROXY_OPERATOR_PASSWORD' },
      connectionsPerAddress: { env: CONNECTIONS_VARIABLE, default: DEFAULT_CONNECTIONS_PER_ADDRESS },
    }),
  };
  Object.assign(files, renderMonitoringFiles(t), renderComposeTlsFiles(t));
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
