/**
 * Over 300 lines: every case runs on one compose project on TLS (its certificates and images made once).
 * deploy/compose.yaml with deploy/compose.tls.yaml on a real Docker engine (npm run test:docker runs
 * it after compose.test.ts). One compose project of its own: the certs service makes the
 * certificates into an empty volume; HAProxy's fronts are published on 127.0.0.1 at free ports.
 * Test traffic goes only to those ports and through `docker exec`. Every wait is on a condition.
 * Over 300 lines: its checks share one project (its ports, its certificates, its state after the
 * failover); split, each file would bring a stack of its own up (half a minute or more each).
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
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { PRODUCTS } from '../../src/app/products.ts';
import { REDIS_PROGRAMS, SECRET_VARIABLES } from '../../src/ops/render/compose-names.ts';
import { freePort } from '../../src/ops/supervisor/ports.ts';
import { HttpsClient } from '../../src/tools/https-client.ts';

const run = promisify(execFile);
const DEPLOY = join(resolve(import.meta.dirname, '../..'), 'deploy');
const PROJECT = `rhsdocker${process.pid}${randomBytes(3).toString('hex')}`;
const REDIS = ['redis-master', 'redis-replica-1', 'redis-replica-2'] as const;
const SERVICES = [
  ...REDIS,
  'redis-sentinel-1',
  'redis-sentinel-2',
  'redis-sentinel-3',
  'app-1',
  'app-2',
  'haproxy',
];
const NAME: Record<string, string> = {
  'redis-master': 'redis-1',
  'redis-replica-1': 'redis-2',
  'redis-replica-2': 'redis-3',
  'redis-sentinel-1': 'sentinel-1',
};
const secret = () => randomBytes(24).toString('hex');
const env: NodeJS.ProcessEnv = { ...process.env, COMPOSE_DOCKER_CLI_BUILD: '0', DOCKER_BUILDKIT: '0' };
for (const v of Object.keys(SECRET_VARIABLES)) env[v] = secret();
env['STACK_NETWORK'] = `10.${randomInt(160, 250)}.${randomInt(0, 255)}`;

let dir = '';
let files: string[] = [];
const ports = { http: 0, https: 0, operator: 0, redis: 0 };
const figures: Record<string, unknown> = {};
const t0 = Date.now();

const compose = async (...args: string[]) =>
  (await run('docker-compose', ['-p', PROJECT, ...files, ...args], { env, maxBuffer: 64 << 20 })).stdout;
const docker = async (...args: string[]) =>
  (await run('docker', args, { env, maxBuffer: 16 << 20 })).stdout.trim();
const ids = new Map<string, string>();
async function container(service: string): Promise<string> {
  if (!ids.has(service)) ids.set(service, (await compose('ps', '-q', service)).trim());
  return ids.get(service)!;
}

async function pollUntil(
  what: string,
  check: () => Promise<boolean | string>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await check();
    if (state === true) return;
    if (Date.now() >= deadline) throw new Error(`${what}: not within ${timeoutMs} ms: ${state}`);
    await sleep(300);
  }
}

const healthOf = (services: readonly string[]) =>
  Promise.all(
    services.map(async (s) => {
      const f = '{{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{end}}';
      return `${s}=${await docker('inspect', '--format', f, await container(s)).catch(() => '?')}`;
    }),
  );

/** valkey-cli inside a container: `tls` with that component's own certificate, `ca` with the CA only, or plain. */
async function cli(service: string, how: 'tls' | 'ca' | 'plain', args: string[], auth?: string) {
  const port = service.startsWith('redis-sentinel') ? '26379' : '6379';
  const name = NAME[service] ?? service;
  const tls = {
    tls: ['--tls', '--cacert', '/tls/ca.crt', '--cert', `/tls/${name}.crt`, '--key', `/tls/${name}.key`],
    ca: ['--tls', '--cacert', '/tls/ca.crt'],
    plain: [],
  }[how];
  const e = auth ? ['-e', `REDISCLI_AUTH=${auth}`] : [];
  try {
    const r = await run(
      'docker',
      [
        'exec',
        ...e,
        await container(service),
        REDIS_PROGRAMS.cli,
        ...tls,
        '--no-auth-warning',
        '-p',
        port,
        ...args,
      ],
      { env, timeout: 5000 },
    );
    return `${r.stdout}${r.stderr}`.trim();
  } catch (err) {
    const x = err as { stdout?: string; stderr?: string };
    return `failed: ${x.stdout ?? ''}${x.stderr ?? ''}`.trim();
  }
}
const sentinelMaster = async () =>
  (
    await cli(
      'redis-sentinel-1',
      'tls',
      ['sentinel', 'get-master-addr-by-name', 'mymaster'],
      env['SENTINEL_PASSWORD'],
    )
  ).split('\n')[0];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rhs-docker-tls-'));
  for (const k of Object.keys(ports) as (keyof typeof ports)[]) ports[k] = await freePort();
  // The images' own users: the certs service gives each key to the uid that reads it.
  env['TLS_UID_VALKEY'] = await docker('run', '--rm', 'valkey/valkey:8.0', 'id', '-u', 'valkey');
  env['TLS_UID_HAPROXY'] = await docker('run', '--rm', 'haproxy:2.6', 'id', '-u', 'haproxy');
  // Both files without HAProxy's published ports (compose adds an override's ports to a file's).
  const base = await readFile(join(DEPLOY, 'compose.yaml'), 'utf8');
  const tls = await readFile(join(DEPLOY, 'compose.tls.yaml'), 'utf8');
  const baseLine = /^ {4}ports: \["80:8080", "127\.0\.0\.1:8404:8404", "127\.0\.0\.1:6379:6379"\]\n/m;
  const tlsLine = /^ {4}ports: \["443:8443"\]\n/m;
  assert.match(base, baseLine, 'the haproxy ports line of compose.yaml changed: update this test');
  assert.match(tls, tlsLine, 'the haproxy ports line of compose.tls.yaml changed: update this test');
  await writeFile(join(dir, 'compose.yaml'), base.replace(baseLine, ''));
  await writeFile(join(dir, 'compose.tls.yaml'), tls.replace(tlsLine, ''));
  const p = (host: number, inside: number) => `"127.0.0.1:${host}:${inside}"`;
  await writeFile(
    join(dir, 'ports.yaml'),
    `services:\n  haproxy:\n    ports: [${p(ports.http, 8080)}, ${p(ports.https, 8443)}, ${p(ports.operator, 8404)}, ${p(ports.redis, 6379)}]\n`,
  );
  files = [
    '--project-directory',
    DEPLOY,
    ...['compose.yaml', 'compose.tls.yaml', 'ports.yaml'].flatMap((f) => ['-f', join(dir, f)]),
  ];
  let start = Date.now();
  await compose('build', 'app-1');
  figures['build s'] = (Date.now() - start) / 1000;
  start = Date.now();
  await compose('up', '-d', ...SERVICES);
  await pollUntil(
    'every service healthy',
    async () => {
      const s = await healthOf(SERVICES);
      return s.every((x) => x.endsWith('running/healthy')) || s.join(' ');
    },
    180_000,
  ).catch(async (e) => {
    console.error(await compose('logs', '--tail', '30', 'certs', 'haproxy').catch(String));
    throw e;
  });
  figures['up to healthy s'] = (Date.now() - start) / 1000;
  await docker('cp', `${await container('haproxy')}:/tls/ca.crt`, join(dir, 'ca.crt'));
});

after(async () => {
  if (files.length) {
    await compose('down', '-v', '--remove-orphans', '--timeout', '5').catch((e) =>
      console.error(`down: ${e}`),
    );
    const label = `label=com.docker.compose.project=${PROJECT}`;
    const left =
      (await docker('ps', '-aq', '--filter', label)) +
      (await docker('volume', 'ls', '-q', '--filter', label));
    figures['whole test s'] = (Date.now() - t0) / 1000;
    console.log(`docker tls figures: ${JSON.stringify(figures)}`);
    assert.equal(left, '', `left over after down -v: ${left}`);
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

const https = () => new HttpsClient(`https://localhost:${ports.https}`, join(dir, 'ca.crt'));
async function loggedIn(c: HttpsClient): Promise<string> {
  const email = `tls-${randomBytes(4).toString('hex')}@example.org`;
  const reg = await c.request('POST', '/api/register', { email, password: 'sup3r-secret-pass' });
  assert.equal(reg.status, 201, reg.text);
  const login = await c.request('POST', '/api/login', { email, password: 'sup3r-secret-pass' });
  assert.equal(login.status, 200, login.text);
  return String((JSON.parse(login.text) as Record<string, unknown>)['csrfToken']);
}

/** What a failed failover leaves to read: each node's replication, the Sentinels' and apps' last lines. */
async function failoverState(): Promise<string> {
  const out: string[] = [];
  for (const s of REDIS)
    out.push(
      `${s}: ${(await cli(s, 'tls', ['--user', 'haproxy', 'info', 'replication'], env['REDIS_HAPROXY_PASSWORD'])).replace(/\r?\n/g, ' ')}`,
    );
  const logs = ['redis-sentinel-1', 'redis-sentinel-2', 'redis-sentinel-3', ...REDIS, 'app-1', 'app-2'];
  const all = await compose('logs', '--no-color', '--timestamps', ...logs).catch(String);
  const file = join(tmpdir(), `${PROJECT}-failover.log`);
  await writeFile(file, all);
  out.push(`every line: ${file}`, all.split('\n').slice(-120).join('\n'));
  return out.join('\n');
}

describe('compose.yaml with compose.tls.yaml on Docker', () => {
  it('the certs service made every key 0600 for the user that reads it, the CA key not in the volume', async () => {
    const list = await docker('exec', await container('haproxy'), 'ls', '-ln', '/tls');
    assert.doesNotMatch(list, /ca\.key/);
    const valkey = env['TLS_UID_VALKEY']!;
    for (const [name, uid] of [
      ['redis-1', valkey],
      ['sentinel-3', valkey],
      ['haproxy', env['TLS_UID_HAPROXY']!],
      ['app-2', '1000'],
    ])
      assert.match(list, new RegExp(`^-rw------- 1 +${uid} +\\d+ .* ${name}\\.key$`, 'm'), list);
    const other = await run('docker', ['exec', await container('redis-master'), 'cat', '/tls/haproxy.key'], {
      env,
    }).catch((e) => e);
    assert.ok(other instanceof Error, "a node cannot read HAProxy's key");
  });

  it("the operator's own folder (TLS_DIR): taken as it is, a missing file stops the certs service", async () => {
    // The operator's files, made on the host by the same script with the images' uids.
    const own = join(dir, 'own');
    const ca = join(dir, 'own-ca');
    await run('mkdir', ['-p', own, ca]);
    const { certsComponents } = await import('../../src/ops/render/compose-tls.ts');
    const { composeTopology } = await import('../../src/ops/render/compose.ts');
    const components = certsComponents(composeTopology()).replace(
      /\$\{(TLS_UID_[A-Z]+):-(\d+)\}/g,
      (_, v: string, d: string) => env[v] ?? d,
    );
    await run('sh', [join(DEPLOY, 'certs/make-certs.sh')], {
      env: { ...process.env, TLS_OUT: own, TLS_CA_DIR: ca, TLS_COMPONENTS: components },
    });
    const certs = (extra: NodeJS.ProcessEnv) =>
      run('docker-compose', ['-p', PROJECT, ...files, 'run', '--rm', '--no-deps', 'certs'], {
        env: { ...env, ...extra },
      }).then(
        (r) => ({ code: 0, stderr: r.stderr }),
        (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
      );
    const kept = await certs({ TLS_DIR: own });
    assert.equal(kept.code, 0, kept.stderr);
    assert.match(kept.stderr, /made: none; kept: redis-1 /);
    await rm(join(own, 'sentinel-2.key'));
    const missing = await certs({ TLS_DIR: own });
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /sentinel-2\.crt or sentinel-2\.key is missing/);
  });

  it('HTTP answers a redirect to HTTPS; HTTPS, checked against the CA, serves a user and a cart with HSTS', async () => {
    const plain = await fetch(`http://127.0.0.1:${ports.http}/cart?x=1`, { redirect: 'manual' });
    assert.equal(plain.status, 301);
    assert.equal(plain.headers.get('location'), 'https://127.0.0.1/cart?x=1');
    const c = https();
    const token = await loggedIn(c);
    assert.ok(
      [...c.cookies.keys()].every((k) => k.startsWith('__Host-')),
      [...c.cookies.keys()].join(),
    );
    const items = { [PRODUCTS[0]!.id]: 3, [PRODUCTS[1]!.id]: 1 };
    const put = await c.request('PUT', '/api/cart', { items }, { 'x-csrf-token': token });
    assert.equal(put.status, 200, put.text);
    const got = await c.request('GET', '/api/cart');
    assert.equal(got.status, 200);
    assert.match(String(got.headers['strict-transport-security']), /max-age=63072000/);
    const cart = (JSON.parse(got.text) as { items: Record<string, number> }).items;
    assert.deepEqual(Object.fromEntries(Object.entries(cart).filter(([, q]) => q > 0)), items);
    c.close();
    // The operator front on HTTPS behind its password.
    const op = new HttpsClient(`https://localhost:${ports.operator}`, join(dir, 'ca.crt'));
    const auth = Buffer.from(`operator:${env['HAPROXY_OPERATOR_PASSWORD']}`).toString('base64');
    assert.equal(
      (await op.request('GET', '/stats', undefined, { authorization: `Basic ${auth}` })).status,
      200,
    );
    op.close();
  });

  it('nodes and Sentinels refuse plain RESP and a client without a certificate; replication is on TLS', async () => {
    for (const s of ['redis-master', 'redis-replica-1', 'redis-sentinel-1']) {
      const pass = s.startsWith('redis-sentinel') ? env['SENTINEL_PASSWORD'] : env['REDIS_HAPROXY_PASSWORD'];
      const user = s.startsWith('redis-sentinel') ? [] : ['--user', 'haproxy'];
      assert.doesNotMatch(await cli(s, 'plain', [...user, 'ping'], pass), /PONG/, `${s}: plain`);
      assert.doesNotMatch(await cli(s, 'ca', [...user, 'ping'], pass), /PONG/, `${s}: no certificate`);
      assert.match(await cli(s, 'tls', [...user, 'ping'], pass), /PONG/, `${s}: its own certificate`);
    }
    const info = await cli(
      'redis-master',
      'tls',
      ['--user', 'haproxy', 'info', 'replication'],
      env['REDIS_HAPROXY_PASSWORD'],
    );
    assert.match(info, /connected_slaves:2/);
    // HAProxy's Redis front: plain RESP gets no answer; TLS with the CA reaches the master.
    const plain = await new Promise<string>((res) => {
      const s = connect(ports.redis, '127.0.0.1', () => s.write('PING\r\n'));
      let got = '';
      s.on('data', (d) => (got += d.toString('latin1')));
      s.on('close', () => res(got));
      s.on('error', () => res(got));
      s.setTimeout(3000, () => s.destroy());
    });
    assert.doesNotMatch(plain, /\+PONG/);
    const ca = await readFile(join(dir, 'ca.crt'));
    const viaFront = await new Promise<string>((res, rej) => {
      const s = tlsConnect({ port: ports.redis, host: '127.0.0.1', ca, servername: 'localhost' }, () =>
        s.write(`AUTH operator ${env['REDIS_OPERATOR_PASSWORD']}\r\nROLE\r\nQUIT\r\n`),
      );
      let got = '';
      s.on('data', (d) => (got += d.toString()));
      s.on('end', () => res(got));
      s.on('error', rej);
    });
    assert.match(viaFront, /^\+OK\r\n\*\d+\r\n\$6\r\nmaster/);
  });

  it('a stopped master: Sentinel promotes a replica over TLS, the cart survives, the old master rejoins', async () => {
    const c = https();
    const token = await loggedIn(c);
    let running = true;
    let n = 0;
    let acked = 0;
    const failures: string[] = [];
    const writer = (async () => {
      while (running) {
        n++;
        const r = await c
          .request(
            'PUT',
            '/api/cart',
            { items: { [PRODUCTS[0]!.id]: n % 100, [PRODUCTS[1]!.id]: Math.floor(n / 100) } },
            { 'x-csrf-token': token },
          )
          .catch((e: Error) => ({ status: 0, text: e.message }));
        if (r.status === 200) acked = n;
        else failures.push(`${r.status} ${r.text.slice(0, 300)}`);
        await sleep(20);
      }
    })();
    // The writer stops whatever happens: a loop left running keeps the test process alive after a failure.
    try {
      await pollUntil('writes acknowledged', async () => acked >= 10 || `${acked}`, 20_000);
      const before = await sentinelMaster();
      const stopped = Date.now();
      await compose('stop', '--timeout', '1', 'redis-master');
      await pollUntil(
        'another master',
        async () => (await sentinelMaster()) !== before || `${before}`,
        30_000,
      );
      figures['failover s'] = (Date.now() - stopped) / 1000;
      const atFailover = acked;
      await pollUntil(
        'writes acknowledged after the failover',
        async () => acked >= atFailover + 10 || `${acked}: ${failures.slice(-3).join('; ')}`,
        30_000,
      );
    } catch (e) {
      console.error(`last failed writes:\n${failures.slice(-3).join('\n')}`);
      console.error(await failoverState());
      throw e;
    } finally {
      running = false;
      await writer;
    }
    figures['failed writes'] = failures.length;
    figures['writes'] = n;
    const cart = JSON.parse((await c.request('GET', '/api/cart')).text) as { items: Record<string, number> };
    const got = (cart.items[PRODUCTS[0]!.id] ?? 0) + 100 * (cart.items[PRODUCTS[1]!.id] ?? 0);
    assert.equal(got, acked, 'the cart holds the last acknowledged write');
    c.close();
    await compose('start', 'redis-master');
    await pollUntil(
      'the old master back as a replica on TLS',
      async () => {
        const info = await cli(
          'redis-master',
          'tls',
          ['--user', 'haproxy', 'info', 'replication'],
          env['REDIS_HAPROXY_PASSWORD'],
        );
        return /role:slave[\s\S]*master_link_status:up/.test(info) || info.slice(0, 80);
      },
      60_000,
    );
  });
});
