// The opt-in backup component (CronJob, claim, policies), the restore Job example and the
// PrometheusRule made from deploy/monitoring/alerts.yml: built by kustomize, checked against the
// schemas, hardened as the other workloads, no secret by value.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { BACKUP_VARIABLES } from '../../src/ops/render/compose-profiles.ts';
import { BACKUP, BACKUP_SCHEDULE } from '../../src/ops/render/kubernetes-backup.ts';
import { rulesAsSpec } from '../../src/ops/render/kubernetes-rules.ts';
import { build, needsKubectl, validate, withComponent } from './k8s-validate.ts';

const BASE = fileURLToPath(new URL('../../deploy/kubernetes/', import.meta.url));
const ALERTS = fileURLToPath(new URL('../../deploy/monitoring/alerts.yml', import.meta.url));
// biome-ignore lint/suspicious/noExplicitAny: manifests are read as untyped data here
type Any = any;

const hardened = (pod: Any, what: string) => {
  assert.equal(pod.securityContext.runAsNonRoot, true, what);
  assert.equal(pod.securityContext.runAsUser, 999, what);
  assert.deepEqual(pod.securityContext.seccompProfile, { type: 'RuntimeDefault' }, what);
  assert.equal(pod.automountServiceAccountToken, false, what);
  for (const c of pod.containers) {
    assert.deepEqual(
      c.securityContext,
      {
        runAsNonRoot: true,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ['ALL'] },
      },
      `${what} ${c.name}`,
    );
    assert.ok(c.resources.limits.cpu && c.resources.limits.memory, `${what} ${c.name}`);
    // Every password by reference to the Secret, none by value, none on the command line.
    for (const e of c.env)
      if (/PASSWORD|SECRET/.test(e.name))
        assert.ok(e.valueFrom?.secretKeyRef && !e.value, `${what} ${e.name}`);
    assert.doesNotMatch(c.command.join(' '), /PASSWORD/, `${what} ${c.name}`);
  }
};

describe('deploy/kubernetes/components/backup', () => {
  it('adds the CronJob, its claim and its policies to the base; each passes its schema', needsKubectl, () => {
    const objects = withComponent('components/backup');
    const added = objects.filter(
      (o) => (o.metadata as Any).labels?.['app.kubernetes.io/name'] === BACKUP.name,
    );
    assert.deepEqual(added.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
      'CronJob/redis-backup',
      'NetworkPolicy/redis-backup-to-redis',
      'NetworkPolicy/redis-backup-to-sentinel',
      'PersistentVolumeClaim/redis-backups',
    ]);
    for (const o of objects) assert.deepEqual(validate(o), [], `${o.kind}/${o.metadata.name}`);
    const cron = added.find((o) => o.kind === 'CronJob') as Any;
    const pod = cron.spec.jobTemplate.spec.template.spec;
    hardened(pod, 'CronJob');
    const [c] = pod.containers;
    assert.deepEqual(c.command, ['sh', '/scripts/redis-backup.sh']);
    // The scripts' ConfigMap of the base, by its generated (hashed) name.
    const scripts = objects.find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('redis-scripts-'),
    );
    assert.ok(
      scripts && (scripts as Any).data['redis-backup.sh'] && (scripts as Any).data['sentinel-ask.sh'],
    );
    assert.equal(pod.volumes.find((v: Any) => v.name === 'scripts').configMap.name, scripts.metadata.name);
    assert.equal(
      pod.volumes.find((v: Any) => v.name === 'backups').persistentVolumeClaim.claimName,
      BACKUP.claim,
    );
    const env = Object.fromEntries(c.env.map((e: Any) => [e.name, e.value ?? e.valueFrom]));
    assert.equal(env['BACKUP_ONCE'], '1');
    assert.equal(env['BACKUP_DIR'], BACKUP.mount);
    assert.equal(env['BACKUP_KEEP_HOURLY'], String(BACKUP_VARIABLES.BACKUP_KEEP_HOURLY));
    assert.equal(env['BACKUP_KEEP_DAILY'], String(BACKUP_VARIABLES.BACKUP_KEEP_DAILY));
    // The backup user's password and the Sentinels' reader's; never the operator's, nor the
    // replication user's (the nodes' masterauth).
    assert.equal(env['REDIS_BACKUP_PASSWORD'].secretKeyRef.key, 'REDIS_BACKUP_PASSWORD');
    assert.equal(env['REDIS_REPLICATION_PASSWORD'], undefined);
    assert.equal(env['SENTINEL_READER_PASSWORD'].secretKeyRef.key, 'SENTINEL_READER_PASSWORD');
    assert.equal(env['REDIS_OPERATOR_PASSWORD'], undefined);
    assert.equal(cron.spec.schedule, '*/15 * * * *');
    assert.equal(BACKUP_SCHEDULE, `*/${BACKUP_VARIABLES.BACKUP_INTERVAL_MINUTES} * * * *`);
    assert.equal(cron.spec.concurrencyPolicy, 'Forbid');
    // Its pods reach Redis and the Sentinels on their ports, through policies of their own.
    for (const [to, port] of [
      ['redis', 6379],
      ['sentinel', 26379],
    ] as const) {
      const p = added.find((o) => o.metadata.name === `redis-backup-to-${to}`) as Any;
      assert.deepEqual(p.spec.podSelector.matchLabels, { 'app.kubernetes.io/name': to });
      assert.deepEqual(p.spec.ingress[0].from[0].podSelector.matchLabels, {
        'app.kubernetes.io/name': BACKUP.name,
      });
      assert.deepEqual(p.spec.ingress[0].ports, [{ protocol: 'TCP', port }]);
    }
  });

  it('the base alone has no backup: the component is opt-in', needsKubectl, () => {
    const objects = build(BASE);
    assert.equal(objects.filter((o) => o.kind === 'CronJob' || o.kind === 'PersistentVolumeClaim').length, 0);
  });

  it(
    'the restore example builds: a Job restoring the newest backup, read-only on the claim',
    needsKubectl,
    () => {
      const objects = build(join(BASE, 'examples/restore'));
      for (const o of objects) assert.deepEqual(validate(o), [], `${o.kind}/${o.metadata.name}`);
      const job = objects.find((o) => o.kind === 'Job') as Any;
      const pod = job.spec.template.spec;
      hardened(pod, 'restore Job');
      const [c] = pod.containers;
      assert.match(c.command.join(' '), /redis-restore\.sh "\$BACKUP_ID" --yes$/);
      assert.ok(c.env.some((e: Any) => e.name === 'BACKUP_ID' && e.value === 'latest'));
      assert.ok(c.volumeMounts.some((m: Any) => m.name === 'backups' && m.readOnly === true));
      const scripts = objects.find((o) => o.kind === 'ConfigMap')!;
      // The same generator, the same content: the very ConfigMap the base applies, by name.
      const base = build(BASE).find(
        (o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('redis-scripts-'),
      )!;
      assert.equal(scripts.metadata.name, base.metadata.name);
    },
  );
});

describe('deploy/kubernetes/examples/prometheusrule.yaml', () => {
  const rule = parse(readFileSync(join(BASE, 'examples/prometheusrule.yaml'), 'utf8'));
  const alerts = parse(readFileSync(ALERTS, 'utf8'));

  it("holds alerts.yml's groups, every rule as it is there", () => {
    assert.equal(rule.apiVersion, 'monitoring.coreos.com/v1');
    assert.equal(rule.kind, 'PrometheusRule');
    assert.deepEqual(rule.spec, { groups: alerts.groups });
    assert.ok(rule.spec.groups[0].rules.length >= 10);
  });

  it('is made from the file, not copied: a changed rule changes it', () => {
    const text = readFileSync(ALERTS, 'utf8').replace('for: 10s', 'for: 11s');
    assert.notDeepEqual(parse(rulesAsSpec(text)).spec, rule.spec);
    assert.throws(() => rulesAsSpec('rules: []\n'), /no top-level "groups:"/);
    assert.throws(() => rulesAsSpec('groups: []\nother: 1\n'), /only "groups:"/);
  });
});
