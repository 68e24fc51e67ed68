// The pieces of deploy/kubernetes/ with logic, run against real redis-server and redis-sentinel
// processes on the loopback: the Redis pod's start (deploy/scripts/redis-pod-start.sh, then
// redis-entrypoint.sh) and its pre-stop hand-over (deploy/scripts/redis-prestop.sh), the files the
// ConfigMap ships, with the environment and the arguments of the StatefulSet's container. Only what
// a cluster gives a pod differs: each node has a loopback address instead of its stable DNS name,
// and ports picked free at run time.
// Over 300 lines: the pod's start and hand-over scripts share the real Redis and Sentinels started once.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { REDIS_PROGRAMS } from '../src/ops/render/compose-names.ts';
import { kubernetesResources, NAMES } from '../src/ops/render/kubernetes.ts';
import { freePort } from '../src/ops/supervisor/ports.ts';
import { waitFor } from '../src/ops/supervisor/wait.ts';
import { tempDirs } from './helpers/stack.ts';

const OUT = fileURLToPath(new URL('../deploy/kubernetes/', import.meta.url));
const SCRIPTS = fileURLToPath(new URL('../deploy/scripts/', import.meta.url));
const exec = promisify(execFile);
const tempDir = tempDirs();

const SECRETS: Record<string, string> = {
  REDIS_APP_PASSWORD: 'k8s-app-password-0123456789abcdef0123',
  REDIS_REPLICATION_PASSWORD: 'k8s-replication-password-0123456789ab',
  REDIS_SENTINEL_USER_PASSWORD: 'k8s-sentinel-user-password-0123456789',
  REDIS_OPERATOR_PASSWORD: 'k8s-operator-password-0123456789abcdef',
  REDIS_HAPROXY_PASSWORD: 'k8s-haproxy-password-0123456789abcdef',
  REDIS_EXPORTER_PASSWORD: 'k8s-exporter-password-0123456789abcdef',
  REDIS_BACKUP_PASSWORD: 'k8s-backup-password-0123456789abcdefgh',
  SENTINEL_PASSWORD: 'k8s-sentinel-password-0123456789abcdef',
  SENTINEL_READER_PASSWORD: 'k8s-sentinel-reader-password-0123456789',
};
/** Short Sentinel timings, so a failover after a kill takes a second or two. */
const SETTINGS: Record<string, string> = {
  SENTINEL_QUORUM: '2',
  SENTINEL_DOWN_AFTER: '2000',
  SENTINEL_FAILOVER: '2000',
};
const MASTER_NAME = 'mymaster';

// biome-ignore lint/suspicious/noExplicitAny: manifests are read as untyped data here
type Any = any;
const redisSet: Any = Object.values(kubernetesResources())
  .flat()
  .find((o: Any) => o.kind === 'StatefulSet' && o.metadata.name === NAMES.redis);
const manifest = redisSet.spec.template.spec.containers[0];

/** The container's environment as the kubelet would build it, with `overrides` for what a cluster
 * gives differently here (each must be a variable the manifest sets). */
function podEnv(pod: string, overrides: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = { PATH: process.env['PATH'] ?? '/usr/bin:/bin' };
  for (const e of manifest.env as Any[]) {
    if (e.value !== undefined) out[e.name] = String(e.value).replace(/\$\((\w+)\)/g, (_, v) => out[v] ?? '');
    else if (e.valueFrom.fieldRef)
      out[e.name] = e.valueFrom.fieldRef.fieldPath === 'metadata.name' ? pod : 'test';
    else if (e.valueFrom.secretKeyRef) out[e.name] = SECRETS[e.valueFrom.secretKeyRef.key]!;
    else out[e.name] = SETTINGS[e.valueFrom.configMapKeyRef.key]!;
  }
  for (const [k, v] of Object.entries(overrides)) {
    assert.ok(k in out, `the manifest sets no ${k}`);
    out[k] = v;
  }
  return out;
}

interface Node {
  pod: string;
  host: string;
  port: number;
  proc?: ChildProcess;
  log: string;
}
interface Sentinel {
  port: number;
  proc?: ChildProcess;
  log: string;
}
const procs = new Set<ChildProcess>();

function start(cmd: string, args: string[], env: Record<string, string>, onOutput: (s: string) => void) {
  const proc = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stdout!.on('data', (d) => onOutput(String(d)));
  proc.stderr!.on('data', (d) => onOutput(String(d)));
  procs.add(proc);
  proc.on('exit', () => procs.delete(proc));
  return proc;
}

async function stop(proc: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM') {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill(signal);
  const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

async function cli(port: number, args: string[], auth: 'operator' | 'sentinel', host = '127.0.0.1') {
  const user = auth === 'operator' ? ['--user', 'operator'] : [];
  const password = auth === 'operator' ? SECRETS['REDIS_OPERATOR_PASSWORD'] : SECRETS['SENTINEL_PASSWORD'];
  const { stdout } = await exec(
    'redis-cli',
    ['--no-auth-warning', '--raw', '-h', host, '-p', String(port), ...user, ...args],
    {
      env: { ...process.env, REDISCLI_AUTH: password },
      timeout: 5000,
    },
  );
  return stdout.trim();
}
const info = async (n: Node) =>
  Object.fromEntries(
    (await cli(n.port, ['info', 'replication'], 'operator'))
      .split(/\r?\n/)
      .map((l) => l.split(':') as [string, string]),
  );

describe('the Redis pod of deploy/kubernetes/ against real Redis and Sentinel processes', () => {
  const nodes: Node[] = [];
  const sentinels: Sentinel[] = [];
  const sentinelList = () => sentinels.map((s) => `127.0.0.1:${s.port}`).join(',');

  /** A Redis pod's container: the manifest's command and arguments, redis.conf from the output. */
  function startNode(n: Node) {
    const env = podEnv(n.pod, {
      REDIS_ANNOUNCE_HOST: n.host,
      REDIS_PORT: String(n.port),
      INITIAL_MASTER_HOST: nodes[0]!.host,
      INITIAL_MASTER_PORT: String(nodes[0]!.port),
      REDIS_SENTINELS: sentinelList(),
    });
    // The committed redis.conf with a directory of its own for /data (Redis enters it as it reads
    // the line, before any argument could move it).
    const dir = tempDir('k8s-redis');
    const conf = readFileSync(join(OUT, 'redis.conf'), 'utf8').replace(/^dir \/data$/m, `dir ${dir}`);
    assert.ok(conf.includes(`dir ${dir}`));
    writeFileSync(join(dir, 'redis.conf'), conf);
    // The image runs Valkey's server; this machine runs Redis 7.0's, which reads the same config.
    assert.equal(manifest.args[0], REDIS_PROGRAMS.server);
    const args = (manifest.args as string[]).map((a, i) =>
      i === 0
        ? 'redis-server'
        : a === '/etc/redis/redis.conf'
          ? join(dir, 'redis.conf')
          : a.replace(/\$\((\w+)\)/g, (_, v) => env[v]!),
    );
    // Where the pod has an address of its own: this node's loopback address and a free port.
    args.push('--port', String(n.port), '--bind', n.host, '127.0.0.1');
    assert.equal(manifest.command[1], '/scripts/redis-pod-start.sh');
    n.log = '';
    n.proc = start('sh', [join(SCRIPTS, 'redis-pod-start.sh'), ...args], env, (s) => {
      n.log += s;
    });
  }
  const prestop = (n: Node) =>
    exec('sh', [join(SCRIPTS, 'redis-prestop.sh')], {
      env: podEnv(n.pod, {
        REDIS_ANNOUNCE_HOST: n.host,
        REDIS_PORT: String(n.port),
        REDIS_SENTINELS: sentinelList(),
      }),
      timeout: 30_000,
    }).then(
      (r) => ({ code: 0, stderr: r.stderr }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
  /** Stops a wait at once when the node's process is gone, with its output. */
  const exited = (n: Node) => () => (n.proc?.exitCode !== null ? `${n.pod} exited: ${n.log}` : undefined);
  const ping = async (n: Node) => (await cli(n.port, ['ping'], 'operator')) === 'PONG';
  /** host:port each Sentinel names master. */
  const named = () =>
    Promise.all(
      sentinels.map((s) =>
        cli(s.port, ['sentinel', 'get-master-addr-by-name', MASTER_NAME], 'sentinel').then(
          (r) => r.split('\n').join(':'),
          () => '',
        ),
      ),
    );
  const agreed = async () => {
    const views = await named();
    return views.every((v) => v === views[0]) && views[0] ? views[0] : undefined;
  };
  /** Every Sentinel names the same master, has no failover in progress, and sees both replicas up. */
  const settled = () =>
    waitFor(
      'the Sentinels to settle',
      async () => {
        if (!(await agreed())) return false;
        for (const s of sentinels) {
          const lines = (await cli(s.port, ['sentinel', 'master', MASTER_NAME], 'sentinel')).split('\n');
          const view: Record<string, string> = {};
          for (let i = 0; i + 1 < lines.length; i += 2) view[lines[i]!] = lines[i + 1]!;
          if (view['flags'] !== 'master' || view['num-slaves'] !== '2') return false;
          const replicas = await cli(s.port, ['sentinel', 'replicas', MASTER_NAME], 'sentinel');
          if ((replicas.match(/^master-link-status\nok$/gm) ?? []).length !== 2) return false;
        }
        return true;
      },
      { timeoutMs: 20_000 },
    );
  const nodeAt = (addr: string) => nodes.find((n) => `${n.host}:${n.port}` === addr)!;

  before(async () => {
    for (const i of [0, 1, 2])
      nodes.push({ pod: `${NAMES.redis}-${i}`, host: `127.0.0.${11 + i}`, port: await freePort(), log: '' });
    for (let i = 0; i < 3; i++) sentinels.push({ port: await freePort(), log: '' });
    // The deployment's first start: no Sentinel answers yet.
    for (const n of nodes) startNode(n);
    for (const n of nodes)
      await waitFor(`${n.pod} to answer`, () => ping(n), { timeoutMs: 10_000, abort: exited(n) });
    for (const n of nodes.slice(1))
      await waitFor(`${n.pod} to sync`, async () => (await info(n))['master_link_status'] === 'up');
    for (const s of sentinels) {
      const env = {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        ...SETTINGS,
        MASTER_NAME,
        MASTER_HOST: nodes[0]!.host,
        MASTER_PORT: String(nodes[0]!.port),
        SENTINEL_PORT: String(s.port),
        SENTINEL_ANNOUNCE_HOST: '127.0.0.1',
        SENTINEL_DIR: tempDir('k8s-sentinel'),
        REDIS_SENTINEL_USER_PASSWORD: SECRETS['REDIS_SENTINEL_USER_PASSWORD']!,
        SENTINEL_PASSWORD: SECRETS['SENTINEL_PASSWORD']!,
        SENTINEL_READER_PASSWORD: SECRETS['SENTINEL_READER_PASSWORD']!,
      };
      s.proc = start('sh', [join(SCRIPTS, 'sentinel-entrypoint.sh')], env, (out) => {
        s.log += out;
      });
    }
    // Ready when every Sentinel knows both replicas and the two other Sentinels.
    for (const s of sentinels)
      await waitFor(`sentinel :${s.port} to know the topology`, async () => {
        const replicas = await cli(s.port, ['sentinel', 'replicas', MASTER_NAME], 'sentinel');
        const others = await cli(s.port, ['sentinel', 'sentinels', MASTER_NAME], 'sentinel');
        return (
          (replicas.match(/^name$/gm) ?? []).length === 2 && (others.match(/^name$/gm) ?? []).length === 2
        );
      });
  });

  after(async () => {
    await Promise.all([...procs].map((p) => stop(p, 'SIGKILL')));
  });

  it('first start: pod 0 is the master, every other pod its replica (from the ordinal)', async () => {
    assert.match(nodes[0]!.log, /no Sentinel named a master: starting as configured/);
    assert.equal((await info(nodes[0]!))['role'], 'master');
    for (const n of nodes.slice(1)) {
      const i = await info(n);
      assert.equal(i['role'], 'slave');
      assert.equal(`${i['master_host']}:${i['master_port']}`, `${nodes[0]!.host}:${nodes[0]!.port}`);
    }
    assert.equal(await agreed(), `${nodes[0]!.host}:${nodes[0]!.port}`);
  });

  it("a replica's pre-stop exits at once and changes nothing", async () => {
    const started = Date.now();
    const r = await prestop(nodes[1]!);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /not the master the Sentinels name \(role slave\): nothing to hand over/);
    assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
    assert.equal(await agreed(), `${nodes[0]!.host}:${nodes[0]!.port}`);
  });

  it("the master's pre-stop: a planned failover, nothing lost, the old master a replica, writes not paused", async (t) => {
    const old = nodes[0]!;
    assert.equal(await cli(old.port, ['set', 'k8s:before', 'kept'], 'operator'), 'OK');
    assert.equal(await cli(old.port, ['wait', '2', '2000'], 'operator'), '2');
    const started = Date.now();
    const r = await prestop(old);
    const took = Date.now() - started;
    assert.equal(r.code, 0, r.stderr);
    t.diagnostic(r.stderr.trim());
    assert.match(r.stderr, /handed over to 127\.0\.0\.1[23]:\d+ in \d+ ms/);
    const timeoutS = Number(manifest.env.find((e: Any) => e.name === 'PRESTOP_TIMEOUT').value);
    assert.ok(took < timeoutS * 1000, `took ${took} ms`);
    const master = await agreed();
    assert.ok(master && master !== `${old.host}:${old.port}`, `the Sentinels name ${master}`);
    const next = nodeAt(master);
    assert.equal((await info(next))['role'], 'master');
    assert.equal(await cli(next.port, ['get', 'k8s:before'], 'operator'), 'kept');
    // The old master follows the new one at once, and its pause is over: a write is refused, not held.
    const i = await info(old);
    assert.equal(i['role'], 'slave');
    assert.equal(`${i['master_host']}:${i['master_port']}`, master);
    const t0 = Date.now();
    await assert.rejects(
      cli(old.port, ['set', 'k8s:after', 'x'], 'operator').then((out) => {
        if (/READONLY/.test(out)) throw new Error(out);
        return out;
      }),
      /READONLY/,
    );
    assert.ok(Date.now() - t0 < 1000, 'the write was held by a pause');
    await waitFor(
      'the old master to sync from the new one',
      async () => (await info(old))['master_link_status'] === 'up',
    );
  });

  it('a killed master comes back as a replica of the new master, never as a second master', async () => {
    // Killed only once the hand-over is over everywhere: a kill while the leading Sentinel still
    // reconfigures the replicas left the Sentinels disagreeing for longer than this test waits.
    await settled();
    const dead = nodeAt((await agreed())!);
    await stop(dead.proc, 'SIGKILL');
    let master = '';
    await waitFor(
      'the Sentinels to elect another master',
      async () => {
        master = (await agreed()) ?? '';
        return master !== '' && master !== `${dead.host}:${dead.port}`;
      },
      { timeoutMs: 15_000 },
    ).catch((err) => {
      throw new Error(`${err.message}; views ${master}\n${sentinels.map((s) => s.log).join('\n')}`);
    });
    startNode(dead);
    await waitFor(`${dead.pod} to answer`, () => ping(dead), { timeoutMs: 10_000, abort: exited(dead) });
    // From its first answer on, a replica.
    assert.equal((await info(dead))['role'], 'slave');
    assert.match(
      dead.log,
      new RegExp(`the Sentinels name ${master.replace(/\./g, '\\.')} master: starting as its replica`),
    );
    await waitFor(`${dead.pod} to sync`, async () => {
      const i = await info(dead);
      return i['master_link_status'] === 'up' && `${i['master_host']}:${i['master_port']}` === master;
    });
    const masters = await Promise.all(nodes.map(async (n) => (await info(n))['role']));
    assert.equal(masters.filter((r) => r === 'master').length, 1);
  });
});
