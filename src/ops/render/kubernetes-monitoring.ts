import { SENTINEL_READER } from './acl.ts';
import { imageRef } from './compose-names.ts';
import { NAMES, type Obj, PART_OF, PORTS, SECRET_NAME, selector } from './kubernetes-names.ts';
import { containerSecurity, metadata, resources, secretEnv } from './kubernetes-pod.ts';

// The opt-in monitoring component (components/monitoring, docs/monitoring.md): a redis_exporter
// beside every Redis node and every Sentinel (a container of the same pod, scraping it on
// localhost), the `metrics` port on their Services, a ServiceMonitor for the Prometheus Operator
// for each and for the apps' /metrics, giving each series the `component` and `node` labels the
// alert rules read, and the NetworkPolicies that let Prometheus in to those ports only.

export const EXPORTER = {
  port: 9121,
  /** redis_exporter's image has no user database: the number its Dockerfile names. */
  uid: 59000,
  image: imageRef('exporter'),
} as const;

/**
 * Who may scrape: the Prometheus of kube-prometheus-stack in namespace `monitoring` (its pods are
 * labelled app.kubernetes.io/name=prometheus). Another Prometheus: change this selector.
 */
export const SCRAPER = {
  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } },
  podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } },
};

/** The exporter container of a Redis or Sentinel pod: the node on localhost, as a read-only user. */
function exporterContainer(workload: 'redis' | 'sentinel'): Obj {
  const redis = workload === 'redis';
  return {
    name: 'exporter',
    image: EXPORTER.image,
    args: [
      `-redis.addr=redis://localhost:${PORTS[workload]}`,
      `-redis.user=${redis ? 'exporter' : SENTINEL_READER}`,
      `-web.listen-address=:${EXPORTER.port}`,
      // CONFIG is not the exporter user's (render/acl.ts): "-" is no command, so no ACL refusal is logged.
      '-config-command=-',
      '-redis-only-metrics',
      '-connection-timeout=3s',
    ],
    // redis_exporter reads its password from REDIS_PASSWORD: never on its command line.
    env: [secretEnv(redis ? 'REDIS_EXPORTER_PASSWORD' : 'SENTINEL_READER_PASSWORD', 'REDIS_PASSWORD')],
    ports: [{ name: 'metrics', containerPort: EXPORTER.port }],
    readinessProbe: { httpGet: { path: '/health', port: 'metrics' }, periodSeconds: 10 },
    resources: resources('10m', '32Mi', '250m', '128Mi'),
    securityContext: { ...containerSecurity, runAsUser: EXPORTER.uid, runAsGroup: EXPORTER.uid },
  };
}

/** A strategic merge patch: the exporter in the StatefulSet's pods, `metrics` on its Service. */
export function exporterPatches(workload: 'redis' | 'sentinel'): Obj[] {
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: NAMES[workload] },
      spec: { template: { spec: { containers: [exporterContainer(workload)] } } },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: NAMES[workload] },
      spec: { ports: [{ name: 'metrics', port: EXPORTER.port, targetPort: 'metrics' }] },
    },
  ];
}

/**
 * The apps' /metrics: it asks for user `operator` and HAPROXY_OPERATOR_PASSWORD, which the
 * Prometheus Operator reads from a Secret of its own, `redis-ha-stack-metrics` (keys `username`
 * and `password`: docs/kubernetes.md).
 */
function appMonitor(): Obj {
  const key = (k: string) => ({ name: `${SECRET_NAME}-metrics`, key: k });
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: metadata(NAMES.app, 'app'),
    spec: {
      selector: { matchLabels: selector('app') },
      endpoints: [
        {
          port: 'http',
          path: '/metrics',
          interval: '5s',
          basicAuth: { username: key('username'), password: key('password') },
          relabelings: [
            { targetLabel: 'component', replacement: 'app' },
            { sourceLabels: ['__meta_kubernetes_pod_name'], targetLabel: 'node' },
          ],
        },
      ],
    },
  };
}

/** Lets Prometheus (SCRAPER) in to `port` of the pods named `names`, and nothing else. */
function scrapePolicy(name: string, names: string[], port: number): Obj {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, labels: { 'app.kubernetes.io/part-of': PART_OF } },
    spec: {
      podSelector: {
        matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'In', values: names }],
      },
      policyTypes: ['Ingress'],
      ingress: [{ from: [SCRAPER], ports: [{ protocol: 'TCP', port }] }],
    },
  };
}

/** The ServiceMonitors and the NetworkPolicies of the component. */
export function monitoringObjects(): Obj[] {
  const monitor = (workload: 'redis' | 'sentinel'): Obj => ({
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: metadata(`${NAMES[workload]}-exporter`, workload),
    spec: {
      selector: { matchLabels: selector(workload) },
      endpoints: [
        {
          port: 'metrics',
          interval: '5s',
          // The labels alerts.yml reads: the part, and the pod as the node's name.
          relabelings: [
            { targetLabel: 'component', replacement: workload },
            { sourceLabels: ['__meta_kubernetes_pod_name'], targetLabel: 'node' },
          ],
        },
      ],
    },
  });
  return [
    monitor('redis'),
    monitor('sentinel'),
    appMonitor(),
    scrapePolicy(`${PART_OF}-scrape`, [NAMES.redis, NAMES.sentinel], EXPORTER.port),
    // The apps' own policy lets the Ingress controller alone in (kubernetes-policy.ts); policies add up.
    scrapePolicy(`${PART_OF}-scrape-app`, [NAMES.app], PORTS.app),
  ];
}

/** components/monitoring/kustomization.yaml: added to an overlay's `components`. */
export const monitoringComponent = (): Obj => ({
  apiVersion: 'kustomize.config.k8s.io/v1alpha1',
  kind: 'Component',
  resources: ['monitoring.yaml'],
  patches: [{ path: 'redis-exporter.yaml' }, { path: 'sentinel-exporter.yaml' }],
});
