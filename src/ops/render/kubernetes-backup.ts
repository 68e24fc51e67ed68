import type { Topology } from '../topology.ts';
import { SENTINEL_READER } from './acl.ts';
import { BACKUP_VARIABLES } from './compose-profiles.ts';
import {
  CONFIG_MAPS,
  K8S_IMAGES,
  NAMES,
  type Obj,
  PART_OF,
  PORTS,
  SCRIPTS_BASE,
  SCRIPTS_DIR,
  UIDS,
} from './kubernetes-names.ts';
import {
  containerSecurity,
  env,
  podIdentity,
  podSecurity,
  resources,
  secretEnv,
  tmpMount,
  tmpVolume,
} from './kubernetes-pod.ts';

// The opt-in backup component (components/backup, docs/backups.md): a CronJob running
// deploy/scripts/redis-backup.sh, the script of compose's `backup` service, into a
// PersistentVolumeClaim, and the NetworkPolicies that let its pods reach Redis and the Sentinels.
// Beside it the restore Job (examples/restore), applied by hand.

export const BACKUP = {
  name: 'redis-backup',
  restore: 'redis-restore',
  claim: 'redis-backups',
  size: '10Gi',
  mount: '/backups',
} as const;
/** The label of the backup's and the restore's pods: what the NetworkPolicies below let in. */
const BACKUP_LABELS = { 'app.kubernetes.io/name': BACKUP.name, 'app.kubernetes.io/part-of': PART_OF };
const backupMeta = (name: string): Obj => ({ name, labels: BACKUP_LABELS });

/** Every BACKUP_INTERVAL_MINUTES (15) as a cron schedule. */
export const BACKUP_SCHEDULE = `*/${BACKUP_VARIABLES.BACKUP_INTERVAL_MINUTES} * * * *`;

const sentinelList = (t: Topology) => t.sentinels.map((s) => `${s.host}:${s.port}`).join(',');
const scriptsVolume: Obj = { name: 'scripts', configMap: { name: CONFIG_MAPS.scripts, defaultMode: 0o444 } };

/** A pod of the backup or the restore: the Valkey image, non-root, read-only, the claim at BACKUP.mount. */
function backupPod(t: Topology, name: string, command: string[], extraEnv: Obj[], readOnly: boolean): Obj {
  return {
    metadata: { labels: BACKUP_LABELS },
    spec: {
      enableServiceLinks: false,
      automountServiceAccountToken: false,
      restartPolicy: 'Never',
      securityContext: podSecurity(UIDS.redis),
      containers: [
        {
          name,
          image: K8S_IMAGES.redis,
          command,
          env: [
            ...podIdentity,
            env('REDIS_SENTINELS', sentinelList(t)),
            env('MASTER_NAME', t.masterName),
            env('SENTINEL_READER_USER', SENTINEL_READER),
            secretEnv('SENTINEL_READER_PASSWORD'),
            env('BACKUP_DIR', BACKUP.mount),
            ...extraEnv,
          ],
          // A restore loads the backup in a scratch server in the pod: room for the data set, as Redis.
          resources: resources('50m', '64Mi', '1', '768Mi'),
          securityContext: containerSecurity,
          volumeMounts: [
            { name: 'scripts', mountPath: SCRIPTS_DIR, readOnly: true },
            { name: 'backups', mountPath: BACKUP.mount, readOnly },
            tmpMount,
          ],
        },
      ],
      volumes: [
        scriptsVolume,
        { name: 'backups', persistentVolumeClaim: { claimName: BACKUP.claim, readOnly } },
        tmpVolume,
      ],
    },
  };
}

export function backupObjects(t: Topology): Obj[] {
  const claim: Obj = {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: backupMeta(BACKUP.claim),
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: BACKUP.size } } },
  };
  const cronJob: Obj = {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: backupMeta(BACKUP.name),
    spec: {
      schedule: BACKUP_SCHEDULE,
      timeZone: 'Etc/UTC',
      // Two never overlap; a missed run is not made up later than its interval.
      concurrencyPolicy: 'Forbid',
      startingDeadlineSeconds: 300,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 3,
      jobTemplate: {
        metadata: { labels: BACKUP_LABELS },
        spec: {
          // A refused backup (no replica in sync, a failover during the copy) waits for the next run.
          backoffLimit: 0,
          activeDeadlineSeconds: 600,
          template: backupPod(
            t,
            'backup',
            ['sh', `${SCRIPTS_DIR}/redis-backup.sh`],
            [
              secretEnv('REDIS_BACKUP_PASSWORD'),
              env('BACKUP_ONCE', '1'),
              ...Object.entries(BACKUP_VARIABLES).map(([k, v]) => env(k, String(v))),
            ],
            false,
          ),
        },
      },
    },
  };
  const allow = (to: 'redis' | 'sentinel'): Obj => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: backupMeta(`${BACKUP.name}-to-${to}`),
    spec: {
      podSelector: { matchLabels: { 'app.kubernetes.io/name': NAMES[to] } },
      policyTypes: ['Ingress'],
      ingress: [
        {
          from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': BACKUP.name } } }],
          ports: [{ protocol: 'TCP', port: PORTS[to] }],
        },
      ],
    },
  });
  return [claim, cronJob, allow('redis'), allow('sentinel')];
}

/** components/backup/kustomization.yaml: added to an overlay's `components`. */
export const backupComponent = (): Obj => ({
  apiVersion: 'kustomize.config.k8s.io/v1alpha1',
  kind: 'Component',
  resources: ['backup.yaml'],
});

/**
 * The restore Job (docs/backups.md): the newest backup of the claim (BACKUP_ID `latest`, or a
 * backup's id) into the master the Sentinels name, as the operator. Read-only on the claim.
 */
export function restoreJob(t: Topology): Obj {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: backupMeta(BACKUP.restore),
    spec: {
      backoffLimit: 0,
      template: backupPod(
        t,
        'restore',
        ['sh', '-c', `exec sh ${SCRIPTS_DIR}/redis-restore.sh "$BACKUP_ID" --yes`],
        [env('BACKUP_ID', 'latest'), secretEnv('REDIS_OPERATOR_PASSWORD')],
        true,
      ),
    },
  };
}

/** examples/restore/kustomization.yaml: the Job and, by the same generator, the scripts it runs. */
export const restoreKustomization = (): Obj => ({
  apiVersion: 'kustomize.config.k8s.io/v1beta1',
  kind: 'Kustomization',
  resources: [`../../${SCRIPTS_BASE}`, 'restore-job.yaml'],
});
