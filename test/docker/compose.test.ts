/**
 * Over 300 lines: every case runs on one compose project (building and starting it takes minutes).
 * deploy/compose.yaml on a real Docker engine (npm run test:docker; scripts/test-docker.sh starts the
 * engine and builds the stand-in images first). Run last by npm run test:all, not by npm test: it
 * builds images and takes minutes. Every wait is on a condition, polled with a deadline (pollUntil).
 *
 * One compose project with a unique name, every service but RedisInsight (profile "tools"), the
 * HAProxy fronts published on 127.0.0.1 at free ports by an override file, random secrets. Test
 * traffic goes only to those published ports and through `docker exec`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { PRODUCTS } from '../../src/app/products.ts';
import { parseSentinelTimers, timersMissing } from '../../src/ha/sentinel/timers.ts';
import { REDIS_PROGRAMS } from '../../src/ops/render/compose-names.ts';
import { bcryptHash } from '../../src/ops/supervisor/monitoring.ts';
import { freePort } from '../../src/ops/supervisor/ports.ts';
import {
  alertLine,
  alertmanagerAlerts,
  type MonitoringAccess,
  promTargets,
  waitAlerts,
} from '../../src/tools/monitor/api.ts';
import { Client } from '../helpers/http.ts';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const DEPLOY = join(ROOT, 'deploy');
const PROJECT = `rhsdocker${process.pid}${randomBytes(3).toString('hex')}`;
const PASSWORD = 'sup3r-secret-pass';
const REDIS_SERVICES = ['redis-master', 'redis-replica-1', 'redis-replica-2'] as const;
const SERVICES = [
  ...REDIS_SERVICES,
  'redis-sentinel-1',
  'redis-sentinel-2',
  'redis-sentinel-3',
  'app-1',
  'app-2',
  'haproxy',
];
/** The `monitoring` profile: an exporter per node, the Sentinels' exporter, Alertmanager, Prometheus. */
const MONITORING = [
  'redis-exporter-1',
  'redis-exporter-2',
  'redis-exporter-3',
  'sentinel-exporter',
  'alertmanager',
  'prometheus',
];
/**
 * Other values than the compose defaults (2, 2000, 3000), read back from the Sentinels. Not a quorum
 * of 1: then each Sentinel starts a failover of its own the moment it alone sees the master down,
 * and on this engine that split the votes (a promotion after 9 s instead of 2) or ran a second
 * failover on top of the first (two masters for 11 s).
 */
const SENTINEL = { quorum: '3', downAfter: '2500', failover: '4000' };

const secret = () => randomBytes(24).toString('hex'); // 48 characters
const env: NodeJS.ProcessEnv = {
  ...process.env,
  COMPOSE_DOCKER_CLI_BUILD: '0',
  DOCKER_BUILDKIT: '0',
  REDIS_APP_PASSWORD: secret(),
  REDIS_REPLICATION_PASSWORD: secret(),
  REDIS_SENTINEL_USER_PASSWORD: secret(),
  REDIS_OPERATOR_PASSWORD: secret(),
  REDIS_HAPROXY_PASSWORD: secret(),
  REDIS_EXPORTER_PASSWORD: secret(),
  REDIS_BACKUP_PASSWORD: secret(),
  SENTINEL_PASSWORD: secret(),
  SENTINEL_READER_PASSWORD: secret(),
  SESSION_SECRET: secret(),
  HAPROXY_OPERATOR_PASSWORD: secret(),
  MONITORING_PASSWORD: secret(),
  SENTINEL_QUORUM: SENTINEL.quorum,
  SENTINEL_DOWN_AFTER: SENTINEL.downAfter,
  SENTINEL_FAILOVER: SENTINEL.failover,
};
env['MONITORING_PASSWORD_HASH'] = bcryptHash(env['MONITORING_PASSWORD']!);
// A network of its own, so that two runs (or another project) do not collide on 10.56.0.0/24.
env['STACK_NETWORK'] = `10.${randomInt(160, 250)}.${randomInt(0, 255)}`;

let dir = '';
let files: string[] = [];
const ports = { site: 0, operator: 0, redis: 0, prometheus: 0, alertmanager: 0 };
const monitoring = (): MonitoringAccess => ({
  prometheusUrl: `http://127.0.0.1:${ports.prometheus}`,
  alertmanagerUrl: `http://127.0.0.1:${ports.alertmanager}`,
  authorization: `Basic ${Buffer.from(`monitoring:${env['MONITORING_PASSWORD']}`).toString('base64')}`,
});
const figures: Record<string, unknown> = {};
const t0 = Date.now();

async function compose(...args: string[]): Promise<string> {
  const { stdout } = await run('docker-compose', ['-p', PROJECT, ...files, ...args], {
    env,
    maxBuffer: 64 << 20,
  });
  return stdout;
}

async function docker(...args: string[]): Promise<string> {
  const { stdout } = await run('docker', args, { env, maxBuffer: 16 << 20 });
  return stdout.trim();
}

const ids = new Map<string, string>();
async function container(service: string): Promise<string> {
  let id = ids.get(service);
  if (!id) {
    id = (await compose('ps', '-q', service)).trim();
    assert.ok(id, `no container for ${service}`);
    ids.set(service, id);
  }
  return id;
}

async function health(service: string): Promise<string> {
  return docker(
    'inspect',
    '--format',
    '{{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}',
    await container(service),
  );
}

/**
 * Resolves once `check` holds, asking it again every `everyMs`; fails after `timeoutMs`, with
 * `what` and what `check` last described (it may return a string: a description of a state that
 * does not hold yet).
 */
async function pollUntil(
  what: string,
  check: () => Promise<boolean | string> | boolean | string,
  timeoutMs: number,
  everyMs = 250,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await check();
    if (state === true) return;
    if (Date.now() >= deadline)
      throw new Error(`${what}: not within ${timeoutMs} ms${state ? `: ${state}` : ''}`);
    await sleep(everyMs);
  }
}

async function healthOf(services: readonly string[]): Promise<string[]> {
  return Promise.all(services.map(async (s) => `${s}=${await health(s).catch(() => '?')}`));
}

async function waitHealthy(services: readonly string[], timeoutMs: number): Promise<void> {
  await pollUntil(
    'healthy',
    async () => {
      const states = await healthOf(services);
      return states.every((s) => s.endsWith('running/healthy')) || states.join(' ');
    },
    timeoutMs,
    500,
  );
}

/** The CLI on a Sentinel container (the first by default), logged in with the Sentinels' password. */
async function sentinel(...args: string[]): Promise<string> {
  return sentinelOn('redis-sentinel-1', ...args);
}

async function sentinelOn(service: string, ...args: string[]): Promise<string> {
  return docker(
    'exec',
    await container(service),
    REDIS_PROGRAMS.cli,
    '-p',
    '26379',
    '--no-auth-warning',
    '-a',
    env['SENTINEL_PASSWORD']!,
    ...args,
  );
}

async function masterService(): Promise<string> {
  const [host] = (await sentinel('sentinel', 'get-master-addr-by-name', 'mymaster')).split('\n');
  const service = REDIS_SERVICES.find((s) => s === host?.trim());
  assert.ok(service, `Sentinel names an unknown master: ${host}`);
  return service;
}

/** role:master / role:slave of a Redis container, or "down" when it does not answer. */
async function role(service: string): Promise<string> {
  try {
    const info = await run(
      'docker',
      [
        'exec',
        await container(service),
        REDIS_PROGRAMS.cli,
        '--user',
        'haproxy',
        '-p',
        '6379',
        'info',
        'replication',
      ],
      { env, timeout: 2000 },
    );
    const r = /role:(\w+)/.exec(info.stdout)?.[1] ?? 'down';
    const link = /master_link_status:(\w+)/.exec(info.stdout)?.[1];
    return link ? `${r}(link ${link})` : r;
  } catch {
    return 'down';
  }
}

async function operatorCli(service: string, ...args: string[]): Promise<string> {
  return docker(
    'exec',
    '-e',
    `REDISCLI_AUTH=${env['REDIS_OPERATOR_PASSWORD']}`,
    await container(service),
    REDIS_PROGRAMS.cli,
    '--user',
    'operator',
    '-p',
    '6379',
    ...args,
  );
}

/** `run --rm` of a service of a profile (backup, restore): its exit code and output (both streams). */
async function profileRun(profile: string, ...args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(
      'docker-compose',
      ['-p', PROJECT, ...files, '--profile', profile, 'run', '--rm', '-T', ...args],
      { env, maxBuffer: 16 << 20, timeout: 300_000 },
    );
    return { code: 0, output: `${stdout}${stderr}` };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof err.code === 'number' ? err.code : -1,
      output: `${err.stdout ?? ''}${err.stderr ?? ''}`,
    };
  }
}

async function crash(service: string): Promise<void> {
  // SIGKILL of the container's main process from the host, as a crash: the restart policy
  // (unless-stopped) applies. `docker kill` would mark the container as stopped by hand.
  const pid = Number(await docker('inspect', '--format', '{{.State.Pid}}', await container(service)));
  assert.ok(pid > 0, `${service} is not running`);
  process.kill(pid, 'SIGKILL');
}

async function restartCount(service: string): Promise<number> {
  return Number(await docker('inspect', '--format', '{{.RestartCount}}', await container(service)));
}

const site = () => `http://127.0.0.1:${ports.site}`;
let users = 0;
async function loggedIn(): Promise<{ c: Client; email: string; token: string }> {
  const c = new Client(site());
  const email = `docker-${++users}-${randomBytes(3).toString('hex')}@example.org`;
  const reg = await c.request('POST', '/api/register', { json: { email, password: PASSWORD } });
  assert.equal(reg.status, 201, reg.text);
  const login = await c.request('POST', '/api/login', { json: { email, password: PASSWORD } });
  assert.equal(login.status, 200, login.text);
  return { c, email, token: String(login.json()['csrfToken']) };
}

/** n written into the cart in base 100 over three products (each quantity at most 99). */
const encode = (n: number) => ({
  [PRODUCTS[0]!.id]: n % 100,
  [PRODUCTS[1]!.id]: Math.floor(n / 100) % 100,
  [PRODUCTS[2]!.id]: Math.floor(n / 10_000) % 100,
});
const decode = (items: Record<string, unknown>) =>
  Number(items[PRODUCTS[0]!.id] ?? 0) +
  100 * Number(items[PRODUCTS[1]!.id] ?? 0) +
  10_000 * Number(items[PRODUCTS[2]!.id] ?? 0);

/** Resolves once the load has had `n` reads and `n` writes acknowledged since `from`. */
async function loadRunning(load: Load, n = 20, from = { reads: 0, lastAcked: 0 }): Promise<void> {
  await pollUntil(
    `${n} reads and ${n} acknowledged writes`,
    () =>
      (load.reads - from.reads >= n && load.lastAcked - from.lastAcked >= n) ||
      `${load.reads - from.reads} reads, ${load.lastAcked - from.lastAcked} acknowledged writes`,
    30_000,
    PACE_MS,
  );
}

interface Load {
  stop: () => Promise<void>;
  reads: number;
  readFailures: string[];
  writes: number;
  writeFailures: string[];
  lastAcked: number;
}

/**
 * The load's pace: the reader and the writer each send their next request 20 ms after the answer
 * to the last one (a rate, about 40 requests a second, not a wait for a state).
 */
const PACE_MS = 20;

/** Every load started: stopped after the tests whatever happened (a loop left running keeps the process alive). */
const loads: Load[] = [];

/** A reader and a writer through the front, each one request every PACE_MS. */
async function startLoad(): Promise<Load & { email: string }> {
  const { c, email, token } = await loggedIn();
  const reader = new Client(site());
  for (const [k, v] of c.cookies) reader.cookies.set(k, v);
  let running = true;
  const load: Load = {
    stop: async () => {},
    reads: 0,
    readFailures: [],
    writes: 0,
    writeFailures: [],
    lastAcked: 0,
  };
  const fail = (list: string[], what: string) =>
    list.push(`${((Date.now() - t0) / 1000).toFixed(1)}s ${what}`);
  const readLoop = (async () => {
    while (running) {
      load.reads++;
      try {
        const r = await reader.get('/api/cart');
        if (r.status !== 200) fail(load.readFailures, `${r.status} ${r.text.slice(0, 80)}`);
      } catch (e) {
        fail(load.readFailures, String(e));
      }
      await sleep(PACE_MS);
    }
  })();
  let n = 0;
  const writeLoop = (async () => {
    while (running) {
      n++;
      load.writes++;
      try {
        const r = await c.request('PUT', '/api/cart', {
          json: { items: encode(n) },
          headers: { 'x-csrf-token': token },
        });
        if (r.status === 200) load.lastAcked = n;
        else fail(load.writeFailures, `${r.status} ${r.text.slice(0, 80)}`);
      } catch (e) {
        fail(load.writeFailures, String(e));
      }
      await sleep(PACE_MS);
    }
  })();
  load.stop = async () => {
    running = false;
    await Promise.all([readLoop, writeLoop]);
  };
  loads.push(load);
  return Object.assign(load, { email });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rhs-docker-'));
  ports.site = await freePort();
  ports.operator = await freePort();
  ports.redis = await freePort();
  ports.prometheus = await freePort();
  ports.alertmanager = await freePort();
  // docker-compose 1.29 merges `ports` lists (an override adds to them, it cannot replace them), so
  // the file used is deploy/compose.yaml with only the HAProxy `ports:` line taken out; the override
  // publishes the three fronts on 127.0.0.1 at free ports, and Prometheus's and Alertmanager's.
  // --project-directory keeps the relative paths (./redis, ./haproxy, the build context ..)
  // pointing into deploy/.
  let original = await readFile(join(DEPLOY, 'compose.yaml'), 'utf8');
  for (const line of [
    /^ {4}ports: \["80:8080", "127\.0\.0\.1:8404:8404", "127\.0\.0\.1:6379:6379"\]\n/m,
    /^ {4}ports: \["127\.0\.0\.1:9090:9090"\]\n/m,
    /^ {4}ports: \["127\.0\.0\.1:9093:9093"\]\n/m,
  ]) {
    assert.match(original, line, 'a ports line of deploy/compose.yaml changed: update this test');
    original = original.replace(line, '');
  }
  await writeFile(join(dir, 'compose.yaml'), original);
  await writeFile(
    join(dir, 'override.yaml'),
    [
      'services:',
      '  haproxy:',
      `    ports: ["127.0.0.1:${ports.site}:8080", "127.0.0.1:${ports.operator}:8404", "127.0.0.1:${ports.redis}:6379"]`,
      '  prometheus:',
      `    ports: ["127.0.0.1:${ports.prometheus}:9090"]`,
      '  alertmanager:',
      `    ports: ["127.0.0.1:${ports.alertmanager}:9093"]`,
      '',
    ].join('\n'),
  );
  files = [
    '--project-directory',
    DEPLOY,
    '-f',
    join(dir, 'compose.yaml'),
    '-f',
    join(dir, 'override.yaml'),
    '--profile',
    'monitoring',
  ];
  let start = Date.now();
  await compose('build');
  figures['build s'] = (Date.now() - start) / 1000;
  start = Date.now();
  // docker-compose 1.29 gives up as soon as a dependency reports unhealthy, even one that would
  // recover (the app image's health check starts a Node process with a 2 s timeout, which a loaded
  // machine can miss three times): `up` again, within the same deadline.
  const deadline = Date.now() + 240_000;
  for (let attempt = 1; ; attempt++) {
    try {
      await compose('up', '-d', ...SERVICES, ...MONITORING);
      break;
    } catch (e) {
      if (Date.now() > deadline || !/is unhealthy/.test(String(e))) throw e;
      figures['up retried after unhealthy'] = attempt;
      // Again once no container reports unhealthy any more (the slow one recovered, or restarted).
      await pollUntil(
        'no unhealthy container',
        async () => {
          const states = await healthOf(SERVICES);
          return !states.some((s) => s.endsWith('/unhealthy')) || states.join(' ');
        },
        Math.max(10_000, deadline - Date.now()),
        500,
      );
    }
  }
  await waitHealthy(SERVICES, Math.max(10_000, deadline - Date.now()));
  figures['up to healthy s'] = (Date.now() - start) / 1000;
});

after(async () => {
  await Promise.all(loads.map((l) => l.stop()));
  if (files.length) {
    await compose('down', '-v', '--remove-orphans', '--timeout', '5').catch((e) => {
      console.error(`down failed: ${e}`);
    });
    const label = `label=com.docker.compose.project=${PROJECT}`;
    const left = [
      await docker('ps', '-aq', '--filter', label),
      await docker('network', 'ls', '-q', '--filter', label),
      await docker('volume', 'ls', '-q', '--filter', label),
    ].join('');
    figures['whole test s'] = (Date.now() - t0) / 1000;
    console.log(`docker figures: ${JSON.stringify(figures)}`);
    assert.equal(left, '', `left over after down -v: ${left}`);
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('deploy/compose.yaml on Docker', () => {
  it('journey through the published front: register, login, six quantities, both apps, delete, logout', async () => {
    const { c, token } = await loggedIn();
    const items = Object.fromEntries(PRODUCTS.map((p, i) => [p.id, i + 1]));
    assert.equal(PRODUCTS.length, 6);
    const put = await c.request('PUT', '/api/cart', { json: { items }, headers: { 'x-csrf-token': token } });
    assert.equal(put.status, 200, put.text);
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const r = await c.get('/api/cart');
      assert.equal(r.status, 200);
      assert.deepEqual(r.json()['items'], items);
      seen.add(String(r.headers.get('x-instance')));
    }
    assert.deepEqual([...seen].sort(), ['app-1', 'app-2']);
    const del = await c.request('DELETE', '/api/cart', { headers: { 'x-csrf-token': token } });
    assert.equal(del.status, 200);
    assert.deepEqual(Object.values((await c.get('/api/cart')).json()['items'] as object), [0, 0, 0, 0, 0, 0]);
    assert.equal(
      (await c.request('POST', '/api/logout', { headers: { 'x-csrf-token': token } })).status,
      204,
    );
    assert.equal((await c.get('/api/cart')).status, 401);
  });

  it("the Sentinels run with SENTINEL_QUORUM, SENTINEL_DOWN_AFTER, SENTINEL_FAILOVER from the environment, and the stack's timers", async () => {
    for (const s of ['redis-sentinel-1', 'redis-sentinel-2', 'redis-sentinel-3']) {
      const ask = async (...args: string[]) =>
        (await sentinelOn(s, 'sentinel', ...args)).split('\n').map((l) => l.trim());
      const lines = await ask('master', 'mymaster');
      const field = (name: string) => lines[lines.indexOf(name) + 1];
      assert.equal(field('quorum'), SENTINEL.quorum, s);
      assert.equal(field('down-after-milliseconds'), SENTINEL.downAfter, s);
      assert.equal(field('failover-timeout'), SENTINEL.failover, s);
      // Set by the entrypoint once the Sentinel answered (ha/sentinel/timers.ts).
      assert.deepEqual(timersMissing(parseSentinelTimers((await ask('debug')).filter(Boolean))), [], s);
    }
  });

  it('every container hardened as the file says, its main process without capabilities; Redis and Sentinel are Valkey 8.0', async () => {
    const seen: Record<string, string> = {};
    for (const s of [...SERVICES, ...MONITORING]) {
      const id = await container(s);
      const hc = JSON.parse(await docker('inspect', '--format', '{{json .HostConfig}}', id));
      assert.deepEqual(hc.CapDrop, ['ALL'], s);
      assert.ok(!hc.CapAdd?.length, `${s}: CapAdd ${hc.CapAdd}`);
      assert.equal(hc.ReadonlyRootfs, true, s);
      assert.ok(hc.SecurityOpt?.includes('no-new-privileges:true'), `${s}: ${hc.SecurityOpt}`);
      assert.ok(hc.Memory > 0 && hc.NanoCpus > 0 && hc.PidsLimit > 0, `${s}: limits ${JSON.stringify(hc)}`);
      assert.ok(hc.Tmpfs && '/tmp' in hc.Tmpfs, `${s}: tmpfs ${JSON.stringify(hc.Tmpfs)}`);
      // What the kernel says of the running process: no effective or permitted capability, no new
      // privileges, and the root file system refuses a write.
      const status = await docker(
        'exec',
        id,
        'sh',
        '-c',
        'grep -E "^(CapEff|CapPrm|NoNewPrivs):" /proc/1/status',
      );
      assert.match(status, /CapPrm:\s+0+\n/, `${s}: ${status}`);
      assert.match(status, /CapEff:\s+0+\n/, `${s}: ${status}`);
      assert.match(status, /NoNewPrivs:\s+1$/, `${s}: ${status}`);
      const write = await docker('exec', id, 'sh', '-c', 'touch /probe 2>&1 && echo wrote || true');
      assert.match(write, /Read-only file system/, `${s}: ${write}`);
      seen[s] = `${hc.Memory / 2 ** 20} MiB, ${hc.NanoCpus / 1e9} CPU`;
    }
    figures['limits'] = seen;
    for (const s of ['redis-master', 'redis-sentinel-1']) {
      const port = s.includes('sentinel') ? '26379' : '6379';
      const auth = s.includes('sentinel') ? [] : ['--user', 'haproxy'];
      const info = await docker(
        'exec',
        await container(s),
        REDIS_PROGRAMS.cli,
        ...auth,
        '-p',
        port,
        'info',
        'server',
      );
      assert.match(info, /^server_name:valkey\r?$/m, `${s}: ${info}`);
      assert.match(info, /^valkey_version:8\.0\.\d+\r?$/m, `${s}: ${info}`);
    }
  });

  it('operator front: 401 without the password, 200 with it; Redis front: NOAUTH without a user', async () => {
    const stats = `http://127.0.0.1:${ports.operator}/stats`;
    assert.equal((await fetch(stats)).status, 401);
    const auth = Buffer.from(`operator:${env['HAPROXY_OPERATOR_PASSWORD']}`).toString('base64');
    assert.equal((await fetch(stats, { headers: { authorization: `Basic ${auth}` } })).status, 200);
    const reply = await new Promise<string>((ok, fail) => {
      const socket = connect(ports.redis, '127.0.0.1', () => socket.write('PING\r\n'));
      socket.setTimeout(5000, () => fail(new Error('no reply from the Redis front')));
      socket.once('data', (d) => {
        ok(d.toString());
        socket.destroy();
      });
      socket.once('error', fail);
    });
    assert.match(reply, /^-NOAUTH/);
  });

  it('monitoring profile: Prometheus and Alertmanager only behind their password; every target scraped and up', async () => {
    const m = monitoring();
    for (const url of [`${m.prometheusUrl}/api/v1/targets`, `${m.alertmanagerUrl}/api/v2/alerts`])
      assert.equal((await fetch(url)).status, 401, url);
    const start = Date.now();
    await pollUntil(
      'every target up',
      async () => {
        const targets = await promTargets(m).catch(() => []);
        const down = targets.filter((t) => t.health !== 'up');
        return (
          (targets.length === 9 && down.length === 0) ||
          `${targets.length} targets; not up: ${down.map((t) => `${t.labels['job']}/${t.labels['node'] ?? t.labels['instance']} ${t.health} ${t.lastError ?? ''}`).join(', ')}`
        );
      },
      120_000,
      1000,
    );
    figures['monitoring: every target up after s'] = (Date.now() - start) / 1000;
    // None stays firing on the healthy stack (one raised while the stack was starting resolves).
    await pollUntil(
      'no alert at Alertmanager',
      async () => {
        const firing = (await alertmanagerAlerts(m)).filter((a) => a.status.state !== 'resolved');
        return firing.length === 0 || firing.map(alertLine).join(', ');
      },
      60_000,
      1000,
    );
  });

  it('crash of the Redis master under load: failover, no acknowledged write lost; the old master comes back', async () => {
    const old = await masterService();
    const restartsBefore = await restartCount(old);
    const load = await startLoad();
    await loadRunning(load);
    const kill = Date.now();
    await crash(old);
    const timeline: string[] = [];
    let newMaster = old;
    let promoted = 0;
    let back = 0;
    let replicaAt = 0;
    let twoMastersFrom = 0;
    let twoMastersMs = 0;
    let lastLine = '';
    let settledAt = 0;
    // Sampled every 250 ms until settled for 3 s, at most 60 s after the kill; the assertions below
    // say what did not happen in that time.
    await pollUntil(
      'one master with two linked replicas for 3 s',
      async () => {
        const roles = await Promise.all(REDIS_SERVICES.map(role));
        const now = Date.now();
        const masters = roles.filter((r) => r.startsWith('master')).length;
        if (masters > 1 && !twoMastersFrom) twoMastersFrom = now;
        if (masters <= 1 && twoMastersFrom) {
          twoMastersMs += now - twoMastersFrom;
          twoMastersFrom = 0;
        }
        const named = await masterService().catch(() => undefined);
        const name = named ?? newMaster;
        if (name !== old && !promoted) {
          promoted = now;
          newMaster = name;
        }
        const oldRole = roles[REDIS_SERVICES.indexOf(old as (typeof REDIS_SERVICES)[number])]!;
        if (!back && oldRole !== 'down' && (await restartCount(old)) > restartsBefore) back = now;
        if (back && oldRole === 'slave(link up)' && !replicaAt) replicaAt = now;
        const line = `${REDIS_SERVICES.map((s, i) => `${s}=${roles[i]}`).join(' ')} sentinel:${named ?? '?'}`;
        if (line !== lastLine) timeline.push(`+${((now - kill) / 1000).toFixed(1)}s ${line}`);
        lastLine = line;
        // Settled: the old node answers again, one master (the one Sentinel names), two linked replicas.
        const settled =
          back &&
          masters === 1 &&
          roles[REDIS_SERVICES.indexOf(name as (typeof REDIS_SERVICES)[number])] === 'master' &&
          roles.filter((r) => r === 'slave(link up)').length === 2;
        if (!settled) settledAt = 0;
        else if (!settledAt) settledAt = now;
        return (settledAt > 0 && now - settledAt > 3000) || line;
      },
      kill + 60_000 - Date.now(),
    ).catch(() => undefined);
    if (twoMastersFrom) twoMastersMs += Date.now() - twoMastersFrom;
    await load.stop();
    const hash = (await operatorCli(newMaster, 'hgetall', `cart:{${load.email}}`)).split('\n');
    const held: Record<string, string> = {};
    for (let i = 0; i + 1 < hash.length; i += 2) held[hash[i]!.trim()] = hash[i + 1]!.trim();
    const stored = decode(held);
    const failover = {
      old,
      newMaster,
      'promoted after s': promoted ? (promoted - kill) / 1000 : null,
      'old master answering again after s': back ? (back - kill) / 1000 : null,
      'old master a linked replica after s': replicaAt ? (replicaAt - kill) / 1000 : null,
      'two masters for s': twoMastersMs / 1000,
      reads: load.reads,
      'failed reads': load.readFailures.length,
      writes: load.writes,
      'failed writes': load.writeFailures.length,
      'last acknowledged': load.lastAcked,
      'held by the new master': stored,
      'acknowledged writes lost': Math.max(0, load.lastAcked - stored),
    };
    figures['master crash'] = failover;
    console.log(`master crash: ${JSON.stringify(failover, null, 1)}`);
    console.log(`timeline:\n${timeline.join('\n')}`);
    // What the restarted node's entrypoint decided, from its log (stdout and stderr).
    const decided = await run('docker', ['logs', await container(old)], { env, maxBuffer: 16 << 20 })
      .then(({ stdout, stderr }) =>
        `${stdout}\n${stderr}`
          .split('\n')
          .filter((l) => l.startsWith('redis-entrypoint:'))
          .join('\n'),
      )
      .catch((err: Error) => `no log: ${err.message}`);
    console.log(`entrypoint of ${old}:\n${decided}`);
    let sentinelEvents = '';
    {
      // How the Sentinels came to it: their failover events, in order of time.
      const events =
        /[+-](sdown|odown|try-failover|vote-for-leader|elected-leader|failover-state-\S+|selected-slave|promoted-slave|switch-master|failover-end\S*|failover-abort\S*|convert-to-slave|new-epoch|config-update-from)\b/;
      for (const s of ['redis-sentinel-1', 'redis-sentinel-2', 'redis-sentinel-3']) {
        const { stdout } = await run(
          'docker',
          ['logs', '--since', `${Math.ceil((Date.now() - kill) / 1000) + 5}s`, await container(s)],
          { env, maxBuffer: 16 << 20 },
        );
        sentinelEvents += `${s}:\n${stdout
          .split('\n')
          .filter((l) => events.test(l))
          .join('\n')}\n`;
      }
      console.log(sentinelEvents);
    }
    // A restarted node asks the Sentinels first (deploy/scripts/redis-entrypoint.sh): never a second master.
    assert.equal(
      twoMastersMs,
      0,
      `two masters at once:\n${timeline.join('\n')}\n${decided}\n${sentinelEvents}`,
    );
    if (load.readFailures.length || load.writeFailures.length)
      console.log(`failures:\n${[...load.readFailures, ...load.writeFailures].join('\n')}`);
    // Whether a replica was promoted is reported, not required: a restart within a few seconds can
    // beat the failover, and the old master then simply stays master with its AOF.
    assert.ok(back, 'the old master container did not come back');
    assert.ok(settledAt, 'no single master with two linked replicas within 60 s');
    assert.ok(stored >= load.lastAcked, `acknowledged writes lost: last ${load.lastAcked}, held ${stored}`);
    if (promoted) {
      // The failover paged (a notice): RedisFailover at Alertmanager within 30 s of the switch.
      const paged = await waitAlerts(monitoring(), [{ alertname: 'RedisFailover' }], promoted, 30_000);
      figures['monitoring: RedisFailover after the switch s'] = [...paged.seconds.values()][0] ?? null;
      assert.deepEqual(paged.missing, [], `not at Alertmanager: ${paged.last.map(alertLine).join(', ')}`);
    }
    // The Redis side is whole again. (The apps' Docker health check starts a Node process with a
    // 2 s timeout: on a loaded 2-core machine it can report unhealthy for a while; the front is
    // what the next test measures.)
    await waitHealthy(
      SERVICES.filter((s) => !s.startsWith('app-')),
      60_000,
    );
  });

  it('crash of one app container under load: no failed request through the front', async () => {
    const before = await restartCount('app-1');
    const load = await startLoad();
    await loadRunning(load);
    const kill = Date.now();
    await crash('app-1');
    // The front carries the load on app-2 while app-1 is gone: requests go on being answered.
    const atKill = { reads: load.reads, lastAcked: load.lastAcked };
    await pollUntil(
      'app-1 restarted by its policy',
      async () => (await restartCount('app-1')) > before,
      60_000,
    );
    await loadRunning(load, 20, atKill);
    await waitHealthy(['app-1'], 120_000);
    const healthyAt = Date.now();
    // Traffic through the front reaches the restarted app-1 again, while the load goes on.
    const probe = new Client(site());
    await pollUntil(
      'the front answering from app-1 again',
      async () => (await probe.get('/healthz')).headers.get('x-instance') === 'app-1',
      60_000,
      100,
    );
    await loadRunning(load, 20, { reads: load.reads, lastAcked: load.lastAcked });
    await load.stop();
    const figuresApp = {
      'healthy again after s': (healthyAt - kill) / 1000,
      reads: load.reads,
      'failed reads': load.readFailures.length,
      writes: load.writes,
      'failed writes': load.writeFailures.length,
    };
    figures['app crash'] = figuresApp;
    console.log(`app crash: ${JSON.stringify(figuresApp)}`);
    assert.deepEqual([...load.readFailures, ...load.writeFailures], []);
  });

  it('a replica stopped pages RedisNodeDown at Alertmanager within 30 s, resolved within 60 s of its start', async () => {
    const named = await masterService();
    const replica = REDIS_SERVICES.find((r) => r !== named)!;
    // deploy/monitoring/prometheus.yml: redis-exporter-N watches the N-th node, labelled redis-N.
    const node = `redis-${REDIS_SERVICES.indexOf(replica) + 1}`;
    const expected = [{ alertname: 'RedisNodeDown', labels: { node } }];
    const m = monitoring();
    const stoppedAt = Date.now();
    await compose('stop', '--timeout', '5', replica);
    const fired = await waitAlerts(m, expected, stoppedAt, 30_000);
    const startedAt = Date.now();
    await compose('start', replica);
    const resolved = await waitAlerts(m, expected, startedAt, 60_000, false);
    figures['monitoring: RedisNodeDown'] = {
      node,
      'fired after s': [...fired.seconds.values()][0] ?? null,
      'resolved after s': [...resolved.seconds.values()][0] ?? null,
    };
    assert.deepEqual(fired.missing, [], `not fired: ${fired.last.map(alertLine).join(', ')}`);
    assert.deepEqual(resolved.missing, [], `not resolved: ${resolved.last.map(alertLine).join(', ')}`);
  });

  it('backup and restore profiles: a backup from a replica into the volume (0600), FLUSHALL, the restore brings account, session and cart back', async () => {
    const { c, token } = await loggedIn();
    const items = Object.fromEntries(PRODUCTS.map((p, i) => [p.id, (i * 5 + 3) % 10]));
    const put = await c.request('PUT', '/api/cart', { json: { items }, headers: { 'x-csrf-token': token } });
    assert.equal(put.status, 200, put.text);
    const master = await masterService();
    const keys = Number(await operatorCli(master, 'dbsize'));
    // The service's first backup, once (BACKUP_ONCE: the script exits with its status).
    const backup = await profileRun('backup', '-e', 'BACKUP_ONCE=1', 'backup');
    assert.equal(backup.code, 0, backup.output);
    const taken = /backup (backup-\d{8}T\d{6}Z): (\d+) keys, \d+ bytes from ([\w.-]+):6379/.exec(
      backup.output,
    );
    assert.ok(taken, `no backup reported: ${backup.output}`);
    const [, id, counted, from] = taken;
    assert.ok(Number(counted) >= keys, `the backup counts ${counted} keys, the master held ${keys}`);
    // Taken from a replica, never the master (Sentinel names it by address or by name).
    const masterIp = await docker(
      'inspect',
      '--format',
      '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}',
      await container(master),
    );
    assert.ok(
      from !== masterIp && from !== master,
      `the backup was taken from the master ${master} (${from})`,
    );
    const listed = await profileRun(
      'backup',
      '--entrypoint',
      'sh',
      'backup',
      '-c',
      'cd /data && stat -c "%a %U %n" *',
    );
    assert.equal(listed.code, 0, listed.output);
    assert.match(listed.output, new RegExp(`600 valkey ${id}\\.rdb`));
    assert.match(listed.output, new RegExp(`600 valkey ${id}\\.json`));
    figures['backup'] = { id, keys: Number(counted) };

    // The mistake, then the restore with the site closed (the apps stopped), as the script asks.
    assert.equal(await operatorCli(master, 'flushall'), 'OK');
    assert.equal((await c.get('/api/cart')).status, 401, 'the session went with the FLUSHALL');
    await compose('stop', '--timeout', '5', 'app-1', 'app-2');
    const started = Date.now();
    const restore = await profileRun('restore', 'restore', 'latest', '--yes');
    figures['restore s'] = (Date.now() - started) / 1000;
    assert.equal(restore.code, 0, restore.output);
    assert.match(restore.output, new RegExp(`restored ${id} into`));
    await compose('start', 'app-1', 'app-2');
    await pollUntil(
      'the site serving the restored cart',
      async () => {
        const r = await c.get('/api/cart').catch(() => undefined);
        return r?.status === 200 || `GET /api/cart: ${r?.status ?? 'no answer'}`;
      },
      120_000,
      500,
    );
    assert.deepEqual((await c.get('/api/cart')).json()['items'], items, 'the cart as it was backed up');
    // Every replica holds what the master holds again.
    const now = await masterService();
    const onMaster = Number(await operatorCli(now, 'dbsize'));
    assert.ok(onMaster >= keys, `the master holds ${onMaster} keys after the restore, ${keys} before`);
    for (const replica of REDIS_SERVICES.filter((r) => r !== now))
      await pollUntil(
        `${replica} holding the restored keys`,
        async () => {
          const n = Number(await operatorCli(replica, 'dbsize').catch(() => -1));
          return n === onMaster || `${n} keys against ${onMaster}`;
        },
        30_000,
      );
  });
});
