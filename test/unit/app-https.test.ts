// The app serving HTTPS (APP_TLS_CERT_FILE, APP_TLS_KEY_FILE): its certificate checked against the
// CA that signed it, the variables checked together, and a certificate replaced in place taken for
// new connections without a restart. Certificates made by the real openssl; no Redis (a layer that
// only answers /readyz).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import type { BuiltApp } from '../../src/app/app.ts';
import { CERTIFICATE_POLL_MS } from '../../src/app/https.ts';
import { ConfigError, loadConfig } from '../../src/config/index.ts';
import { waitFor } from '../../src/ops/supervisor/wait.ts';
import { makeCa, makeLeaf } from '../../src/ops/tls/certs.ts';
import { buildOffline, healthOnly, OFFLINE_ENV } from '../helpers/offline-app.ts';

const dir = mkdtempSync(join(tmpdir(), 'rhs-app-https-'));
const other = mkdtempSync(join(tmpdir(), 'rhs-app-https-other-'));
const ca = join(dir, 'ca.crt');
const env = {
  ...OFFLINE_ENV,
  APP_TLS_CERT_FILE: join(dir, 'app-1.crt'),
  APP_TLS_KEY_FILE: join(dir, 'app-1.key'),
};
let built: BuiltApp;
let port: number;

/** One GET on a new connection: status, body and the certificate the server showed. */
function get(path: string, caFile: string | undefined, servername = '127.0.0.1') {
  return new Promise<{ status: number; text: string; cert: PeerCertificate }>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        servername,
        agent: false,
        ...(caFile ? { ca: readFileSync(caFile) } : {}),
      },
      (res) => {
        const cert = (res.socket as TLSSocket).getPeerCertificate();
        let text = '';
        res.on('data', (d: Buffer) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text, cert }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  makeCa(dir);
  makeLeaf(dir, 'app-1', ['app-1', '127.0.0.1']);
  makeCa(other);
  built = await buildOffline(env, healthOnly({ mode: 'healthy', serving: 'master', replicasOfMaster: 2 }));
  await built.app.listen({ host: '127.0.0.1', port: 0 });
  port = (built.app.server.address() as AddressInfo).port;
});
after(async () => {
  await built.app.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(other, { recursive: true, force: true });
});

describe('the app on HTTPS', () => {
  it('answers over HTTPS with its certificate, verified against the CA', async () => {
    const r = await get('/healthz', ca);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.cert.subject.CN, 'app-1');
    assert.match(r.cert.subjectaltname ?? '', /IP Address:127\.0\.0\.1/);
  });

  it('is refused by a client trusting another CA, or none', async () => {
    await assert.rejects(get('/healthz', join(other, 'ca.crt')), /unable to verify|self.signed|certificate/i);
    await assert.rejects(get('/healthz', undefined), /unable to verify|self.signed|certificate/i);
  });

  it('takes a certificate replaced in place for new connections, without a restart', async () => {
    const before = (await get('/healthz', ca)).cert.serialNumber;
    makeLeaf(dir, 'app-1', ['app-1', '127.0.0.1']);
    await waitFor(
      'the new certificate shown',
      async () => (await get('/healthz', ca)).cert.serialNumber !== before,
      { timeoutMs: CERTIFICATE_POLL_MS * 3, intervalMs: 200 },
    );
  });

  it('needs both files: one alone, or a missing file, names its variable', () => {
    const { APP_TLS_KEY_FILE: _k, ...certOnly } = env;
    assert.throws(
      () => loadConfig(certOnly),
      (e: unknown) => e instanceof ConfigError && e.variable === 'APP_TLS_KEY_FILE',
    );
    const { APP_TLS_CERT_FILE: _c, ...keyOnly } = env;
    assert.throws(
      () => loadConfig(keyOnly),
      (e: unknown) => e instanceof ConfigError && e.variable === 'APP_TLS_CERT_FILE',
    );
    assert.throws(
      () => loadConfig({ ...env, APP_TLS_CERT_FILE: join(dir, 'nothing.crt') }),
      (e: unknown) =>
        e instanceof ConfigError && e.variable === 'APP_TLS_CERT_FILE' && /no such file/.test(e.message),
    );
    assert.equal(loadConfig(OFFLINE_ENV).serverTls, undefined);
  });
});
