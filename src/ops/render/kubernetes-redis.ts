import { initialMaster, type Topology } from '../topology.ts';
import { type RedisUser, userArguments } from './acl.ts';
import { REDIS_PROGRAMS, USER_PASSWORD_VARIABLES } from './compose-names.ts';
import {
  CONFIG_MAPS,
  K8S_IMAGES,
  labels,
  NAMES,
  type Obj,
  PORTS,
  PRESTOP,
  REDIS_CONF_DIR,
  REDIS_GRACE_SECONDS,
  SCRIPTS_DIR,
  selector,
  UIDS,
} from './kubernetes-names.ts';
import {
  containerSecurity,
  env,
  execProbe,
  metadata,
  podBase,
  podIdentity,
  probeTiming,
  resources,
  SETTINGS,
  secretEnv,
  settingEnv,
  tmpMount,
  tmpVolume,
} from './kubernetes-pod.ts';

// The Redis and Sentinel StatefulSets, each behind a headless Service that gives every pod a stable
// DNS name: Sentinel announces and resolves those names, never pod IPs, so a pod that comes back with
// a new IP is still the node the Sentinels know.

const sentinelList = (t: Topology) => t.sentinels.map((s) => `${s.host}:${s.port}`).join(',');

/** Headless: no virtual IP, one DNS record per pod, also before it is ready (Sentinels and replicas
 * must resolve a node that is still starting or syncing). */
function headlessService(workload: 'redis' | 'sentinel', port: number): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(NAMES[workload], workload),
    spec: {
      clusterIP: 'None',
      publishNotReadyAddresses: true,
      selector: selector(workload),
      ports: [{ name: workload, port, targetPort: workload }],
    },
  };
}

const scriptsVolume: Obj = {
  name: 'scripts',
  // Read and run by sh, never executed directly: read-only for everyone.
  configMap: { name: CONFIG_MAPS.scripts, defaultMode: 0o444 },
};
const scriptsMount: Obj = { name: 'scripts', mountPath: SCRIPTS_DIR, readOnly: true };
const dataMount: Obj = { name: 'data', mountPath: '/data' };

function claimTemplate(size: string): Obj {
  return {
    metadata: { name: 'data' },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: size } } },
  };
}

function redisContainer(t: Topology): Obj {
  // `$VAR` (no parentheses) reaches the container untouched; redis-entrypoint.sh fills in each
  // password, checked. `$(VAR)` is Kubernetes' own expansion of a variable of the container.
  const passwords = Object.fromEntries(
    Object.entries(USER_PASSWORD_VARIABLES).map(([user, variable]) => [user, `$${variable}`]),
  ) as Record<RedisUser, string>;
  const master = initialMaster(t);
  return {
    name: 'redis',
    image: K8S_IMAGES.redis,
    command: ['sh', `${SCRIPTS_DIR}/redis-pod-start.sh`],
    args: [
      REDIS_PROGRAMS.server,
      `${REDIS_CONF_DIR}/redis.conf`,
      // Replicas and Sentinels know this node by its stable name, never by its pod IP.
      '--replica-announce-ip',
      '$(REDIS_ANNOUNCE_HOST)',
      '--masterauth',
      passwords.replication,
      ...userArguments(passwords),
    ],
    env: [
      ...podIdentity,
      env('REDIS_ANNOUNCE_HOST', `$(POD_NAME).${NAMES.redis}.$(POD_NAMESPACE).svc`),
      env('INITIAL_MASTER_HOST', master.host),
      env('INITIAL_MASTER_PORT', String(master.port)),
      env('REDIS_PORT', String(PORTS.redis)),
      env('REDIS_SENTINELS', sentinelList(t)),
      env('MASTER_NAME', t.masterName),
      ...SETTINGS.map(settingEnv),
      env('PRESTOP_PAUSE_MS', String(PRESTOP.pauseMs)),
      env('PRESTOP_TIMEOUT', String(PRESTOP.timeoutS)),
      ...Object.values(USER_PASSWORD_VARIABLES).map((v) => secretEnv(v)),
      secretEnv('SENTINEL_PASSWORD'),
      // valkey-cli in the probes logs in as the haproxy user: PING and INFO, nothing else.
      secretEnv('REDIS_HAPROXY_PASSWORD', 'REDISCLI_AUTH'),
    ],
    ports: [{ name: 'redis', containerPort: PORTS.redis }],
    // Ready once it serves: a master, or a replica whose link to its master is up. A rolling update
    // waits for that before it stops the next pod.
    readinessProbe: execProbe(
      `${REDIS_PROGRAMS.cli} --no-auth-warning --user haproxy info replication | grep -Eq 'role:master|master_link_status:up'`,
      probeTiming(2, 3),
    ),
    // The start script may wait up to 2 x (down-after + failover) before redis-server runs, and a
    // large AOF answers LOADING for a while: neither is a reason to restart.
    livenessProbe: execProbe(
      `${REDIS_PROGRAMS.cli} --no-auth-warning --user haproxy ping | grep -Eq 'PONG|LOADING'`,
      probeTiming(5, 6, 20),
    ),
    lifecycle: {
      preStop: {
        exec: { command: ['timeout', String(PRESTOP.hookLimitS), 'sh', `${SCRIPTS_DIR}/redis-prestop.sh`] },
      },
    },
    // maxmemory (redis.conf) stays well under the limit: the replication buffers and the AOF
    // rewrite's fork need room above it.
    resources: resources('100m', '384Mi', '1', '768Mi'),
    securityContext: containerSecurity,
    volumeMounts: [
      dataMount,
      scriptsMount,
      { name: 'conf', mountPath: REDIS_CONF_DIR, readOnly: true },
      tmpMount,
    ],
  };
}

export function redisStatefulSet(t: Topology): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: metadata(NAMES.redis, 'redis'),
    spec: {
      serviceName: NAMES.redis,
      replicas: t.redis.length,
      // All pods start together after a full stop; the start script, not the order, decides roles.
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: selector('redis') },
      updateStrategy: { type: 'RollingUpdate' },
      template: {
        metadata: { labels: labels('redis') },
        spec: {
          ...podBase('redis', UIDS.redis, REDIS_GRACE_SECONDS),
          containers: [redisContainer(t)],
          volumes: [scriptsVolume, { name: 'conf', configMap: { name: CONFIG_MAPS.redisConf } }, tmpVolume],
        },
      },
      volumeClaimTemplates: [claimTemplate('1Gi')],
    },
  };
}

/**
 * Before its first start a Sentinel needs the initial master's name to resolve (it refuses a
 * `sentinel monitor` line it cannot resolve): it waits for the pod's DNS record, at most a minute.
 * A Sentinel with a config on its volume starts at once: it knows the current master already.
 */
const SENTINEL_START =
  '[ -s /data/sentinel.conf ] || for i in $(seq 60); do getent hosts "$MASTER_HOST" >/dev/null && break; sleep 1; done; ' +
  `exec sh ${SCRIPTS_DIR}/sentinel-entrypoint.sh`;

function sentinelContainer(t: Topology): Obj {
  const master = initialMaster(t);
  return {
    name: 'sentinel',
    image: K8S_IMAGES.redis,
    command: ['sh', '-c', SENTINEL_START],
    env: [
      ...podIdentity,
      ...SETTINGS.map(settingEnv),
      env('MASTER_NAME', t.masterName),
      env('MASTER_HOST', master.host),
      env('MASTER_PORT', String(master.port)),
      env('SENTINEL_PORT', String(PORTS.sentinel)),
      env('SENTINEL_ANNOUNCE_HOST', `$(POD_NAME).${NAMES.sentinel}.$(POD_NAMESPACE).svc`),
      env('SENTINEL_DIR', '/data'),
      secretEnv('REDIS_SENTINEL_USER_PASSWORD'),
      secretEnv('SENTINEL_PASSWORD'),
      secretEnv('SENTINEL_READER_PASSWORD'),
      secretEnv('SENTINEL_PASSWORD', 'REDISCLI_AUTH'),
    ],
    ports: [{ name: 'sentinel', containerPort: PORTS.sentinel }],
    // Ready when this Sentinel knows the master and enough Sentinels to authorise a failover.
    readinessProbe: execProbe(
      `${REDIS_PROGRAMS.cli} --no-auth-warning -p ${PORTS.sentinel} sentinel ckquorum ${t.masterName} | grep -q OK`,
      probeTiming(2, 3),
    ),
    livenessProbe: execProbe(
      `${REDIS_PROGRAMS.cli} --no-auth-warning -p ${PORTS.sentinel} ping | grep -q PONG`,
      probeTiming(5, 6, 70),
    ),
    resources: resources('50m', '32Mi', '500m', '128Mi'),
    securityContext: containerSecurity,
    volumeMounts: [dataMount, scriptsMount, tmpMount],
  };
}

/**
 * Sentinels in a StatefulSet of their own, not a sidecar of Redis: stopping or losing a Redis pod
 * (the master above all) then takes no Sentinel with it, the Sentinels spread and are disrupted on
 * their own (their own PodDisruptionBudget), and the master's pre-stop never waits on a Sentinel that
 * is stopping in the same pod. Each keeps its config on a volume of its own: what it learned (the
 * current master, the epoch, the other Sentinels) survives a restart.
 */
export function sentinelStatefulSet(t: Topology): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: metadata(NAMES.sentinel, 'sentinel'),
    spec: {
      serviceName: NAMES.sentinel,
      replicas: t.sentinels.length,
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: selector('sentinel') },
      updateStrategy: { type: 'RollingUpdate' },
      template: {
        metadata: { labels: labels('sentinel') },
        spec: {
          ...podBase('sentinel', UIDS.redis, 10),
          containers: [sentinelContainer(t)],
          volumes: [scriptsVolume, tmpVolume],
        },
      },
      volumeClaimTemplates: [claimTemplate('128Mi')],
    },
  };
}

export const redisObjects = (t: Topology): Obj[] => [
  headlessService('redis', PORTS.redis),
  redisStatefulSet(t),
];
export const sentinelObjects = (t: Topology): Obj[] => [
  headlessService('sentinel', PORTS.sentinel),
  sentinelStatefulSet(t),
];
