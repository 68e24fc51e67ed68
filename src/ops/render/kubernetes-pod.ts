import {
  CONFIG_MAPS,
  NAMES,
  type Obj,
  PART_OF,
  SECRET_NAME,
  type SecretKey,
  selector,
  type Workload,
} from './kubernetes-names.ts';
import type { YamlValue } from './yaml.ts';

// What every pod of the manifests shares: its identity from the downward API, secrets and settings
// by reference, the security context, the spread over nodes.

export const env = (name: string, value: string): Obj => ({ name, value });

/** The pod's name and namespace first: later values may name them as $(POD_NAME), $(POD_NAMESPACE). */
export const podIdentity: Obj[] = [
  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
];

/** A variable read from the Secret the user created (`as`: under another name in the container). */
export const secretEnv = (key: SecretKey, as: string = key): Obj => ({
  name: as,
  valueFrom: { secretKeyRef: { name: SECRET_NAME, key } },
});

/** A setting of the generated `stack-settings` ConfigMap (the Sentinel timings, as compose's variables). */
export const settingEnv = (key: string): Obj => ({
  name: key,
  valueFrom: { configMapKeyRef: { name: CONFIG_MAPS.settings, key } },
});

export const SETTINGS = ['SENTINEL_QUORUM', 'SENTINEL_DOWN_AFTER', 'SENTINEL_FAILOVER'] as const;

export function metadata(name: string, workload: Workload | undefined, extra: Obj = {}): Obj {
  return {
    name,
    labels: workload
      ? { 'app.kubernetes.io/name': NAMES[workload], 'app.kubernetes.io/part-of': PART_OF }
      : { 'app.kubernetes.io/part-of': PART_OF },
    ...extra,
  };
}

/** Non-root by number (runAsNonRoot cannot check a user name), nothing writable but the volumes. */
export function podSecurity(uid: number): Obj {
  return {
    runAsNonRoot: true,
    runAsUser: uid,
    runAsGroup: uid,
    // The volumes (the PersistentVolumeClaims among them) are writable by the pod's group.
    fsGroup: uid,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

export const containerSecurity: Obj = {
  runAsNonRoot: true,
  readOnlyRootFilesystem: true,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
};

const HOSTNAME_TOPOLOGY = 'kubernetes.io/hostname';

/**
 * Soft by default: the scheduler spreads the pods of a workload over nodes when it can, and still
 * schedules them on a cluster with fewer nodes than pods. The hard-anti-affinity component turns this
 * into a requirement (hardAntiAffinity).
 */
export function softAntiAffinity(workload: Workload): Obj {
  return {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        {
          weight: 100,
          podAffinityTerm: {
            labelSelector: { matchLabels: selector(workload) },
            topologyKey: HOSTNAME_TOPOLOGY,
          },
        },
      ],
    },
  };
}

export function hardAntiAffinity(workload: Workload): Obj {
  return {
    podAntiAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: [
        { labelSelector: { matchLabels: selector(workload) }, topologyKey: HOSTNAME_TOPOLOGY },
      ],
    },
  };
}

/** What every pod spec of the stack starts with. */
export function podBase(workload: Workload, uid: number, graceSeconds: number): Obj {
  return {
    // A Service named `redis` would otherwise put REDIS_PORT=tcp://... and the like into every
    // container's environment, where the scripts and the app read variables of those names.
    enableServiceLinks: false,
    // Nothing in the stack talks to the Kubernetes API.
    automountServiceAccountToken: false,
    terminationGracePeriodSeconds: graceSeconds,
    securityContext: podSecurity(uid),
    affinity: softAntiAffinity(workload),
  };
}

export const probeTiming = (period: number, failures: number, initialDelay = 0): Obj => ({
  ...(initialDelay ? { initialDelaySeconds: initialDelay } : {}),
  periodSeconds: period,
  timeoutSeconds: 2,
  failureThreshold: failures,
});

export const execProbe = (script: string, timing: Obj): Obj => ({
  exec: { command: ['sh', '-c', script] },
  ...timing,
});

export const tmpVolume: Obj = { name: 'tmp', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } };
export const tmpMount: Obj = { name: 'tmp', mountPath: '/tmp' };

export const resources = (cpu: string, memory: string, cpuLimit: string, memoryLimit: string): Obj => ({
  requests: { cpu, memory },
  limits: { cpu: cpuLimit, memory: memoryLimit },
});

export type Doc = { [key: string]: YamlValue };
