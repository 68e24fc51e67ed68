// The Redis pod of deploy/kubernetes/ with components/tls, against real redis-server and Sentinel
// processes on the loopback: the pod's command and arguments from the StatefulSet, its environment
// with the component's REDIS_TLS_* variables, the Secret's files made by openssl; the component's
// probes (valkey-cli --tls, run as this machine's redis-cli) pass, plain text and a client without
// a certificate are refused, replicas and Sentinels link over TLS, and the master's pre-stop hands
// over over TLS. What a cluster gives differs only as in test/kubernetes.test.ts (addresses, ports).
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { kubernetesComponents, kubernetesResources, NAMES } from '../src/ops/render/kubernetes.ts';
import { freePort } from '../src/ops/supervisor/ports.ts';
import { waitFor } from '../src/ops/supervisor/wait.ts';
import { makeCa, makeLeaf } from '../src/ops/tls/certs.ts';
import { tempDirs } from './helpers/stack.ts';

const OUT = fileURLToPath(new URL('../deploy/kubernetes/', import.meta.url));
const SCRIPTS = fileURLToPath(new URL('../deploy/scripts/', import.meta.url));
const exec = promisify(execFile);
const tempDir = tempDirs();
const P = (s: string) => `k8s-tls-${s}-password-0123456789abcdef`;
const SECRETS: Record<string, string> = Object.fromEntries(
  [
    'REDIS_APP',
    'REDIS_REPLICATION',
    'REDIS_SENTINEL_USER',
    'REDIS_OPERATOR',
    'REDIS_HAPROXY',
    'REDIS_EXPORTER',
    'REDIS_BACKUP',
    'SENTINEL',
    'SENTINEL_READER',
  ].map((k) => [`${k}_PASSWORD`, P(k.toLowerCase().replace(/_/g, '-'))]),
);
const SETTINGS: Record<string, string> = {
  SENTINEL_QUORUM: '2',
  SENTINEL_DOWN_AFTER: '2000',
  SENTINEL_FAILOVER: '2000',
};

// biome-ignore lint/suspicious/noExplicitAny: manifests are read as untyped data here
type Any = any;
const base: Any = Object.values(kubernetesResources())
  .flat()
  .find((o: Any) => o.kind === 'StatefulSet' && o.metadata.name === NAMES.redis);
const patch: Any = kubernetesComponents()['components/tls/redis.yaml']![0];
const manifest = base.spec.template.spec.containers[0];
const tlsContainer = patch.spec.template.spec.containers[0];
const TLS = tempDir('k8s-tls-secret');

/** The container's environment as the kubelet builds it from the base and the component's patch. */
function podEnv(pod: string, overrides: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = { PATH: process.env['PATH'] ?? '/usr/bin:/bin' };
  for (const e of [...manifest.env, ...tlsContainer.env] as Any[]) {
    if (e.value !== undefined)
      out[e.name] = String(e.value)
        .replace(/\$\((\w+)\)/g, (_, v) => out[v] ?? '')
        .replace(/^\/tls\//, `${TLS}/`);
    else if (e.valueFrom.fieldRef)
      out[e.name] = e.valueFrom.fieldRef.fieldPath === 'metadata.name' ? pod : 'test';
    else if (e.valueFrom.secretKeyRef) out[e.name] = SECRETS[e.valueFrom.secretKeyRef.key]!;
    else out[e.name] = SETTINGS[e.valueFrom.configMapKeyRef.key]!;
  }
  Object.assign(out, overrides);
  return out;
}

interface Proc {
  pod: string;
  host: string;
  port: number;
  proc?: ChildProcess;
  log: string;
}
const procs = new Set<ChildProcess>();
function start(args: string[], env: Record<string, string>, p: Proc) {
  const proc = spawn('sh', args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const s of [proc.stdout!, proc.stderr!]) s.on('data', (d) => (p.log += String(d)));
  procs.add(proc);
  p.proc = proc;
}

/** redis-cli with `how`: the Secret's certificate, the CA only, or plain; '' when refused. */
async function cli(
  p: Proc,
  how: 'tls' | 'ca' | 'plain',
  args: string[],
  auth = SECRETS['REDIS_OPERATOR_PASSWORD']!,
) {
  const tls = {
    tls: ['--tls', '--cacert', `${TLS}/ca.crt`, '--cert', `${TLS}/tls.crt`, '--key', `${TLS}/tls.key`],
    ca: ['--tls', '--cacert', `${TLS}/ca.crt`],
    plain: [],
  }[how];
  const user = auth === SECRETS['REDIS_OPERATOR_PASSWORD'] ? ['--user', 'operator'] : [];
  try {
    const { stdout } = await exec(
      'redis-cli',
      [...tls, '--no-auth-warning', '--raw', '-h', p.host, '-p', String(p.port), ...user, ...args],
      {
        env: { ...process.env, REDISCLI_AUTH: auth },
        timeout: 5000,
      },
    );
    return stdout.trim();
  } catch {
    return '';
  }
}
/** The component's probe as the kubelet runs it, on this node's address and port. */
async function probe(p: Proc, which: 'readinessProbe' | 'livenessProbe'): Promise<number> {
  const [sh, c, script] = tlsContainer[which].exec.command as string[];
  const local = script!
    .replaceAll('/tls/', `${TLS}/`)
    .replace('valkey-cli ', `redis-cli -h ${p.host} -p ${p.port} `);
  const env = { ...process.env, REDISCLI_AUTH: SECRETS['REDIS_HAPROXY_PASSWORD']! };
  return exec(sh!, [c!, local], { env, timeout: 5000 }).then(
    () => 0,
    (e: { code: number }) => e.code,
  );
}

describe('the Redis pod with components/tls against real Redis and Sentinel processes', () => {
  const nodes: Proc[] = [];
  const sentinels: Proc[] = [];
  const sentinelList = () => sentinels.map((s) => `${s.host}:${s.port}`).join(',');

  before(async () => {
    // The Secret's files: ca.crt, tls.crt, tls.key (one certificate for every pod, as cert-manager's).
    makeCa(TLS);
    makeLeaf(TLS, 'tls', ['localhost', '127.0.0.1', '127.0.0.11', '127.0.0.12', '127.0.0.13']);
    for (const i of [0, 1, 2])
      nodes.push({ pod: `redis-${i}`, host: `127.0.0.${11 + i}`, port: await freePort(), log: '' });
    for (const i of [0, 1, 2])
      sentinels.push({ pod: `sentinel-${i}`, host: '127.0.0.1', port: await freePort(), log: '' });
    for (const n of nodes) {
      const env = podEnv(n.pod, {
        REDIS_ANNOUNCE_HOST: n.host,
        REDIS_PORT: String(n.port),
        INITIAL_MASTER_HOST: nodes[0]!.host,
        INITIAL_MASTER_PORT: String(nodes[0]!.port),
        REDIS_SENTINELS: sentinelList(),
      });
      const dir = tempDir('k8s-tls-redis');
      writeFileSync(
        join(dir, 'redis.conf'),
        readFileSync(join(OUT, 'redis.conf'), 'utf8').replace(/^dir \/data$/m, `dir ${dir}`),
      );
      const args = (manifest.args as string[]).map((a, i) =>
        i === 0
          ? 'redis-server'
          : a === '/etc/redis/redis.conf'
            ? join(dir, 'redis.conf')
            : a.replace(/\$\((\w+)\)/g, (_, v) => env[v]!),
      );
      args.push('--bind', n.host, '127.0.0.1');
      start([join(SCRIPTS, 'redis-pod-start.sh'), ...args], env, n);
    }
    for (const n of nodes)
      await waitFor(`${n.pod} on TLS`, async () => (await cli(n, 'tls', ['ping'])) === 'PONG', {
        timeoutMs: 15_000,
        abort: () => (n.proc?.exitCode !== null ? `${n.pod} exited: ${n.log}` : undefined),
      }).catch((e: Error) => {
        throw new Error(`${e.message}\n${n.log.slice(-1500)}`);
      });
    for (const s of sentinels)
      start(
        [join(SCRIPTS, 'sentinel-entrypoint.sh')],
        {
          PATH: process.env['PATH'] ?? '/usr/bin:/bin',
          ...SETTINGS,
          ...Object.fromEntries(
            ['REDIS_TLS_CA_FILE', 'REDIS_TLS_CERT_FILE', 'REDIS_TLS_KEY_FILE'].map((k) => [
              k,
              podEnv('x', {})[k]!,
            ]),
          ),
          MASTER_NAME: 'mymaster',
          MASTER_HOST: nodes[0]!.host,
          MASTER_PORT: String(nodes[0]!.port),
          SENTINEL_PORT: String(s.port),
          SENTINEL_ANNOUNCE_HOST: '127.0.0.1',
          SENTINEL_DIR: tempDir('k8s-tls-sentinel'),
          REDIS_SENTINEL_USER_PASSWORD: SECRETS['REDIS_SENTINEL_USER_PASSWORD']!,
          SENTINEL_PASSWORD: SECRETS['SENTINEL_PASSWORD']!,
          SENTINEL_READER_PASSWORD: SECRETS['SENTINEL_READER_PASSWORD']!,
        },
        s,
      );
    for (const s of sentinels)
      await waitFor(
        `${s.pod} to know both replicas and the other Sentinels over TLS`,
        async () => {
          const replicas = await cli(
            s,
            'tls',
            ['sentinel', 'replicas', 'mymaster'],
            SECRETS['SENTINEL_PASSWORD'],
          );
          const others = await cli(
            s,
            'tls',
            ['sentinel', 'sentinels', 'mymaster'],
            SECRETS['SENTINEL_PASSWORD'],
          );
          return (
            (replicas.match(/^master-link-status\nok$/gm) ?? []).length === 2 &&
            (others.match(/^name$/gm) ?? []).length === 2
          );
        },
        { timeoutMs: 30_000 },
      );
  });

  after(async () => {
    for (const p of procs) p.kill('SIGKILL');
  });

  it("the component's probes pass over TLS; plain text and a client without a certificate are refused", async () => {
    for (const n of nodes) {
      assert.equal(await probe(n, 'readinessProbe'), 0, `${n.pod} readiness: ${n.log.slice(-300)}`);
      assert.equal(await probe(n, 'livenessProbe'), 0, `${n.pod} liveness`);
      assert.equal(await cli(n, 'plain', ['ping']), '', `${n.pod}: plain text refused`);
      assert.equal(await cli(n, 'ca', ['ping']), '', `${n.pod}: no client certificate, refused`);
    }
    for (const s of sentinels) assert.equal(await cli(s, 'ca', ['ping'], SECRETS['SENTINEL_PASSWORD']), '');
    const info = await cli(nodes[0]!, 'tls', ['info', 'replication']);
    assert.match(info, /role:master/);
    assert.match(info, /connected_slaves:2/);
  });

  it("the master's pre-stop hands over to a replica over TLS; the old master follows it", async () => {
    const env = podEnv(nodes[0]!.pod, {
      REDIS_ANNOUNCE_HOST: nodes[0]!.host,
      REDIS_PORT: String(nodes[0]!.port),
      REDIS_SENTINELS: sentinelList(),
    });
    const r = await exec('sh', [join(SCRIPTS, 'redis-prestop.sh')], { env, timeout: 30_000 }).catch(
      (e) => e as { stderr: string; code: number },
    );
    assert.ok(!('code' in r) || r.code === 0, String(r.stderr));
    const master = await cli(
      sentinels[0]!,
      'tls',
      ['sentinel', 'get-master-addr-by-name', 'mymaster'],
      SECRETS['SENTINEL_PASSWORD'],
    );
    assert.notEqual(master.split('\n')[0], nodes[0]!.host);
    await waitFor(
      'the old master a replica',
      async () =>
        /role:slave[\s\S]*master_link_status:up/.test(await cli(nodes[0]!, 'tls', ['info', 'replication'])),
      { timeoutMs: 15_000 },
    );
  });
});
