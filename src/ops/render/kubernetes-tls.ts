import type { Topology } from '../topology.ts';
import { REDIS_PROGRAMS } from './compose-names.ts';
import { functionsJob } from './kubernetes-app.ts';
import { BACKUP } from './kubernetes-backup.ts';
import { exporterPatches } from './kubernetes-monitoring.ts';
import { NAMES, type Obj, PART_OF } from './kubernetes-names.ts';
import { redisStatefulSet, sentinelStatefulSet } from './kubernetes-redis.ts';

// components/tls (docs/tls.md "Kubernetes"): the base on TLS only. Every Redis node and Sentinel
// listens on TLS alone (the same entrypoints as compose, switched by REDIS_TLS_*), requires a
// client certificate of the CA, replicates and talks to the other Sentinels over TLS; the apps
// and the functions Job show theirs and check the servers' names; the probes go through
// valkey-cli --tls. A Secret per component, mounted as files: made by the operator, or by
// cert-manager (components/cert-manager).

/** Where each pod mounts its component's Secret. */
export const TLS_DIR = '/tls';
/** The Secret of each component: `ca.crt`, `tls.crt`, `tls.key` (the kubernetes.io/tls layout cert-manager writes). */
export const TLS_SECRETS = { redis: 'redis-tls', sentinel: 'sentinel-tls', app: 'app-tls' } as const;
/** The namespace the cert-manager certificates name (docs/kubernetes.md deploys into `shop`). */
export const TLS_NAMESPACE = 'shop';

const FILES = { ca: `${TLS_DIR}/ca.crt`, cert: `${TLS_DIR}/tls.crt`, key: `${TLS_DIR}/tls.key` };
const CLI_TLS = `--tls --cacert ${FILES.ca} --cert ${FILES.cert} --key ${FILES.key}`;

const tlsEnv = [
  { name: 'REDIS_TLS_CA_FILE', value: FILES.ca },
  { name: 'REDIS_TLS_CERT_FILE', value: FILES.cert },
  { name: 'REDIS_TLS_KEY_FILE', value: FILES.key },
];
const tlsMount = { name: 'tls', mountPath: TLS_DIR, readOnly: true };
// Readable by the pod's group (fsGroup, the container's own user) and nobody else.
const tlsVolume = (secret: string) => ({ name: 'tls', secret: { secretName: secret, defaultMode: 0o440 } });

type Container = { name: string; readinessProbe?: Obj; livenessProbe?: Obj };
type Workload = {
  kind: string;
  metadata: { name: string };
  spec: { template: { spec: { containers: Container[] } } };
};

/** A probe of the base with valkey-cli on TLS, this component's certificate shown. */
function tlsProbe(probe: Obj | undefined): Obj | undefined {
  const command = (probe?.['exec'] as { command?: string[] } | undefined)?.command;
  if (!command) return undefined;
  const cli = `${REDIS_PROGRAMS.cli} `;
  return { exec: { command: command.map((c) => c.split(cli).join(`${cli}${CLI_TLS} `)) } };
}

/** A strategic merge patch of a workload of the base: the Secret mounted, the variables, the probes. */
function workloadPatch(base: Obj, secret: string, extraEnv: Obj[] = []): Obj {
  const w = base as unknown as Workload;
  const container = w.spec.template.spec.containers[0]!;
  const readinessProbe = tlsProbe(container.readinessProbe);
  const livenessProbe = tlsProbe(container.livenessProbe);
  return {
    apiVersion: base['apiVersion'] as string,
    kind: w.kind,
    metadata: { name: w.metadata.name },
    spec: {
      template: {
        spec: {
          containers: [
            {
              name: container.name,
              env: [...tlsEnv, ...extraEnv],
              volumeMounts: [tlsMount],
              ...(readinessProbe ? { readinessProbe } : {}),
              ...(livenessProbe ? { livenessProbe } : {}),
            },
          ],
          volumes: [tlsVolume(secret)],
        },
      },
    },
  };
}

/** The patches of components/tls, one file each. */
export function tlsPatches(t: Topology): Record<string, Obj> {
  const app = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: NAMES.app },
    spec: { template: { spec: { containers: [{ name: 'app' }] } } },
  };
  return {
    'redis.yaml': workloadPatch(redisStatefulSet(t), TLS_SECRETS.redis),
    'sentinel.yaml': workloadPatch(sentinelStatefulSet(t), TLS_SECRETS.sentinel),
    // The site is on HTTPS (the Ingress's TLS or the user's): cookies Secure and __Host- named.
    'app.yaml': workloadPatch(app, TLS_SECRETS.app, [{ name: 'COOKIE_SECURE', value: 'true' }]),
    'functions.yaml': workloadPatch(functionsJob(t), TLS_SECRETS.app),
  };
}

export const tlsComponent = (t: Topology): Obj => ({
  apiVersion: 'kustomize.config.k8s.io/v1alpha1',
  kind: 'Component',
  patches: Object.keys(tlsPatches(t)).map((path) => ({ path })),
});

/**
 * components/tls-monitoring, after components/monitoring: each exporter reaches its node or
 * Sentinel on `rediss://localhost` with the pod's certificate (the component's Secret, which names
 * `localhost` too), checking the server's against the CA. JSON patches that first test the second
 * container is the exporter: listed before components/monitoring, the build fails instead of
 * leaving an exporter in plain text.
 */
export function tlsMonitoringComponent(): Obj {
  const patches = (['redis', 'sentinel'] as const).map((workload) => {
    const sts = exporterPatches(workload).find((o) => o['kind'] === 'StatefulSet')!;
    const exporter = (sts as unknown as Workload).spec.template.spec.containers[0] as Container & {
      args: string[];
    };
    const at = '/spec/template/spec/containers/1';
    const ops = [
      { op: 'test', path: `${at}/name`, value: exporter.name },
      {
        op: 'replace',
        path: `${at}/args`,
        value: [
          ...exporter.args.map((a) => a.replace('-redis.addr=redis://', '-redis.addr=rediss://')),
          `-tls-ca-cert-file=${FILES.ca}`,
          `-tls-client-cert-file=${FILES.cert}`,
          `-tls-client-key-file=${FILES.key}`,
        ],
      },
      { op: 'add', path: `${at}/volumeMounts`, value: [{ ...tlsMount, name: 'exporter-tls' }] },
      {
        op: 'add',
        path: '/spec/template/spec/volumes/-',
        value: { ...tlsVolume(TLS_SECRETS[workload]), name: 'exporter-tls' },
      },
    ];
    return { target: { kind: 'StatefulSet', name: NAMES[workload] }, patch: JSON.stringify(ops) };
  });
  return { apiVersion: 'kustomize.config.k8s.io/v1alpha1', kind: 'Component', patches };
}

/** components/tls-backup, after components/backup: the backups on TLS, with the nodes' Secret (redis-tls). */
export function tlsBackupPatch(): Obj {
  return {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: BACKUP.name },
    spec: {
      jobTemplate: {
        spec: {
          template: {
            spec: {
              containers: [{ name: 'backup', env: tlsEnv, volumeMounts: [tlsMount] }],
              volumes: [tlsVolume(TLS_SECRETS.redis)],
            },
          },
        },
      },
    },
  };
}

/** A strategic merge patch of a resource not in the build fails it: listed before components/backup too. */
export const tlsBackupComponent = (): Obj => ({
  apiVersion: 'kustomize.config.k8s.io/v1alpha1',
  kind: 'Component',
  patches: [{ path: 'backup.yaml' }],
});

// components/cert-manager: the Secrets above made by cert-manager (v1 API): a self-signed Issuer
// that signs the stack's own CA, an Issuer of that CA, and a Certificate per component naming
// every pod of it through its headless Service.

const CA_NAME = `${PART_OF}-ca`;
const certLabels = { 'app.kubernetes.io/part-of': PART_OF };
/** 397 days, renewed 30 days before the end, as the local stack's certificates. */
export const CERT_DURATION = { duration: '9528h', renewBefore: '720h' };

/** The names a pod of a StatefulSet is reached by: `<pod>.<service>.<namespace>.svc` and shorter. */
export function podDnsNames(service: string, namespace = TLS_NAMESPACE): string[] {
  // localhost: the probes and the exporters (components/tls-monitoring) reach the pod's own server.
  return [
    `*.${service}.${namespace}.svc`,
    `*.${service}.${namespace}.svc.cluster.local`,
    `*.${service}`,
    service,
    'localhost',
  ];
}

const certificate = (name: string, secretName: string, dnsNames: string[]): Obj => ({
  apiVersion: 'cert-manager.io/v1',
  kind: 'Certificate',
  metadata: { name, labels: certLabels },
  spec: {
    secretName,
    commonName: name,
    dnsNames,
    ...CERT_DURATION,
    privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
    // A node is a server to its clients and a client of its master and of the Sentinels.
    usages: ['digital signature', 'key encipherment', 'server auth', 'client auth'],
    issuerRef: { name: CA_NAME, kind: 'Issuer', group: 'cert-manager.io' },
  },
});

export function certManagerObjects(): Obj[] {
  return [
    {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Issuer',
      metadata: { name: `${PART_OF}-selfsigned`, labels: certLabels },
      spec: { selfSigned: {} },
    },
    {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: CA_NAME, labels: certLabels },
      spec: {
        isCA: true,
        commonName: `${PART_OF} CA`,
        secretName: CA_NAME,
        duration: '87600h',
        privateKey: { algorithm: 'ECDSA', size: 256 },
        issuerRef: { name: `${PART_OF}-selfsigned`, kind: 'Issuer', group: 'cert-manager.io' },
      },
    },
    {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Issuer',
      metadata: { name: CA_NAME, labels: certLabels },
      spec: { ca: { secretName: CA_NAME } },
    },
    certificate(TLS_SECRETS.redis, TLS_SECRETS.redis, podDnsNames(NAMES.redis)),
    certificate(TLS_SECRETS.sentinel, TLS_SECRETS.sentinel, podDnsNames(NAMES.sentinel)),
    // The apps are clients only (their Service is plain HTTP behind the Ingress): one name.
    certificate(TLS_SECRETS.app, TLS_SECRETS.app, [`${NAMES.app}.${TLS_NAMESPACE}.svc`]),
  ];
}

export const certManagerComponent = (): Obj => ({
  apiVersion: 'kustomize.config.k8s.io/v1alpha1',
  kind: 'Component',
  resources: ['certificates.yaml'],
});
