import { SENTINEL_READER } from './acl.ts';
import { imageRef } from './compose-names.ts';
import { NAMES, type Obj, PART_OF, PORTS, selector } from './kubernetes-names.ts';
import { containerSecurity, metadata, resources, secretEnv } from './kubernetes-pod.ts';

// The opt-in monitoring component (components/monitoring, docs/monitoring.md): a redis_exporter
// beside every Redis node and every Sentinel (a container of the same pod, scraping it on
// localhost), the `metrics` port on their Services, a ServiceMonitor for the Prometheus Operator
// that gives each series the `component` and `node` labels the alert rules read, and the
// NetworkPolicy that lets Prometheus in to that port only.

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

/** The ServiceMonitor and the NetworkPolicy of the component. */
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
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: `${PART_OF}-scrape`, labels: { 'app.kubernetes.io/part-of': PART_OF } },
      spec: {
        podSelector: {
          matchExpressions: [
            { key: 'app.kubernetes.io/name', operator: 'In', values: [NAMES.redis, NAMES.sentinel] },
          ],
        },
        policyTypes: ['Ingress'],
        ingress: [{ from: [SCRAPER], ports: [{ protocol: 'TCP', port: EXPORTER.port }] }],
      },
    },
  ];
}

/** components/monitoring/kustomization.yaml: added to an overlay's `components`. */
export const monitoringComponent = (): Obj => ({
  apiVersion: 'kustomize.config.k8s.io/v1alpha1',
  kind: 'Component',
  resources: ['monitoring.yaml'],
  patches: [{ path: 'redis-exporter.yaml' }, { path: 'sentinel-exporter.yaml' }],
});
