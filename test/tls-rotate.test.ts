// `ha-stack rotate certificates` (docs/tls.md) on a real stack with TLS: a new CA and a new
// certificate for every component under a logged-in reader every 50 ms, then the old CA refused
// everywhere, and a failover after it (the apps reconnect with the new files, not restarted).
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { useStackTls } from '../src/ha/tls.ts';
import type { Stack } from '../src/ops/supervisor/supervisor.ts';
import { waitFor } from '../src/ops/supervisor/wait.ts';
import { components } from '../src/ops/tls/certs.ts';
import { NEXT_DIR, pemCertificates } from '../src/ops/tls/renew.ts';
import { HttpsClient, httpsReader } from '../src/tools/https-client.ts';
import { promTargets } from '../src/tools/monitor/api.ts';
import { killMaster, startTestStack, tempDirs } from './helpers/stack.ts';

const tempDir = tempDirs();

/** The certificate a TLS server shows (checked against `ca`), and what happened to a PING after it. */
function handshake(
  host: string,
  port: number,
  tls: { ca: string; cert?: string; key?: string },
): Promise<{ shown?: X509Certificate; answer: string }> {
  return new Promise((resolve) => {
    const s = tlsConnect({ host, port, ...tls, checkServerIdentity: () => undefined });
    let shown: X509Certificate | undefined;
    let answer = '';
    const done = (why: string) => {
      s.destroy();
      resolve({ ...(shown ? { shown } : {}), answer: answer || why });
    };
    s.setTimeout(3000, () => done('no answer'));
    s.on('secureConnect', () => {
      shown = s.getPeerX509Certificate();
      s.write('PING\r\n');
    });
    s.on('data', (b: Buffer) => {
      answer += b.toString();
      if (answer.includes('\r\n')) done(answer);
    });
    s.on('error', (err) => done(err.message));
    s.on('close', () => done('closed'));
  });
}

/**
 * Every target of Prometheus up (9: three nodes, three Sentinels, HAProxy, two apps) in a scrape
 * begun after `since`, and each exporter reaching its node or Sentinel on TLS now (`redis_up 1`: the
 * exporter's own page is up even when it cannot reach Redis).
 */
async function monitoringFollows(stack: Stack, when: string, since: number): Promise<void> {
  const m = stack.monitoring!;
  const t = stack.topology;
  const exporters = [
    ...t.monitoring.redisExporters.map((e) => `http://${t.monitoring.host}:${e.port}/metrics`),
    ...t.sentinels.map(
      (s) =>
        `http://${t.monitoring.host}:${t.monitoring.sentinelExporterPort}/scrape?target=rediss://${s.host}:${s.port}`,
    ),
  ];
  let last = '';
  await waitFor(
    `every target of Prometheus up and every exporter reaching Redis ${when}`,
    async () => {
      const targets = await promTargets(m);
      last = targets.map((x) => `${x.labels['node']}=${x.health} ${x.lastError ?? ''}`).join('; ');
      const fresh = targets.every((x) => x.health === 'up' && Date.parse(x.lastScrape ?? '') > since);
      if (targets.length !== 9 || !fresh) return false;
      for (const url of exporters) {
        const text = await (await fetch(url, { signal: AbortSignal.timeout(5000) })).text();
        if (!/^redis_up 1$/m.test(text)) {
          last = `${url}: ${text.match(/^redis_up .*$/m)?.[0] ?? 'no redis_up'}`;
          return false;
        }
      }
      return true;
    },
    { timeoutMs: 30_000, intervalMs: 500 },
  ).catch((err: Error) => {
    throw new Error(`${err.message}: ${last}`);
  });
}

describe('ha-stack rotate certificates', () => {
  let stack: Stack;

  before(async () => {
    // With the monitoring: its exporters reach the nodes and Sentinels on TLS, Prometheus the front.
    stack = await startTestStack('tls-rotate', {
      tls: true,
      monitoring: true,
      runDir: join(tempDir('tls-rotate'), 'run'),
    });
  });
  after(async () => {
    await stack?.stop();
    useStackTls(undefined);
  });

  it('replaces the CA and every certificate under a logged-in reader every 50 ms: no failure, the old CA refused', async () => {
    await monitoringFollows(stack, 'before the rotation', 0);
    const certs = stack.certs!;
    const names = Object.keys(components(stack.topology));
    const oldCa = readFileSync(certs.ca, 'utf8');
    const before = Object.fromEntries(
      names.map((n) => [n, new X509Certificate(readFileSync(certs.of(n).cert)).fingerprint256]),
    );
    // A client of the old CA, as the operator's tools were before: kept to be tried afterwards.
    const oldOps = {
      cert: readFileSync(certs.of('ops').cert, 'utf8'),
      key: readFileSync(certs.of('ops').key, 'utf8'),
    };

    const site = new HttpsClient(stack.frontUrl, certs.ca, true);
    const email = `rotate-${Date.now()}@example.com`;
    const password = 'a long passphrase for rotation';
    assert.equal((await site.request('POST', '/api/register', { email, password })).status, 201);
    const login = await site.request('POST', '/api/login', { email, password });
    assert.equal(login.status, 200, login.text);
    const csrf = (JSON.parse(login.text) as { csrfToken: string }).csrfToken;
    assert.equal(
      (await site.request('PUT', '/api/cart', { items: { mouse: 3 } }, { 'x-csrf-token': csrf })).status,
      200,
    );

    const reader = httpsReader(
      site,
      (text) => (JSON.parse(text) as { items: Record<string, number> }).items['mouse'] === 3,
    );
    const r = await stack.rotate('certificates');
    const rotated = Date.now();
    const seen = await reader.stop();
    site.close();

    assert.ok(seen.length > 20, `only ${seen.length} reads`);
    assert.deepEqual(
      seen.filter((s) => s !== 'ok'),
      [],
      `${seen.length} reads`,
    );
    const t = stack.topology;
    const sentinels = t.sentinels.map((s) => s.name);
    assert.deepEqual(r.restarted, [...sentinels, ...sentinels, ...sentinels]);
    assert.deepEqual(r.refusedOn, [...t.redis.map((n) => n.name), ...sentinels]);
    assert.deepEqual(r.nodes, [...t.redis.map((n) => n.name), 'haproxy']);

    // One CA now, not the old one; every component's certificate new and signed by it; keys 0600.
    const cas = pemCertificates(readFileSync(certs.ca, 'utf8'));
    assert.equal(cas.length, 1);
    assert.notEqual(cas[0], pemCertificates(oldCa)[0]);
    const ca = new X509Certificate(cas[0]!);
    assert.equal(r.ca?.new, ca.fingerprint256);
    for (const n of names) {
      const c = new X509Certificate(readFileSync(certs.of(n).cert));
      assert.notEqual(c.fingerprint256, before[n], `${n} is new`);
      assert.ok(c.verify(ca.publicKey), `${n} signed by the new CA`);
      assert.ok(
        c.checkPrivateKey((await import('node:crypto')).createPrivateKey(readFileSync(certs.of(n).key))),
        n,
      );
      assert.equal(statSync(certs.of(n).key).mode & 0o777, 0o600, `${n}.key`);
    }
    assert.equal(statSync(join(certs.dir, 'ca.key')).mode & 0o777, 0o600);
    assert.equal(existsSync(join(certs.dir, NEXT_DIR)), false, 'the new CA is no longer apart');

    // Each node and Sentinel shows its new certificate to a client that trusts only the new CA, and
    // refuses a client certificate of the old one; HAProxy's site shows its new one.
    const ops = {
      ca: certs.ca,
      cert: readFileSync(certs.of('ops').cert, 'utf8'),
      key: readFileSync(certs.of('ops').key, 'utf8'),
    };
    for (const n of [...t.redis, ...t.sentinels]) {
      const ok = await handshake(n.host, n.port, { ...ops, ca: readFileSync(certs.ca, 'utf8') });
      assert.equal(
        ok.shown?.fingerprint256,
        new X509Certificate(readFileSync(certs.of(n.name).cert)).fingerprint256,
        n.name,
      );
      assert.match(ok.answer, /NOAUTH|PONG/, n.name);
      const old = await handshake(n.host, n.port, { ca: readFileSync(certs.ca, 'utf8'), ...oldOps });
      assert.doesNotMatch(old.answer, /NOAUTH|PONG/, `${n.name} refuses the old CA's client`);
    }
    const front = await handshake(t.haproxy.host, t.haproxy.httpsPort, {
      ca: readFileSync(certs.ca, 'utf8'),
    });
    assert.equal(
      front.shown?.fingerprint256,
      new X509Certificate(readFileSync(certs.of('haproxy').cert)).fingerprint256,
    );
    // The exporters and Prometheus follow: every scrape after the rotation succeeds on the new files.
    await monitoringFollows(stack, 'after the rotation', rotated);
  });

  it('after the rotation, a failover: the apps (not restarted) reach the new master with the new files', async () => {
    const certs = stack.certs!;
    const site = new HttpsClient(stack.frontUrl, certs.ca);
    const email = `after-${Date.now()}@example.com`;
    const password = 'a long passphrase after rotation';
    assert.equal((await site.request('POST', '/api/register', { email, password })).status, 201);
    const login = await site.request('POST', '/api/login', { email, password });
    assert.equal(login.status, 200, login.text);
    const csrf = (JSON.parse(login.text) as { csrfToken: string }).csrfToken;
    const pids = stack.topology.apps.map((a) => stack.process(a.name).pid);
    const old = (await stack.redisMaster())!;
    await killMaster(stack, old);
    let put = { status: 0, text: '' };
    await waitFor(
      'a cart write through the new master',
      async () => {
        put = await site.request('PUT', '/api/cart', { items: { dock: 2 } }, { 'x-csrf-token': csrf });
        return put.status === 200;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    const cart = await site.request('GET', '/api/cart');
    assert.equal((JSON.parse(cart.text) as { items: Record<string, number> }).items['dock'], 2);
    assert.deepEqual(
      stack.topology.apps.map((a) => stack.process(a.name).pid),
      pids,
      'the apps were not restarted',
    );
    site.close();
  });
});
