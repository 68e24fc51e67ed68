import { appEnvironment, type Topology } from '../topology.ts';
import { SENTINEL_READER } from './acl.ts';
import {
  APP_GRACE_SECONDS,
  APP_STOP,
  appReplicas,
  K8S_IMAGES,
  labels,
  NAMES,
  type Obj,
  PORTS,
  selector,
  UIDS,
} from './kubernetes-names.ts';
import {
  containerSecurity,
  env,
  metadata,
  podBase,
  podIdentity,
  probeTiming,
  resources,
  secretEnv,
  tmpMount,
  tmpVolume,
} from './kubernetes-pod.ts';

// The web app: a Deployment behind a Service, scaled by a HorizontalPodAutoscaler. No HAProxy in
// front of it: the Service (and an Ingress) balance over the ready pods, and /readyz decides who is
// ready, which is what HAProxy's checks did in compose.

/**
 * The addresses whose X-Forwarded-For the app believes: the cluster's private ranges, where the
 * Ingress controller's pods get their addresses (pod addresses are not known in advance). The app's
 * NetworkPolicy lets in the controller's pods alone (kubernetes-policy.ts, FRONT; components/monitoring
 * adds Prometheus's, to /metrics' port), so no other pod can connect from these ranges; narrow them
 * to the controller's pod range where that is known.
 */
export const TRUST_PROXY = '10.0.0.0/8,172.16.0.0/12,192.168.0.0/16';

/** The variables of appEnvironment that hold a secret, by the Secret key each comes from. */
const SECRET_SOURCES = {
  REDIS_PASSWORD: 'REDIS_APP_PASSWORD',
  // The Sentinels' read-only user (REDIS_SENTINEL_USERNAME): never their own password.
  REDIS_SENTINEL_PASSWORD: 'SENTINEL_READER_PASSWORD',
  SESSION_SECRET: 'SESSION_SECRET',
} as const;

function appContainer(t: Topology): Obj {
  const plain = appEnvironment(t, t.apps[0]!, {
    listen: '0.0.0.0',
    password: '',
    sentinelPassword: '',
    sessionSecret: '',
    trustProxy: TRUST_PROXY,
  });
  const values = Object.entries(plain)
    .filter(([k]) => !(k in SECRET_SOURCES))
    .map(([k, v]) => env(k, k === 'INSTANCE_ID' ? '$(POD_NAME)' : v));
  const http = (path: string) => ({ httpGet: { path, port: 'http' } });
  return {
    name: 'app',
    image: K8S_IMAGES.app,
    env: [
      ...podIdentity,
      ...values,
      ...Object.entries(SECRET_SOURCES).map(([as, key]) => secretEnv(key, as)),
      // /metrics, /topology and /api/topology answer only to this password (user operator).
      secretEnv('HAPROXY_OPERATOR_PASSWORD'),
      env('SHUTDOWN_DRAIN_MS', String(APP_STOP.drainMs)),
      env('SHUTDOWN_GRACE_MS', String(APP_STOP.graceMs)),
    ],
    ports: [{ name: 'http', containerPort: PORTS.app }],
    // One failed check takes a pod out at once: on SIGTERM /readyz answers 503 for the drain.
    readinessProbe: { ...http('/readyz'), ...probeTiming(2, 1), successThreshold: 1 },
    // /healthz answers while the process serves, Redis or not: only a stuck process is restarted.
    livenessProbe: { ...http('/healthz'), ...probeTiming(10, 3, 10) },
    lifecycle: {
      // The Endpoints still list a stopping pod for a moment on every node: keep serving meanwhile,
      // then SIGTERM starts the app's own drain.
      preStop: { exec: { command: ['sleep', String(APP_STOP.preStopSleepS)] } },
    },
    resources: resources('250m', '192Mi', '1', '512Mi'),
    securityContext: containerSecurity,
    volumeMounts: [tmpMount],
  };
}

export function appDeployment(t: Topology): Obj {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: metadata(NAMES.app, 'app'),
    spec: {
      // The autoscaler's minimum; it owns the number from then on.
      replicas: appReplicas(t).min,
      selector: { matchLabels: selector('app') },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: { labels: labels('app') },
        spec: {
          ...podBase('app', UIDS.app, APP_GRACE_SECONDS),
          containers: [appContainer(t)],
          volumes: [tmpVolume],
        },
      },
    },
  };
}

export function appService(): Obj {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: metadata(NAMES.app, 'app'),
    spec: {
      type: 'ClusterIP',
      selector: selector('app'),
      ports: [{ name: 'http', port: PORTS.service, targetPort: 'http' }],
    },
  };
}

export function appAutoscaler(t: Topology): Obj {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: metadata(NAMES.app, 'app'),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: NAMES.app },
      minReplicas: appReplicas(t).min,
      maxReplicas: appReplicas(t).max,
      // Password hashing (scrypt) is what saturates an instance first: CPU is the signal.
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
        },
      ],
      behavior: { scaleDown: { stabilizationWindowSeconds: 300 } },
    },
  };
}

/**
 * The stack's functions step (src/app/load-functions.ts): the app's image loads the app's Redis
 * function library on the master as user `operator`, whose password no app pod gets. Removed once
 * done (ttlSecondsAfterFinished), so the next `kubectl apply -k` runs it again with that version's
 * code. The library replicates and is kept in the AOF: a promoted replica has it.
 */
export function functionsJob(t: Topology): Obj {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: metadata(NAMES.functions, 'functions'),
    spec: {
      backoffLimit: 20,
      ttlSecondsAfterFinished: 60,
      template: {
        metadata: { labels: labels('functions') },
        spec: {
          ...podBase('functions', UIDS.app, 10),
          restartPolicy: 'OnFailure',
          containers: [
            {
              name: 'functions',
              image: K8S_IMAGES.app,
              command: ['node', 'dist/app/load-functions.js'],
              env: [
                env('REDIS_SENTINELS', t.sentinels.map((s) => `${s.host}:${s.port}`).join(',')),
                env('REDIS_MASTER_NAME', t.masterName),
                env('REDIS_USERNAME', 'operator'),
                secretEnv('REDIS_OPERATOR_PASSWORD', 'REDIS_PASSWORD'),
                env('REDIS_SENTINEL_USERNAME', SENTINEL_READER),
                secretEnv('SENTINEL_READER_PASSWORD', 'REDIS_SENTINEL_PASSWORD'),
              ],
              resources: resources('50m', '64Mi', '500m', '256Mi'),
              securityContext: containerSecurity,
              volumeMounts: [tmpMount],
            },
          ],
          volumes: [tmpVolume],
        },
      },
    },
  };
}

export const appObjects = (t: Topology): Obj[] => [
  appService(),
  appDeployment(t),
  appAutoscaler(t),
  functionsJob(t),
];

/**
 * Not in the base: a kustomize component with the TLS Ingress below, which also turns on
 * COOKIE_SECURE (`Secure`, `__Host-` cookies) since TLS ends at the controller.
 */
export function tlsIngressComponent(): Obj {
  return {
    apiVersion: 'kustomize.config.k8s.io/v1alpha1',
    kind: 'Component',
    resources: ['ingress.yaml'],
    patches: [
      {
        target: { kind: 'Deployment', name: NAMES.app },
        patch: JSON.stringify([
          {
            op: 'add',
            path: '/spec/template/spec/containers/0/env/-',
            value: { name: 'COOKIE_SECURE', value: 'true' },
          },
        ]),
      },
    ],
  };
}

/** Not in the base: an Ingress needs a controller and a host name of the user's. */
export function ingressExample(): Obj {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: metadata(NAMES.app, 'app'),
    spec: {
      ingressClassName: 'nginx',
      tls: [{ hosts: ['shop.example.com'], secretName: 'shop-example-com-tls' }],
      rules: [
        {
          host: 'shop.example.com',
          http: {
            paths: [
              {
                path: '/',
                pathType: 'Prefix',
                backend: { service: { name: NAMES.app, port: { name: 'http' } } },
              },
            ],
          },
        },
      ],
    },
  };
}
