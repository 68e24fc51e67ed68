// deploy/kubernetes/: committed exactly as the renderers produce it, and what the manifests promise
// (docs/kubernetes.md): stable names, hostnames in Sentinel, volumes, probes, budgets, policies,
// non-root pods, grace periods longer than what runs before them, no secret.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import {
  kubernetesResources,
  kubernetesTopology,
  NAMES,
  PART_OF,
  PRESTOP,
  renderKubernetesFiles,
  SCRIPTS,
  SECRET_KEYS,
  SECRET_NAME,
  scriptsKustomization,
} from '../../src/ops/render/kubernetes.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUT = join(ROOT, 'deploy/kubernetes');

// biome-ignore lint/suspicious/noExplicitAny: manifests are read as untyped data here
type Any = any;
const objects: Any[] = Object.values(kubernetesResources()).flat();
const find = (kind: string, name: string): Any => {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `no ${kind}/${name}`);
  return o;
};
const workloads = () => objects.filter((o) => o.kind === 'StatefulSet' || o.kind === 'Deployment');
const podSpec = (o: Any) => o.spec.template.spec;
const container = (o: Any) => podSpec(o).containers[0];
const envOf = (c: Any): Record<string, Any> => Object.fromEntries(c.env.map((e: Any) => [e.name, e]));

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const path = join(dir, f);
    return statSync(path).isDirectory() ? filesUnder(path) : [relative(OUT, path)];
  });
}

describe('deploy/kubernetes/: generated files', () => {
  const files = renderKubernetesFiles();

  it('are committed exactly as the renderers produce them now, and nothing else is there', () => {
    for (const [path, text] of Object.entries(files))
      assert.equal(
        readFileSync(join(OUT, path), 'utf8'),
        text,
        `deploy/kubernetes/${path} differs: run "npm run ha-stack -- render --target kubernetes --out deploy/kubernetes/"`,
      );
    assert.deepEqual(
      filesUnder(OUT).sort(),
      Object.keys(files).sort(),
      'files the renderer does not produce',
    );
  });

  it('take the very scripts compose runs, the one copy in deploy/scripts/, for the ConfigMap', () => {
    const dir = join(ROOT, 'deploy/scripts');
    assert.deepEqual(parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')), scriptsKustomization());
    for (const s of SCRIPTS) assert.ok(statSync(join(dir, s)).isFile(), s);
    assert.deepEqual(
      readdirSync(dir)
        .filter((f) => f.endsWith('.sh'))
        .sort(),
      [...SCRIPTS].sort(),
      'a script in deploy/scripts/ that the ConfigMap leaves out',
    );
    assert.match(files['kustomization.yaml']!, /^resources: \["\.\.\/scripts", /m);
    assert.ok(!Object.keys(files).some((p) => p.startsWith('scripts/')), 'no copy under deploy/kubernetes/');
  });

  it('redis.conf: the local settings, no role, no name, no password', () => {
    const conf = files['redis.conf']!;
    for (const line of [
      'min-replicas-to-write 1',
      'appendonly yes',
      'maxmemory-policy noeviction',
      'dir /data',
    ])
      assert.match(conf, new RegExp(`^${line}$`, 'm'));
    assert.doesNotMatch(conf, /^(replicaof|replica-announce-ip|masterauth|requirepass|user) /m);
  });
});

describe('deploy/kubernetes/: Redis and Sentinel', () => {
  const t = kubernetesTopology();
  const redis = find('StatefulSet', NAMES.redis);
  const sentinel = find('StatefulSet', NAMES.sentinel);

  it('Redis: a StatefulSet of 3 with stable names through a headless Service, data on a claim', () => {
    assert.equal(redis.spec.replicas, 3);
    assert.equal(redis.spec.serviceName, NAMES.redis);
    const svc = find('Service', NAMES.redis);
    assert.equal(svc.spec.clusterIP, 'None');
    assert.equal(svc.spec.publishNotReadyAddresses, true, 'a starting pod must be resolvable');
    assert.deepEqual(svc.spec.selector, redis.spec.selector.matchLabels);
    assert.equal(redis.spec.volumeClaimTemplates[0].metadata.name, 'data');
    assert.ok(container(redis).volumeMounts.some((m: Any) => m.name === 'data' && m.mountPath === '/data'));
  });

  it('Redis announces its stable name, starts through the Sentinels, and hands over before it stops', () => {
    const c = container(redis);
    const env = envOf(c);
    assert.deepEqual(c.command, ['sh', '/scripts/redis-pod-start.sh']);
    assert.equal(c.args[c.args.indexOf('--replica-announce-ip') + 1], '$(REDIS_ANNOUNCE_HOST)');
    assert.equal(env['REDIS_ANNOUNCE_HOST'].value, '$(POD_NAME).redis.$(POD_NAMESPACE).svc');
    assert.equal(env['INITIAL_MASTER_HOST'].value, 'redis-0.redis.$(POD_NAMESPACE).svc');
    assert.equal(
      env['REDIS_SENTINELS'].value,
      [0, 1, 2].map((i) => `sentinel-${i}.sentinel.$(POD_NAMESPACE).svc:26379`).join(','),
    );
    assert.deepEqual(c.lifecycle.preStop.exec.command.slice(2), ['sh', '/scripts/redis-prestop.sh']);
    // Every password by reference: `$NAME` for the entrypoint, never a value.
    assert.equal(c.args[c.args.indexOf('--masterauth') + 1], '$REDIS_REPLICATION_PASSWORD');
  });

  it('Sentinels: their own StatefulSet of 3, hostnames announced and resolved, the compose timings', () => {
    assert.equal(sentinel.spec.replicas, 3);
    assert.equal(find('Service', NAMES.sentinel).spec.clusterIP, 'None');
    const env = envOf(container(sentinel));
    assert.equal(env['SENTINEL_ANNOUNCE_HOST'].value, '$(POD_NAME).sentinel.$(POD_NAMESPACE).svc');
    assert.equal(env['MASTER_HOST'].value, t.redis[0]!.host);
    for (const v of ['SENTINEL_QUORUM', 'SENTINEL_DOWN_AFTER', 'SENTINEL_FAILOVER'])
      assert.equal(env[v].valueFrom.configMapKeyRef.name, 'stack-settings', v);
    const kustomization = renderKubernetesFiles()['kustomization.yaml']!;
    assert.match(kustomization, /"SENTINEL_QUORUM=2", "SENTINEL_DOWN_AFTER=2000", "SENTINEL_FAILOVER=3000"/);
    const script = readFileSync(join(ROOT, 'deploy/scripts/sentinel-entrypoint.sh'), 'utf8');
    for (const line of ['sentinel resolve-hostnames yes', 'sentinel announce-hostnames yes'])
      assert.ok(script.includes(`echo "${line}"`), line);
    assert.match(container(sentinel).command[2], /sentinel-entrypoint\.sh$/);
    assert.equal(
      sentinel.spec.volumeClaimTemplates[0].metadata.name,
      'data',
      'what a Sentinel learned survives',
    );
  });

  it('the grace period outlasts the pre-stop hand-over; the write pause stays far below both', () => {
    const c = container(redis);
    const env = envOf(c);
    const [cmd, limit] = c.lifecycle.preStop.exec.command;
    assert.equal(cmd, 'timeout');
    const grace = podSpec(redis).terminationGracePeriodSeconds;
    assert.ok(Number(limit) + 10 <= grace, `hook cut at ${limit} s, grace ${grace} s`);
    assert.ok(Number(env['PRESTOP_TIMEOUT'].value) < Number(limit));
    assert.equal(Number(env['PRESTOP_PAUSE_MS'].value), PRESTOP.pauseMs);
    assert.ok(PRESTOP.pauseMs <= (grace * 1000) / 4, 'a short pause, not a freeze');
  });
});

describe('deploy/kubernetes/: the app', () => {
  const app = find('Deployment', NAMES.app);

  it('2 or more behind a Service, probes on /readyz and /healthz, scaled by an autoscaler', () => {
    assert.ok(app.spec.replicas >= 2);
    const c = container(app);
    assert.equal(c.readinessProbe.httpGet.path, '/readyz');
    assert.equal(c.livenessProbe.httpGet.path, '/healthz');
    const hpa = find('HorizontalPodAutoscaler', NAMES.app);
    assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: NAMES.app });
    assert.ok(hpa.spec.minReplicas >= 2 && hpa.spec.maxReplicas > hpa.spec.minReplicas);
    assert.deepEqual(find('Service', NAMES.app).spec.selector, app.spec.selector.matchLabels);
    const env = envOf(c);
    assert.equal(env['REDIS_USERNAME'].value, 'app');
    assert.equal(env['INSTANCE_ID'].value, '$(POD_NAME)');
  });

  it('the stop: pre-stop sleep, then the drain and the in-flight requests fit in the grace period', () => {
    const c = container(app);
    const env = envOf(c);
    const [sleep, seconds] = c.lifecycle.preStop.exec.command;
    assert.equal(sleep, 'sleep');
    const needed =
      Number(seconds) +
      (Number(env['SHUTDOWN_DRAIN_MS'].value) + Number(env['SHUTDOWN_GRACE_MS'].value)) / 1000;
    assert.ok(podSpec(app).terminationGracePeriodSeconds > needed, `needs ${needed} s`);
    // The readiness probe sees the drain's 503 before it is over.
    const probe = c.readinessProbe;
    assert.ok(probe.periodSeconds * probe.failureThreshold * 1000 < Number(env['SHUTDOWN_DRAIN_MS'].value));
  });
});

describe('deploy/kubernetes/: every pod', () => {
  it('non-root, read-only root file system, requests and limits, spread over nodes', () => {
    for (const w of workloads()) {
      const spec = podSpec(w);
      assert.equal(spec.securityContext.runAsNonRoot, true, w.metadata.name);
      assert.ok(spec.securityContext.runAsUser > 0, w.metadata.name);
      assert.equal(
        spec.enableServiceLinks,
        false,
        `${w.metadata.name}: no REDIS_PORT=tcp://... from a Service`,
      );
      for (const c of spec.containers) {
        assert.equal(c.securityContext.readOnlyRootFilesystem, true, c.name);
        assert.equal(c.securityContext.allowPrivilegeEscalation, false, c.name);
        for (const k of ['requests', 'limits'])
          assert.ok(c.resources[k].cpu && c.resources[k].memory, `${c.name} ${k}`);
      }
      const soft =
        spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm;
      assert.deepEqual(soft.labelSelector.matchLabels, w.spec.selector.matchLabels);
      assert.equal(soft.topologyKey, 'kubernetes.io/hostname');
    }
  });

  it('a $(VAR) in an environment value names a variable defined before it (Kubernetes expands no other)', () => {
    for (const w of workloads())
      for (const c of podSpec(w).containers) {
        const seen = new Set<string>();
        for (const e of c.env) {
          for (const [, v] of String(e.value ?? '').matchAll(/\$\(([A-Z_]+)\)/g))
            assert.ok(seen.has(v!), `${c.name}: ${e.name} uses $(${v}) before it is defined`);
          seen.add(e.name);
        }
        for (const arg of c.args ?? [])
          for (const [, v] of String(arg).matchAll(/\$\(([A-Z_]+)\)/g))
            assert.ok(seen.has(v!), `${c.name}: ${arg}`);
      }
  });

  it('a PodDisruptionBudget for each workload: one Redis node at a time, the Sentinel quorum kept', () => {
    assert.deepEqual(find('PodDisruptionBudget', NAMES.redis).spec.maxUnavailable, 1);
    assert.equal(find('PodDisruptionBudget', NAMES.sentinel).spec.minAvailable, 2);
    assert.equal(find('PodDisruptionBudget', NAMES.app).spec.minAvailable, 1);
    for (const w of workloads())
      assert.deepEqual(find('PodDisruptionBudget', w.metadata.name).spec.selector, w.spec.selector);
  });

  it('NetworkPolicies: nothing comes in unless allowed; only the app, the functions Job, Sentinels and Redis reach Redis', () => {
    const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
    const deny = policies.find((p) => !p.spec.ingress);
    assert.deepEqual(deny.spec.podSelector.matchLabels, { 'app.kubernetes.io/part-of': PART_OF });
    assert.deepEqual(deny.spec.policyTypes, ['Ingress']);
    const sources = (name: string) => {
      const p = policies.find((x) => x.metadata.name === name);
      assert.deepEqual(p.spec.podSelector.matchLabels, { 'app.kubernetes.io/name': name });
      return p.spec.ingress.map((rule: Any) => ({
        from: (rule.from ?? ['anywhere'])
          .map((f: Any) =>
            f === 'anywhere'
              ? f
              : [
                  f.namespaceSelector?.matchLabels['kubernetes.io/metadata.name'],
                  f.podSelector.matchLabels['app.kubernetes.io/name'],
                ]
                  .filter(Boolean)
                  .join('/'),
          )
          .sort(),
        ports: rule.ports.map((x: Any) => x.port),
      }));
    };
    assert.deepEqual(sources('redis'), [{ from: ['app', 'functions', 'redis', 'sentinel'], ports: [6379] }]);
    assert.deepEqual(sources('sentinel'), [
      { from: ['app', 'functions', 'redis', 'sentinel'], ports: [26379] },
    ]);
    // The app from the Ingress controller's pods alone: no other pod can forge X-Forwarded-For.
    assert.deepEqual(sources('app'), [{ from: ['ingress-nginx/ingress-nginx'], ports: [3001] }]);
    assert.equal(policies.length, 4);
  });

  it('no secret in any file: every password comes from the Secret the user creates, by reference', () => {
    assert.ok(!objects.some((o) => o.kind === 'Secret'));
    for (const w of workloads())
      for (const c of podSpec(w).containers)
        for (const e of c.env) {
          if (/PASSWORD|SECRET|AUTH/.test(e.name) && !/_MS$/.test(e.name)) {
            assert.equal(e.value, undefined, `${c.name} ${e.name} holds a value`);
            assert.equal(e.valueFrom.secretKeyRef.name, SECRET_NAME);
            assert.ok((SECRET_KEYS as readonly string[]).includes(e.valueFrom.secretKeyRef.key), e.name);
          }
        }
    // The documented command creates every key the pods read.
    const section = readFileSync(join(ROOT, 'docs/kubernetes.md'), 'utf8');
    assert.ok(section.includes(`create secret generic ${SECRET_NAME} `));
    for (const key of SECRET_KEYS) assert.match(section, new RegExp(`--from-literal=${key}=`), key);
  });
});
