// The operator's own certificates (TLS_DIR, docs/tls.md): the stack makes none, and `rotate
// certificates` makes every process take that folder's files again. The operator moves to a new
// CA in three steps, running it after each, under a logged-in reader every 50 ms.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { cpSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { useStackTls } from '../src/ha/tls.ts';
import type { Stack } from '../src/ops/supervisor/supervisor.ts';
import { components, ensureCertificates, TLS_DIR } from '../src/ops/tls/certs.ts';
import { addNextCa, reissue, retireOldCa } from '../src/ops/tls/renew.ts';
import { defineTopology } from '../src/ops/topology.ts';
import { HttpsClient, httpsReader } from '../src/tools/https-client.ts';
import { freePorts, startTestStack, tempDirs } from './helpers/stack.ts';

const tempDir = tempDirs();

/** The fingerprint of the certificate a TLS server shows (no check: the test compares it). */
function shown(host: string, port: number, client: { cert: string; key: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({
      host,
      port,
      cert: readFileSync(client.cert),
      key: readFileSync(client.key),
      rejectUnauthorized: false,
    });
    s.setTimeout(3000, () => s.destroy(new Error('no TLS answer')));
    s.on('secureConnect', () => {
      resolve(s.getPeerX509Certificate()?.fingerprint256 ?? '');
      s.end();
    });
    s.on('error', reject);
  });
}

describe("ha-stack rotate certificates with the operator's own (TLS_DIR)", () => {
  let stack: Stack;
  let given: string;

  before(async () => {
    // The operator's folder: a CA and a certificate per component, as an operator's PKI makes
    // them (here by the stack's own code, into a folder of the operator's, with its CA key).
    const ports = await freePorts();
    const topology = defineTopology({ ports });
    const made = ensureCertificates(tempDir('tls-given-pki'), topology);
    given = tempDir('tls-given');
    cpSync(made.dir, given, { recursive: true });
    rmSync(join(given, 'haproxy.pem'));
    stack = await startTestStack('tls-given', {
      tls: true,
      tlsDir: given,
      topology: { ports },
      runDir: join(tempDir('tls-given-run'), 'run'),
    });
  });
  after(async () => {
    await stack?.stop();
    useStackTls(undefined);
  });

  it('takes a new CA in three steps of the operator, each reloaded on the running stack, no read failing', async () => {
    assert.equal(stack.certs!.dir, given, 'the stack made no certificate of its own');
    assert.equal(stack.certs!.frontPem, join(stack.run.dir, TLS_DIR, 'haproxy.pem'));
    const site = new HttpsClient(stack.frontUrl, join(given, 'ca.crt'), true);
    const email = `given-${Date.now()}@example.com`;
    const password = 'a long passphrase for given certificates';
    assert.equal((await site.request('POST', '/api/register', { email, password })).status, 201);
    assert.equal((await site.request('POST', '/api/login', { email, password })).status, 200);
    const reader = httpsReader(site);
    const steps = [() => addNextCa(given), () => reissue(given, stack.topology), () => retireOldCa(given)];
    const results = [];
    for (const step of steps) {
      step();
      results.push(await stack.rotate('certificates'));
    }
    const seen = await reader.stop();
    site.close();
    assert.ok(seen.length > 20, `only ${seen.length} reads`);
    assert.deepEqual(
      seen.filter((s) => s !== 'ok'),
      [],
    );
    const t = stack.topology;
    for (const r of results) {
      assert.deepEqual(r.refusedOn, [], 'no CA of the stack to retire');
      assert.deepEqual(
        r.restarted,
        t.sentinels.map((s) => s.name),
      );
    }
    // Every node and Sentinel shows its new file's certificate, of the new CA alone.
    const ca = new X509Certificate(readFileSync(join(given, 'ca.crt')));
    assert.equal(results[2]!.ca?.new, ca.fingerprint256);
    const ops = { cert: join(given, 'ops.crt'), key: join(given, 'ops.key') };
    for (const n of [...t.redis, ...t.sentinels]) {
      const file = new X509Certificate(readFileSync(join(given, `${n.name}.crt`)));
      assert.ok(file.verify(ca.publicKey), `${n.name}'s file is of the new CA`);
      assert.equal(await shown(n.host, n.port, ops), file.fingerprint256, n.name);
    }
    assert.ok(Object.keys(components(t)).length > 0);
    // HAProxy's combined file in the run directory follows the operator's files.
    assert.ok(
      readFileSync(stack.certs!.frontPem, 'utf8').startsWith(
        readFileSync(join(given, 'haproxy.crt'), 'utf8'),
      ),
    );
  });
});
