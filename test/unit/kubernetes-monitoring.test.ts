// The opt-in monitoring component of the Kubernetes base (components/monitoring): an exporter
// beside every Redis node and Sentinel, their `metrics` ports, a ServiceMonitor giving the labels
// the alert rules read, and a policy that lets only Prometheus in. Built by kustomize, checked
// against the schemas, hardened as the other containers, no secret by value.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXPORTER, SCRAPER } from '../../src/ops/render/kubernetes-monitoring.ts';
import { needsKubectl, validate, withComponent } from './k8s-validate.ts';

// biome-ignore lint/suspicious/noExplicitAny: manifests are read as untyped data here
type Any = any;

describe('deploy/kubernetes/components/monitoring', () => {
  it(
    'puts an exporter beside every Redis node and Sentinel, scraping it as a read-only user',
    needsKubectl,
    () => {
      const objects = withComponent('components/monitoring') as Any[];
      for (const o of objects.filter((x) => x.kind !== 'ServiceMonitor'))
        assert.deepEqual(validate(o), [], `${o.kind}/${o.metadata.name}`);
      const want = {
        redis: { port: 6379, user: 'exporter', secret: 'REDIS_EXPORTER_PASSWORD' },
        sentinel: { port: 26379, user: 'reader', secret: 'SENTINEL_READER_PASSWORD' },
      };
      for (const [name, w] of Object.entries(want)) {
        const set = objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === name);
        const names = set.spec.template.spec.containers.map((c: Any) => c.name);
        assert.deepEqual(names.sort(), ['exporter', name].sort(), `${name}: the exporter beside the node`);
        const c = set.spec.template.spec.containers.find((x: Any) => x.name === 'exporter');
        assert.ok(c.args.includes(`-redis.addr=redis://localhost:${w.port}`), c.args.join(' '));
        assert.ok(c.args.includes(`-redis.user=${w.user}`), c.args.join(' '));
        assert.doesNotMatch(c.args.join(' '), /PASSWORD|password=/i, 'no password on the command line');
        assert.deepEqual(c.env, [
          { name: 'REDIS_PASSWORD', valueFrom: { secretKeyRef: { name: 'redis-ha-stack', key: w.secret } } },
        ]);
        assert.deepEqual(c.ports, [{ name: 'metrics', containerPort: EXPORTER.port }]);
        assert.equal(c.securityContext.readOnlyRootFilesystem, true);
        assert.equal(c.securityContext.allowPrivilegeEscalation, false);
        assert.deepEqual(c.securityContext.capabilities, { drop: ['ALL'] });
        assert.equal(c.securityContext.runAsUser, EXPORTER.uid);
        assert.ok(c.resources.limits.cpu && c.resources.limits.memory);
        // The Service keeps its own port and gains `metrics`.
        const svc = objects.find((o) => o.kind === 'Service' && o.metadata.name === name);
        assert.deepEqual(svc.spec.ports.map((p: Any) => p.name).sort(), ['metrics', name].sort());
      }
    },
  );

  it(
    "labels each series as the alert rules read them (the apps' too), and lets only Prometheus reach the exporters and the apps' port",
    needsKubectl,
    () => {
      const objects = withComponent('components/monitoring') as Any[];
      const monitors = objects.filter((o) => o.kind === 'ServiceMonitor');
      assert.deepEqual(monitors.map((m) => m.metadata.name).sort(), [
        'app',
        'redis-exporter',
        'sentinel-exporter',
      ]);
      for (const m of monitors) {
        const [e] = m.spec.endpoints;
        const component = m.metadata.name.replace('-exporter', '');
        assert.equal(e.port, component === 'app' ? 'http' : 'metrics');
        // The apps' /metrics asks for the operator's login, from a Secret of the operator's own.
        if (component === 'app') {
          assert.equal(e.path, '/metrics');
          assert.deepEqual(e.basicAuth, {
            username: { name: 'redis-ha-stack-metrics', key: 'username' },
            password: { name: 'redis-ha-stack-metrics', key: 'password' },
          });
        }
        assert.deepEqual(m.spec.selector.matchLabels['app.kubernetes.io/name'], component);
        assert.deepEqual(e.relabelings, [
          { targetLabel: 'component', replacement: component },
          { sourceLabels: ['__meta_kubernetes_pod_name'], targetLabel: 'node' },
        ]);
      }
      const scrape = objects.find(
        (o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'redis-ha-stack-scrape',
      );
      assert.deepEqual(scrape.spec.ingress, [
        { from: [SCRAPER], ports: [{ protocol: 'TCP', port: EXPORTER.port }] },
      ]);
      assert.deepEqual(scrape.spec.podSelector.matchExpressions[0].values, ['redis', 'sentinel']);
      // The apps' port, to Prometheus as well: their own policy lets the Ingress controller alone in.
      const app = objects.find(
        (o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'redis-ha-stack-scrape-app',
      );
      assert.deepEqual(app.spec.ingress, [{ from: [SCRAPER], ports: [{ protocol: 'TCP', port: 3001 }] }]);
      assert.deepEqual(app.spec.podSelector.matchExpressions[0].values, ['app']);
      // The base's own policies are unchanged: Redis's port still only from the stack's parts.
      const redis = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'redis');
      assert.deepEqual(redis.spec.ingress[0].ports, [{ protocol: 'TCP', port: 6379 }]);
    },
  );
});
