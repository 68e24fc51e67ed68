/**
 * Compose on TLS (deploy/compose.tls.yaml, docs/tls.md "Compose"): the override's services, the
 * certs service's script with the real openssl (the entrypoints' TLS: entrypoints-tls.test.ts).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { composeDocument, composeTopology, renderComposeFiles } from '../../src/ops/render/compose.ts';
import { SECRET_VARIABLES } from '../../src/ops/render/compose-names.ts';
import {
  CA_VOLUME,
  certsComponents,
  composeTlsDocument,
  TLS_MOUNT,
} from '../../src/ops/render/compose-tls.ts';
import { runScript } from '../helpers/run-script.ts';
import { tempDirs } from '../helpers/stack.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEPLOY = join(ROOT, 'deploy');
const _exec = promisify(execFile);
const tempDir = tempDirs();
const t = composeTopology();

type Service = {
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { test: string[] };
  ports?: string[];
};
const tlsServices = composeTlsDocument(t)['services'] as Record<string, Service>;

/** TLS_COMPONENTS with every uid the test's own (it cannot give files to the images' users). */
const components = () =>
  certsComponents(t).replace(/\$\{TLS_UID_[A-Z]+:-\d+\}/g, String(process.getuid?.() ?? 0));

const makeCerts = (out: string, ca: string, extra: Record<string, string> = {}) =>
  runScript('sh', [join(DEPLOY, 'certs/make-certs.sh')], {
    TLS_OUT: out,
    TLS_CA_DIR: ca,
    TLS_COMPONENTS: components(),
    ...extra,
  });

describe('deploy/compose.tls.yaml', () => {
  it('is rendered beside compose.yaml, with the HAProxy config on TLS and the certs image', () => {
    const files = renderComposeFiles(t);
    for (const path of [
      'compose.tls.yaml',
      'haproxy/haproxy-tls.cfg',
      'certs/Dockerfile',
      'monitoring/prometheus-tls.yml',
    ])
      assert.equal(readFileSync(join(DEPLOY, path), 'utf8'), files[path], path);
  });

  it('puts every node, Sentinel and app on TLS, cookies Secure, the CA key in the certs service only', () => {
    const base = composeDocument(t)['services'] as Record<string, Service>;
    for (const n of [...t.redis, ...t.sentinels]) {
      const s = tlsServices[n.host]!;
      assert.deepEqual(s.environment, {
        REDIS_TLS_CA_FILE: `${TLS_MOUNT}/ca.crt`,
        REDIS_TLS_CERT_FILE: `${TLS_MOUNT}/${n.name}.crt`,
        REDIS_TLS_KEY_FILE: `${TLS_MOUNT}/${n.name}.key`,
      });
      assert.match(s.healthcheck!.test[1]!, /--tls --cacert \/tls\/ca\.crt --cert /);
    }
    for (const a of t.apps) {
      assert.equal(tlsServices[a.host]!.environment!['COOKIE_SECURE'], 'true');
      assert.equal(tlsServices[a.host]!.environment!['REDIS_TLS_CERT_FILE'], `/tls/${a.name}.crt`);
    }
    for (const [name, s] of Object.entries({ ...base, ...tlsServices })) {
      const mounts = [...(s.volumes ?? []), ...(tlsServices[name]?.volumes ?? [])];
      if (name !== 'certs')
        assert.ok(!mounts.some((v) => v.startsWith(`${CA_VOLUME}:`)), `${name} mounts the CA`);
      if (tlsServices[name] && name !== 'certs')
        assert.ok(
          (tlsServices[name]!.volumes ?? []).every((v) => !v.includes(':/tls') || v.endsWith(':ro')),
          `${name}: the certificates read-only`,
        );
    }
    assert.deepEqual(tlsServices['haproxy']!.ports, ['443:8443']);
  });

  it("puts the monitoring profile's exporters on rediss:// with their certificate, Prometheus on HTTPS", () => {
    const exporters = Object.entries(tlsServices).filter(([n]) => n.includes('exporter'));
    assert.equal(exporters.length, t.redis.length + 1);
    for (const [n, s] of exporters) {
      const command = (s as { command: string[] }).command;
      assert.match(command[0]!, /^-redis\.addr=rediss:\/\/redis-/, n);
      assert.ok(command.includes('-tls-client-cert-file=/tls/exporter.crt'), n);
      assert.ok(command.includes('-tls-ca-cert-file=/tls/ca.crt'), n);
    }
    assert.match(certsComponents(t), /exporter:\$\{TLS_UID_EXPORTER:-59000\}:exporter/);
    const prometheus = readFileSync(join(DEPLOY, 'monitoring/prometheus-tls.yml'), 'utf8');
    assert.match(prometheus, /scheme: "https"\n\s+tls_config:\n\s+ca_file: "\/tls\/ca\.crt"/);
    assert.match(prometheus, /rediss:\/\/\$1/);
    assert.ok(
      tlsServices['prometheus']!.volumes!.includes(
        './monitoring/prometheus-tls.yml:/etc/prometheus/prometheus.yml:ro',
      ),
    );
  });

  it("HAProxy checks every node's certificate against the CA and for its name; HTTP redirects", () => {
    const cfg = readFileSync(join(DEPLOY, 'haproxy/haproxy-tls.cfg'), 'utf8');
    assert.match(
      cfg,
      /default-server check-ssl ssl verify required ca-file \/tls\/ca\.crt crt \/tls\/haproxy\.crt/,
    );
    for (const r of t.redis)
      assert.match(cfg, new RegExp(`server ${r.name} ${r.host}:6379 verifyhost ${r.name}\\n`));
    assert.match(
      cfg,
      /redirect location https:\/\/%\[req\.hdr\(host\),field\(1,:\)\]%\[capture\.req\.uri\] code 301/,
    );
    assert.match(cfg, /Strict-Transport-Security/);
    assert.match(cfg, /bind \*:8404 ssl crt /);
  });
});

describe('the TLS files as their programs read them', () => {
  const has = (cmd: string) => runScript('sh', ['-c', `command -v ${cmd}`], {}).then((r) => r.code === 0);

  it('docker-compose reads compose.yaml with compose.tls.yaml', async (t) => {
    if (!(await has('docker-compose'))) return t.skip('docker-compose is not installed');
    const secrets = Object.fromEntries(Object.keys(SECRET_VARIABLES).map((v) => [v, 'x'.repeat(40)]));
    const files = ['-f', join(DEPLOY, 'compose.yaml'), '-f', join(DEPLOY, 'compose.tls.yaml')];
    const r = await runScript('docker-compose', [...files, 'config'], secrets);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /haproxy-tls\.cfg:\/usr\/local\/etc\/haproxy\/haproxy\.cfg:ro/);
    assert.match(r.stdout, /published: 443\n\s+target: 8443/);
  });

  it('haproxy -c accepts haproxy-tls.cfg with the certificates make-certs.sh makes', async (t) => {
    if (!(await has('haproxy'))) return t.skip('haproxy is not installed');
    const dir = tempDir('haproxy-tls');
    const [out, ca] = [join(dir, 'tls'), join(dir, 'ca')];
    mkdirSync(out);
    mkdirSync(ca);
    assert.equal((await makeCerts(out, ca)).code, 0);
    const cfg = readFileSync(join(DEPLOY, 'haproxy/haproxy-tls.cfg'), 'utf8').replaceAll(
      `${TLS_MOUNT}/`,
      `${out}/`,
    );
    writeFileSync(join(dir, 'haproxy.cfg'), cfg);
    const r = await runScript('haproxy', ['-c', '-f', join(dir, 'haproxy.cfg')], {
      REDIS_HAPROXY_PASSWORD: 'x'.repeat(40),
      HAPROXY_OPERATOR_PASSWORD: 'y'.repeat(40),
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Configuration file is valid/);
  });
});

describe('deploy/certs/make-certs.sh', () => {
  it('makes the CA apart and a key 0600 and a certificate per component, naming its service', async () => {
    const dir = tempDir('certs');
    const [out, ca] = [join(dir, 'tls'), join(dir, 'ca')];
    mkdirSync(out);
    mkdirSync(ca);
    const r = await makeCerts(out, ca);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(
      existsSync(join(ca, 'ca.key')) && !existsSync(join(out, 'ca.key')),
      'the CA key in its own volume',
    );
    assert.equal(statSync(join(ca, 'ca.key')).mode & 0o777, 0o600);
    for (const n of [...t.redis, ...t.sentinels, ...t.apps]) {
      assert.equal(statSync(join(out, `${n.name}.key`)).mode & 0o777, 0o600, n.name);
      const v = await runScript(
        'openssl',
        ['verify', '-CAfile', join(out, 'ca.crt'), join(out, `${n.name}.crt`)],
        {},
      );
      assert.equal(v.code, 0, v.stderr);
      const san = await runScript(
        'openssl',
        ['x509', '-in', join(out, `${n.name}.crt`), '-noout', '-ext', 'subjectAltName'],
        {},
      );
      assert.match(san.stdout, new RegExp(`DNS:${n.name}, DNS:${n.host}\\b`));
    }
    const again = await makeCerts(out, ca);
    assert.match(again.stderr, /made: none; kept: redis-1 /);
  });

  it("takes the operator's own files as they are, and stops naming a missing one or a key others read", async () => {
    const dir = tempDir('certs');
    const [out, ca, empty] = [join(dir, 'tls'), join(dir, 'ca'), join(dir, 'none')];
    for (const d of [out, ca, empty]) mkdirSync(d);
    assert.equal((await makeCerts(out, ca)).code, 0);
    // The operator's volume: no CA key beside it.
    const kept = await makeCerts(out, empty);
    assert.equal(kept.code, 0, kept.stderr);
    rmSync(join(out, 'app-2.crt'));
    const missing = await makeCerts(out, empty);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /app-2\.crt or app-2\.key is missing/);
    assert.equal((await makeCerts(out, ca)).code, 0, 'its own CA makes what is missing');
    chmodSync(join(out, 'sentinel-2.key'), 0o644);
    const open = await makeCerts(out, empty);
    assert.equal(open.code, 2);
    assert.match(open.stderr, /sentinel-2\.key is readable by others/);
  });
});
