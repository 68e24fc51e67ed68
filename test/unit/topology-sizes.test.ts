// Over 300 lines: every renderer checked at every supported size, one table of sizes (SIZES) for all.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countsFromCommandLine } from '../../src/ops/commands/counts.ts';
import { aclPasswordHash, REDIS_USERS, type StackSecrets } from '../../src/ops/render/acl.ts';
import { composeDocument, composeTopology, renderComposeFiles } from '../../src/ops/render/compose.ts';
import {
  kubernetesResources,
  kubernetesTopology,
  renderKubernetesFiles,
} from '../../src/ops/render/kubernetes.ts';
import type { Obj } from '../../src/ops/render/kubernetes-names.ts';
import { renderLocalFiles } from '../../src/ops/render/local.ts';
import {
  countsFromEnv,
  countWarnings,
  defineTopology,
  nodeNames,
  portNames,
  portsFromEnv,
  resolveCounts,
  TopologyError,
} from '../../src/ops/topology.ts';

// The same renderers at two sizes: the default 3 nodes / 3 Sentinels / 2 apps, and 5 / 5 / 3 with
// quorum 3. Every expected value is written out here, not derived with the code under test.

interface Size {
  counts: { redisNodes: number; sentinels: number; apps: number };
  quorum: number;
  redis: { name: string; port: number; host: string; service: string }[];
  sentinels: { name: string; port: number; host: string; service: string }[];
  apps: { name: string; port: number }[];
}

const SIZES: Size[] = [
  {
    counts: { redisNodes: 3, sentinels: 3, apps: 2 },
    quorum: 2,
    redis: [
      { name: 'redis-1', port: 6380, host: '127.0.0.11', service: 'redis-master' },
      { name: 'redis-2', port: 6381, host: '127.0.0.12', service: 'redis-replica-1' },
      { name: 'redis-3', port: 6382, host: '127.0.0.13', service: 'redis-replica-2' },
    ],
    sentinels: [
      { name: 'sentinel-1', port: 26380, host: '127.0.0.21', service: 'redis-sentinel-1' },
      { name: 'sentinel-2', port: 26381, host: '127.0.0.22', service: 'redis-sentinel-2' },
      { name: 'sentinel-3', port: 26382, host: '127.0.0.23', service: 'redis-sentinel-3' },
    ],
    apps: [
      { name: 'app-1', port: 3001 },
      { name: 'app-2', port: 3002 },
    ],
  },
  {
    counts: { redisNodes: 5, sentinels: 5, apps: 3 },
    quorum: 3,
    redis: [
      { name: 'redis-1', port: 6380, host: '127.0.0.11', service: 'redis-master' },
      { name: 'redis-2', port: 6381, host: '127.0.0.12', service: 'redis-replica-1' },
      { name: 'redis-3', port: 6382, host: '127.0.0.13', service: 'redis-replica-2' },
      { name: 'redis-4', port: 6383, host: '127.0.0.14', service: 'redis-replica-3' },
      { name: 'redis-5', port: 6384, host: '127.0.0.15', service: 'redis-replica-4' },
    ],
    sentinels: [
      { name: 'sentinel-1', port: 26380, host: '127.0.0.21', service: 'redis-sentinel-1' },
      { name: 'sentinel-2', port: 26381, host: '127.0.0.22', service: 'redis-sentinel-2' },
      { name: 'sentinel-3', port: 26382, host: '127.0.0.23', service: 'redis-sentinel-3' },
      { name: 'sentinel-4', port: 26383, host: '127.0.0.24', service: 'redis-sentinel-4' },
      { name: 'sentinel-5', port: 26384, host: '127.0.0.25', service: 'redis-sentinel-5' },
    ],
    apps: [
      { name: 'app-1', port: 3001 },
      { name: 'app-2', port: 3002 },
      { name: 'app-3', port: 3003 },
    ],
  },
];

const SECRETS: StackSecrets = {
  redis: {
    app: 'pw-app',
    replication: 'pw-repl',
    sentinel: 'pw-sentinel',
    operator: 'pw-op',
    haproxy: 'pw-ha',
    exporter: 'pw-exp',
    backup: 'pw-backup',
  },
  sentinel: 'pw-sentinels',
  sentinelReader: 'pw-reader',
};

const lines = (text: string) => text.split('\n').map((l) => l.trim());
const has = (text: string, line: string) =>
  assert.ok(lines(text).includes(line), `missing line "${line}" in:\n${text}`);
/** The lines of one HAProxy section (`backend redis_master`) up to the next blank line. */
const section = (cfg: string, header: string) => {
  const all = cfg.split('\n');
  const from = all.indexOf(header);
  assert.ok(from >= 0, `no "${header}" in:\n${cfg}`);
  const to = all.indexOf('', from);
  return all.slice(from + 1, to).map((l) => l.trim());
};
const servers = (cfg: string, header: string) => section(cfg, header).filter((l) => l.startsWith('server '));
const label = (s: Size) =>
  `${s.counts.redisNodes} nodes, ${s.counts.sentinels} Sentinels, ${s.counts.apps} apps`;

for (const size of SIZES) {
  describe(`a topology of ${label(size)}`, () => {
    it('names every node, port and address, and takes a majority of the Sentinels as quorum', () => {
      const t = defineTopology({ counts: size.counts });
      assert.deepEqual(
        t.redis.map((r) => [r.name, r.host, r.port, r.initialRole]),
        size.redis.map((r, i) => [r.name, r.host, r.port, i === 0 ? 'master' : 'replica']),
      );
      assert.deepEqual(
        t.sentinels.map((s) => [s.name, s.host, s.port]),
        size.sentinels.map((s) => [s.name, s.host, s.port]),
      );
      assert.deepEqual(
        t.apps.map((a) => [a.name, a.host, a.port]),
        size.apps.map((a) => [a.name, '127.0.0.1', a.port]),
      );
      assert.equal(t.quorum, size.quorum);
      assert.deepEqual(t.haproxy, {
        host: '127.0.0.1',
        httpPort: 8080,
        httpsPort: 8443,
        statsPort: 8404,
        redisPort: 6379,
      });
      assert.deepEqual(nodeNames(t), [
        ...size.redis.map((r) => r.name),
        ...size.sentinels.map((s) => s.name),
        ...size.apps.map((a) => a.name),
        'haproxy',
      ]);
    });

    it('renders local configs: a replicaof the first node on every other, each Sentinel monitoring it with the quorum, every user, every HAProxy server', () => {
      const t = defineTopology({ counts: size.counts });
      const files = renderLocalFiles(t, { runDir: '/run', secrets: SECRETS });
      const master = size.redis[0]!;
      assert.deepEqual(
        Object.keys(files).sort(),
        [
          'haproxy/haproxy.cfg',
          ...size.redis.map((r) => `redis/${r.name}.conf`),
          ...size.sentinels.map((s) => `sentinel/${s.name}.conf`),
        ].sort(),
      );
      for (const r of size.redis) {
        const conf = files[`redis/${r.name}.conf`]!;
        has(conf, `bind ${r.host}`);
        has(conf, `port ${r.port}`);
        has(conf, `dir /run/nodes/${r.name}`);
        const replicaof = lines(conf).filter((l) => l.startsWith('replicaof '));
        assert.deepEqual(replicaof, r === master ? [] : [`replicaof ${master.host} ${master.port}`], r.name);
        for (const u of REDIS_USERS) {
          const user = lines(conf).find((l) => l.startsWith(`user ${u} on `));
          assert.ok(user?.includes(aclPasswordHash(SECRETS.redis[u])), `${r.name}: ACL user ${u}`);
        }
        has(conf, 'user default off resetpass ~* &* +@all');
      }
      for (const s of size.sentinels) {
        const conf = files[`sentinel/${s.name}.conf`]!;
        has(conf, `bind ${s.host}`);
        has(conf, `port ${s.port}`);
        has(conf, `sentinel monitor mymaster ${master.host} ${master.port} ${size.quorum}`);
      }
      const cfg = files['haproxy/haproxy.cfg']!;
      assert.deepEqual(
        servers(cfg, 'backend redis_master'),
        size.redis.map((r) => `server ${r.name} ${r.host}:${r.port}`),
      );
      assert.deepEqual(
        servers(cfg, 'backend apps'),
        size.apps.map((a) => `server ${a.name} 127.0.0.1:${a.port}`),
      );
      for (const a of size.apps) has(cfg, `use_backend metrics-${a.name} if { path /metrics/${a.name} }`);
    });

    it('renders compose: a service and a volume per node, the quorum, every Sentinel to the apps, every node behind HAProxy', () => {
      const t = composeTopology(size.counts);
      const doc = composeDocument(t) as { services: Record<string, Obj>; volumes: Record<string, Obj> };
      const nodes = [...size.redis, ...size.sentinels];
      assert.deepEqual(
        Object.keys(doc.services).sort(),
        [
          ...nodes.map((n) => n.service),
          ...size.apps.map((a) => a.name),
          'functions',
          'haproxy',
          'redisinsight',
          'backup',
          'restore',
          // The monitoring profile: an exporter per Redis node, one for the Sentinels.
          ...size.redis.map((_, i) => `redis-exporter-${i + 1}`),
          'sentinel-exporter',
          'prometheus',
          'alertmanager',
        ].sort(),
      );
      assert.deepEqual(
        Object.keys(doc.volumes).sort(),
        [
          ...nodes.map((n) => `${n.service}-data`),
          'redisinsight-data',
          'backups',
          'prometheus-data',
          'alertmanager-data',
        ].sort(),
      );
      const sentinelList = size.sentinels.map((s) => `${s.service}:26379`).join(',');
      for (const s of size.sentinels) {
        const env = doc.services[s.service]!['environment'] as Record<string, string>;
        assert.equal(env['SENTINEL_QUORUM'], `\${SENTINEL_QUORUM:-${size.quorum}}`);
        assert.equal(env['MASTER_HOST'], 'redis-master');
        assert.equal(env['SENTINEL_ANNOUNCE_HOST'], s.service);
        assert.deepEqual(
          Object.keys(doc.services[s.service]!['depends_on'] as Obj).sort(),
          size.redis.map((r) => r.service).sort(),
        );
      }
      for (const r of size.redis) {
        const svc = doc.services[r.service]!;
        assert.equal((svc['environment'] as Record<string, string>)['REDIS_SENTINELS'], sentinelList);
        // Every user on the command line (compose keeps passwords out of files).
        const command = svc['command'] as string[];
        for (const u of REDIS_USERS) assert.ok(command.includes(u), `${r.service}: ACL user ${u}`);
        assert.deepEqual(
          svc['depends_on'] && Object.keys(svc['depends_on'] as Obj),
          r.service === 'redis-master' ? undefined : ['redis-master'],
        );
      }
      for (const a of size.apps) {
        const env = doc.services[a.name]!['environment'] as Record<string, string>;
        assert.equal(env['REDIS_SENTINELS'], sentinelList);
        assert.equal(env['PORT'], String(a.port));
        assert.equal(
          env['TOPOLOGY_REDIS_NODES'],
          size.redis.map((r) => `${r.name}=${r.service}:6379`).join(','),
        );
      }
      const files = renderComposeFiles(t);
      for (const r of size.redis) {
        const conf = files[`redis/${r.service}.conf`];
        assert.ok(conf, `redis/${r.service}.conf`);
        const replicaof = lines(conf).filter((l) => l.startsWith('replicaof '));
        assert.deepEqual(
          replicaof,
          r.service === 'redis-master' ? [] : ['replicaof redis-master 6379'],
          r.service,
        );
      }
      const cfg = files['haproxy/haproxy.cfg']!;
      assert.deepEqual(
        servers(cfg, 'backend redis_master'),
        size.redis.map((r) => `server ${r.name} ${r.service}:6379`),
      );
      assert.deepEqual(
        servers(cfg, 'backend apps'),
        size.apps.map((a) => `server ${a.name} ${a.name}:${a.port}`),
      );
    });

    it('renders Kubernetes: one pod per node, the quorum in the settings and the Sentinels budget, every pod to the apps', () => {
      const t = kubernetesTopology(size.counts);
      const res = kubernetesResources(t);
      const find = (file: string, kind: string) => res[file]!.find((o) => o['kind'] === kind)!;
      const spec = (o: Obj) => o['spec'] as Obj;
      assert.equal(spec(find('redis.yaml', 'StatefulSet'))['replicas'], size.counts.redisNodes);
      assert.equal(spec(find('sentinel.yaml', 'StatefulSet'))['replicas'], size.counts.sentinels);
      assert.equal(spec(find('app.yaml', 'Deployment'))['replicas'], size.counts.apps);
      const hpa = spec(find('app.yaml', 'HorizontalPodAutoscaler'));
      assert.deepEqual([hpa['minReplicas'], hpa['maxReplicas']], [size.counts.apps, 3 * size.counts.apps]);
      const sentinelBudget = res['policies.yaml']!.find(
        (o) => o['kind'] === 'PodDisruptionBudget' && (o['metadata'] as Obj)['name'] === 'sentinel',
      )!;
      assert.equal(spec(sentinelBudget)['minAvailable'], size.quorum);
      const files = renderKubernetesFiles(t);
      assert.match(files['kustomization.yaml']!, new RegExp(`"SENTINEL_QUORUM=${size.quorum}"`));
      const pods = (set: string, n: number) =>
        Array.from({ length: n }, (_, i) => `${set}-${i}.${set}.$(POD_NAMESPACE).svc`);
      const sentinels = pods('sentinel', size.counts.sentinels)
        .map((h) => `${h}:26379`)
        .join(',');
      const nodes = pods('redis', size.counts.redisNodes)
        .map((h, i) => `redis-${i + 1}=${h}:6379`)
        .join(',');
      has(files['app.yaml']!, `value: "${sentinels}"`);
      has(files['app.yaml']!, `value: "${nodes}"`);
      has(files['redis.yaml']!, `value: "${sentinels}"`);
    });
  });
}

describe('the counts', () => {
  it('default to 3 nodes, 3 Sentinels, 2 apps and a majority quorum', () => {
    assert.deepEqual(resolveCounts(), { redisNodes: 3, sentinels: 3, apps: 2, quorum: 2 });
    assert.equal(resolveCounts({ sentinels: 5 }).quorum, 3);
    assert.equal(resolveCounts({ sentinels: 1 }).quorum, 1);
    assert.equal(resolveCounts({ sentinels: 4 }).quorum, 3);
  });

  it('refuse what cannot work, naming the flag and the variable', () => {
    const refused = (c: Parameters<typeof resolveCounts>[0], re: RegExp) =>
      assert.throws(
        () => resolveCounts(c),
        (e: unknown) => e instanceof TopologyError && re.test(e.message),
      );
    refused(
      { redisNodes: 1 },
      /^Redis nodes \(--redis-nodes, REDIS_NODES\): must be a whole number from 2 to 9, got 1$/,
    );
    refused({ redisNodes: 10 }, /from 2 to 9, got 10/);
    refused({ sentinels: 0 }, /^Sentinels \(--sentinels, SENTINELS\): .* from 1 to 9, got 0$/);
    refused({ apps: 0 }, /APPS/);
    refused({ sentinels: 3, quorum: 4 }, /^the quorum \(--quorum, SENTINEL_QUORUM\): .* from 1 to 3, got 4$/);
    refused({ redisNodes: 2.5 }, /got 2.5/);
  });

  it('warn of an even number of Sentinels, fewer than 3, or a quorum below a majority', () => {
    assert.deepEqual(countWarnings(resolveCounts()), []);
    assert.deepEqual(countWarnings(resolveCounts({ sentinels: 5 })), []);
    assert.match(countWarnings(resolveCounts({ sentinels: 4 })).join(), /4 Sentinel\(s\): an odd number/);
    assert.match(countWarnings(resolveCounts({ sentinels: 1 })).join(), /1 Sentinel\(s\)/);
    assert.match(
      countWarnings(resolveCounts({ sentinels: 5, quorum: 2 })).join(),
      /quorum 2 is below a majority/,
    );
  });

  it('come from the environment and from flags, the flags first', () => {
    assert.deepEqual(countsFromEnv({ REDIS_NODES: '5', SENTINELS: '5' }), {
      redisNodes: 5,
      sentinels: 5,
      apps: 2,
      quorum: 3,
    });
    assert.throws(
      () => countsFromEnv({ SENTINELS: 'five' }),
      /SENTINELS: must be a whole number, got "five"/,
    );
    const line = countsFromCommandLine(['--redis-nodes', '4', '--detach', '--quorum=2', '--apps', '3'], {
      REDIS_NODES: '7',
      SENTINELS: '5',
    });
    assert.deepEqual(line.counts, { redisNodes: 4, sentinels: 5, apps: 3, quorum: 2 });
    assert.deepEqual(line.rest, ['--detach']);
    assert.match(line.warnings.join(), /below a majority/);
    assert.throws(
      () => countsFromCommandLine(['--sentinels'], {}),
      /--sentinels needs a whole number, got nothing/,
    );
    assert.throws(() => countsFromCommandLine(['--redis-nodes', '1'], {}), /from 2 to 9, got 1/);
  });

  it('give every port a variable, for as many nodes as there are', () => {
    assert.deepEqual(portNames({ redisNodes: 4, sentinels: 1, apps: 1 }), [
      'redis-1',
      'redis-2',
      'redis-3',
      'redis-4',
      'sentinel-1',
      'app-1',
      'haproxy-http',
      'haproxy-https',
      'haproxy-stats',
      'haproxy-redis',
      'redis-exporter-1',
      'redis-exporter-2',
      'redis-exporter-3',
      'redis-exporter-4',
      'sentinel-exporter',
      'prometheus',
      'alertmanager',
    ]);
    assert.deepEqual(
      portsFromEnv(
        { REDIS_4_PORT: '7004', SENTINEL_1_PORT: '7100', HAPROXY_HTTP_PORT: '9000' },
        { redisNodes: 4 },
      ),
      {
        'redis-4': 7004,
        'sentinel-1': 7100,
        'haproxy-http': 9000,
      },
    );
    // A variable of a node the topology does not have is not read.
    assert.deepEqual(portsFromEnv({ REDIS_4_PORT: '7004' }), {});
    assert.throws(
      () => portsFromEnv({ REDIS_5_PORT: 'x' }, { redisNodes: 5 }),
      /REDIS_5_PORT: must be an integer/,
    );
  });
});
