// deploy/kubernetes/ as a cluster would receive it, checked offline: `kubectl kustomize` builds the
// base (and the base with the hard-anti-affinity component), and every object of the build is
// validated by kubernetes-models against the Kubernetes schemas, with fields the schema does not
// know failing as well (kubernetes-models alone lets them pass; the API server would drop them
// silently or refuse them).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { kubernetesExamples } from '../../src/ops/render/kubernetes.ts';
import { build, type K8sObject, needsKubectl, validate } from './k8s-validate.ts';

const BASE = fileURLToPath(new URL('../../deploy/kubernetes/', import.meta.url));

const name = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;

describe('deploy/kubernetes/: kubectl kustomize and the Kubernetes schemas', () => {
  it('the validator itself: a wrong type fails, an unknown field is found, a map key is not', () => {
    const pdb = {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: { name: 'x', labels: { 'any-label': 'is fine' } },
      spec: { maxUnavailable: 1, selector: { matchLabels: { a: 'b' } } },
    };
    assert.deepEqual(validate(pdb), []);
    assert.deepEqual(validate({ ...pdb, spec: { ...pdb.spec, maxUnavalable: 1 } } as K8sObject), [
      '.spec.maxUnavalable',
    ]);
    assert.throws(
      () => validate({ ...pdb, spec: { ...pdb.spec, selector: 'app' } } as K8sObject),
      /selector/,
    );
    assert.throws(() => validate({ ...pdb, kind: 'PodDisruptionBudgets' }), /Cannot find module/);
  });

  it('the base builds, and every object of it passes its schema with no unknown field', needsKubectl, () => {
    const objects = build(BASE);
    const kinds = objects.map((o) => o.kind).sort();
    assert.deepEqual(
      [...new Set(kinds)],
      [
        'ConfigMap',
        'Deployment',
        'HorizontalPodAutoscaler',
        'Job',
        'NetworkPolicy',
        'PodDisruptionBudget',
        'Service',
        'StatefulSet',
      ],
    );
    for (const o of objects) assert.deepEqual(validate(o), [], `${name(o)}: fields the schema does not know`);
    // A broken field in a built object is caught too (the check does not pass everything).
    const sts = structuredClone(objects.find((o) => o.kind === 'StatefulSet')!) as K8sObject & {
      spec: { template: { spec: { containers: Record<string, unknown>[] } } };
    };
    sts.spec.template.spec.containers[0]!['readinessProbes'] =
      sts.spec.template.spec.containers[0]!['readinessProbe'];
    assert.deepEqual(validate(sts), ['.spec.template.spec.containers[0].readinessProbes']);
  });

  it('without kustomize too: every object of the committed resource files passes its schema', () => {
    // What the base lists under `resources`, read directly: this check runs where kubectl is missing.
    const files = ['redis.yaml', 'sentinel.yaml', 'app.yaml', 'policies.yaml'];
    const objects = files.flatMap((f) =>
      parseAllDocuments(readFileSync(join(BASE, f), 'utf8')).map((d) => d.toJS() as K8sObject),
    );
    assert.ok(objects.length >= 10, `${objects.length} objects`);
    for (const o of objects) assert.deepEqual(validate(o), [], `${name(o)}: fields the schema does not know`);
  });

  it('no Secret is generated or committed: the user creates it', needsKubectl, () => {
    const objects = build(BASE);
    assert.equal(objects.filter((o) => o.kind === 'Secret').length, 0);
  });

  it('the hard-anti-affinity component requires one node per pod of each workload', needsKubectl, () => {
    const dir = mkdtempSync(join(tmpdir(), 'ha-stack-kustomize-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(
      join(dir, 'kustomization.yaml'),
      [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        // kustomize takes a base by a relative path only.
        `resources: [${JSON.stringify(relative(dir, BASE))}]`,
        `components: [${JSON.stringify(relative(dir, join(BASE, 'components/hard-anti-affinity')))}]`,
        '',
      ].join('\n'),
    );
    const workloads = build(dir).filter((o) => o.kind === 'StatefulSet' || o.kind === 'Deployment');
    assert.equal(workloads.length, 3);
    for (const o of workloads) {
      assert.deepEqual(validate(o), [], name(o));
      const spec = o['spec'] as {
        selector: { matchLabels: object };
        template: { spec: { affinity: unknown } };
      };
      assert.deepEqual(
        spec.template.spec.affinity,
        {
          podAntiAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: [
              {
                labelSelector: { matchLabels: spec.selector.matchLabels },
                topologyKey: 'kubernetes.io/hostname',
              },
            ],
          },
        },
        name(o),
      );
    }
  });

  it('the TLS Ingress component adds the Ingress and turns on COOKIE_SECURE', needsKubectl, () => {
    const dir = mkdtempSync(join(tmpdir(), 'ha-stack-kustomize-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(
      join(dir, 'kustomization.yaml'),
      [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        `resources: [${JSON.stringify(relative(dir, BASE))}]`,
        `components: [${JSON.stringify(relative(dir, join(BASE, 'examples/tls-ingress')))}]`,
        '',
      ].join('\n'),
    );
    const objects = build(dir);
    assert.equal(objects.filter((o) => o.kind === 'Ingress').length, 1);
    const app = objects.find((o) => o.kind === 'Deployment') as K8sObject & {
      spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } };
    };
    assert.deepEqual(validate(app), []);
    const env = app.spec.template.spec.containers[0]!.env.filter((e) => e.name === 'COOKIE_SECURE');
    assert.deepEqual(env, [{ name: 'COOKIE_SECURE', value: 'true' }]);
  });

  it('the examples: the Ingress passes its schema', () => {
    const examples = Object.values(kubernetesExamples()).flat() as K8sObject[];
    const ingress = examples.find((o) => o.kind === 'Ingress')!;
    assert.deepEqual(validate(ingress), []);
    assert.equal(
      examples.some((o) => o.kind === 'ServiceMonitor'),
      false,
      "the apps' ServiceMonitor is components/monitoring's",
    );
  });
});
