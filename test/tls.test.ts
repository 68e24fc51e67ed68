// TLS on every hop (docs/tls.md), against a real stack started with `tls: true`: the certificates
// the stack makes, Redis and Sentinel on TLS only with client certificates required, the site on
// HTTPS behind a redirect, the operator and Redis fronts on TLS, and a failover over TLS links.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { nodeState, operatorAuthorization, sentinelView, withRedis } from '../src/ha/probes.ts';
import { certificateEnd, getText, stackTls, useStackTls } from '../src/ha/tls.ts';
import type { Stack } from '../src/ops/supervisor/supervisor.ts';
import { waitFor } from '../src/ops/supervisor/wait.ts';
import { components } from '../src/ops/tls/certs.ts';
import { HttpsClient } from '../src/tools/https-client.ts';
import { haStack } from './helpers/cli.ts';
import { freePorts, killMaster, portEnv, startTestStack, tempDirs, tempRunDir } from './helpers/stack.ts';

const tempDir = tempDirs();

/** What a plain-text client gets from a TLS-only port: no PONG (the server drops the connection). */
function plainPing(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const sock = connect(port, host, () => sock.write('PING\r\n'));
    let got = '';
    sock.setTimeout(3000, () => sock.destroy());
    sock.on('data', (d) => {
      got += d.toString('latin1');
    });
    sock.on('close', () => resolve(got));
    sock.on('error', () => resolve(got));
  });
}

/** A TLS client of a node with some other certificate setting; resolves to the error it met. */
async function tlsError(
  host: string,
  port: number,
  tls: Record<string, unknown>,
  login: { username?: string; password?: string },
): Promise<string> {
  const r = new Redis({
    host,
    port,
    ...login,
    tls,
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    connectTimeout: 3000,
  });
  let last = '';
  r.on('error', (err: Error) => {
    last = err.message;
  });
  try {
    await r.connect();
    await r.ping();
    return 'no error';
  } catch (err) {
    return last || (err instanceof Error ? err.message : String(err));
  } finally {
    r.disconnect();
  }
}

describe('TLS on every hop', () => {
  let stack: Stack;
  let site: HttpsClient;

  before(async () => {
    stack = await startTestStack('tls', { tls: true, runDir: join(tempDir('tls'), 'run') });
    site = new HttpsClient(stack.frontUrl, stack.certs!.ca);
  });
  after(async () => {
    site?.close();
    await stack?.stop();
    useStackTls(undefined);
  });

  it('makes a CA and a certificate per component, keys 0600 in a 0700 folder, each naming its addresses', () => {
    const certs = stack.certs!;
    assert.equal(statSync(certs.dir).mode & 0o777, 0o700);
    for (const name of Object.keys(components(stack.topology))) {
      const files = certs.of(name);
      assert.equal(statSync(files.key).mode & 0o777, 0o600, `${name}.key`);
      assert.ok(certificateEnd(files.cert).getTime() > Date.now() + 300 * 86_400_000, `${name} lives a year`);
    }
    assert.equal(statSync(join(certs.dir, 'ca.key')).mode & 0o777, 0o600);
    assert.equal(statSync(certs.frontPem).mode & 0o777, 0o600);
  });

  it('Redis nodes and Sentinels refuse plain text and clients without a certificate of the CA', async () => {
    const node = stack.topology.redis[0]!;
    const sentinel = stack.topology.sentinels[0]!;
    assert.doesNotMatch(await plainPing(node.host, node.port), /PONG/);
    assert.doesNotMatch(await plainPing(sentinel.host, sentinel.port), /PONG/);
    const ours = stackTls()!;
    // No client certificate: the node ends the handshake.
    const noCert = await tlsError(node.host, node.port, { ca: ours.ca }, stack.login);
    assert.notEqual(noCert, 'no error');
    // A node whose certificate is not of the CA we trust: refused, and the message says why.
    const stranger = await tlsError(
      node.host,
      node.port,
      { ca: [], cert: ours.cert, key: ours.key },
      stack.login,
    );
    assert.match(stranger, /certificate/i);
    // With the stack's certificates it answers.
    assert.equal((await nodeState(node.host, node.port, stack.login)).role, 'master');
  });

  it('replicas follow their master over TLS, and the Sentinels see each other and both replicas', async () => {
    const [, ...replicas] = stack.topology.redis;
    for (const r of replicas)
      assert.equal((await nodeState(r.host, r.port, stack.login)).linkUp, true, r.name);
    const s = stack.topology.sentinels[0]!;
    const seen = await withRedis(s.host, s.port, { password: stack.sentinelPassword }, async (c) => ({
      sentinels: ((await c.call('SENTINEL', 'SENTINELS', stack.topology.masterName)) as unknown[]).length,
      replicas: ((await c.call('SENTINEL', 'REPLICAS', stack.topology.masterName)) as unknown[]).length,
    }));
    assert.deepEqual(seen, { sentinels: stack.topology.sentinels.length - 1, replicas: replicas.length });
  });

  it('serves the site on HTTPS with HSTS; plain HTTP answers only a redirect to the same path there', async () => {
    const h = stack.topology.haproxy;
    const plain = await getText(`http://${h.host}:${h.httpPort}/get?x=1`, {}, 5000);
    assert.equal(plain.status, 301);
    const redirect = await new Promise<string | undefined>((resolve, reject) => {
      import('node:http').then(({ get }) =>
        get(`http://${h.host}:${h.httpPort}/get?x=1`, (res) => {
          res.resume();
          resolve(res.headers.location);
        }).on('error', reject),
      );
    });
    assert.equal(redirect, `https://${h.host}:${h.httpsPort}/get?x=1`);
    const ready = await site.request('GET', '/readyz');
    assert.equal(ready.status, 200);
    assert.match(String(ready.headers['strict-transport-security']), /max-age=\d{7,}/);
  });

  it('a user registers, logs in and keeps a cart over HTTPS, with __Host- cookies, through a failover', async () => {
    const email = `tls-${Date.now()}@example.com`;
    const password = 'a long passphrase for tls';
    assert.equal((await site.request('POST', '/api/register', { email, password })).status, 201);
    const login = await site.request('POST', '/api/login', { email, password });
    assert.equal(login.status, 200, login.text);
    assert.ok(
      [...site.cookies.keys()].some((k) => k.startsWith('__Host-')),
      [...site.cookies.keys()].join(),
    );
    for (const c of login.headers['set-cookie'] ?? []) assert.match(c, /;\s*Secure/i);
    const csrf = (JSON.parse(login.text) as { csrfToken: string }).csrfToken;
    const put = await site.request('PUT', '/api/cart', { items: { mouse: 2 } }, { 'x-csrf-token': csrf });
    assert.equal(put.status, 200, put.text);

    const old = (await stack.redisMaster())!;
    const next = await killMaster(stack, old);
    assert.notEqual(next.name, old.name);
    let after = { status: 0, text: '' };
    await waitFor(
      'a cart write through the new master',
      async () => {
        after = await site.request('PUT', '/api/cart', { items: { keyboard: 1 } }, { 'x-csrf-token': csrf });
        return after.status === 200;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    const cart = await site.request('GET', '/api/cart');
    assert.equal(cart.status, 200);
    const items = (JSON.parse(cart.text) as { items: Record<string, number> }).items;
    assert.deepEqual([items['mouse'], items['keyboard'], items['dock']], [2, 1, 0]);
  });

  it('an app exports when its certificate and the CA end', async () => {
    const auth = { authorization: operatorAuthorization(stack.stats.password!) };
    const metrics = await getText(`${stack.appUrls[0]}/metrics`, auth, 5000);
    assert.equal(metrics.status, 200);
    const end = Math.floor(certificateEnd(stack.certs!.of('app-1').cert).getTime() / 1000);
    assert.match(
      metrics.text,
      new RegExp(
        `tls_certificate_expiry_timestamp_seconds\\{instance_id="app-1",certificate="own"\\} ${end}`,
      ),
    );
    assert.match(
      metrics.text,
      /tls_certificate_expiry_timestamp_seconds\{instance_id="app-1",certificate="ca"\} \d{10}/,
    );
  });

  it('the operator front is HTTPS behind its password; the Redis front is TLS to the master', async () => {
    const stats = await getText(stack.statsUrl, {}, 5000);
    assert.equal(stats.status, 401);
    assert.match(stack.statsUrl, /^https:/);
    const front = stack.redisFront;
    // HAProxy's TLS check finds the master (it may have just changed: the test before failed over).
    let role = '';
    await waitFor(
      "the master's role through the Redis front",
      async () => {
        role = await withRedis(
          front.host,
          front.port,
          stack.login,
          async (r) => String(await r.call('ROLE')).split(',')[0] ?? '',
        ).catch((err: Error) => err.message);
        return role === 'master';
      },
      { timeoutMs: 20_000, intervalMs: 250 },
    ).catch(async (err: Error) => {
      const stats = await import('../src/ha/probes.ts').then((p) => p.haproxyStats(stack.stats));
      throw new Error(
        `${err.message}; last: ${role}; HAProxy: ${JSON.stringify(stats.filter((x) => x.backend === 'redis_master'))}`,
      );
    });
    // The master known by the Sentinels over TLS is the one HAProxy routes to.
    const s = stack.topology.sentinels[1]!;
    const view = await sentinelView(s.host, s.port, stack.topology.masterName, stack.sentinelPassword);
    const master = (await stack.redisMaster())!;
    assert.deepEqual(view.master, { host: master.host, port: master.port });
  });
});

describe('ha-stack up --tls from the command line', () => {
  it('starts a stack with TLS, status says when the certificates end, rotate certificates replaces them', async () => {
    const dir = tempRunDir('tls-cli');
    const env: Record<string, string> = { HA_STACK_RUN_DIR: dir, ...portEnv(await freePorts()) };
    try {
      const up = await haStack(['up', '--detach', '--tls'], env);
      assert.equal(up.code, 0, up.stderr);
      assert.match(up.stdout, /https:\/\//);
      const status = await haStack(['status', '--json'], env);
      assert.equal(status.code, 0, status.stderr);
      const s = JSON.parse(status.stdout) as {
        master: string;
        tls: { first: { name: string; end: string }; warnings: string[] };
      };
      assert.equal(s.master, 'redis-1');
      assert.ok(Date.parse(s.tls.first.end) > Date.now() + 300 * 86_400_000, s.tls.first.end);
      assert.deepEqual(s.tls.warnings, []);
      const text = await haStack(['status'], env);
      assert.match(text.stdout, /^tls: on, \d+ certificates in /m);
      // The certificates replaced on the running stack; status then reaches it with the new ones.
      const rotate = await haStack(['rotate', 'certificates'], env);
      assert.equal(rotate.code, 0, rotate.stderr);
      assert.match(rotate.stdout, /rotate certificates: done in [\d.]+ s \(CA [0-9A-F:]+ -> [0-9A-F:]+\)/);
      assert.match(
        rotate.stdout,
        /a client of the old CA is refused \(tried on redis-1, redis-2, redis-3, sentinel-1/,
      );
      const again = await haStack(['status', '--json'], env);
      assert.equal(again.code, 0, again.stderr);
      assert.equal((JSON.parse(again.stdout) as { master: string }).master, 'redis-1');
    } finally {
      const down = await haStack(['down'], env);
      assert.equal(down.code, 0, down.stderr);
    }
  });
});
