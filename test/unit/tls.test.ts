import assert from 'node:assert/strict';
import { chmodSync, cpSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, readRedis } from '../../src/config/index.ts';
import {
  certificateEnd,
  cliTlsArgs,
  expiryWarning,
  isTlsError,
  ownCertificates,
  tlsErrorText,
  useStackTls,
} from '../../src/ha/tls.ts';
import { renderHaproxyCfg } from '../../src/ops/render/haproxy.ts';
import {
  redisExporterArgs,
  renderPrometheusConfig,
  sentinelExporterArgs,
} from '../../src/ops/render/monitoring.ts';
import { renderRedisConf } from '../../src/ops/render/redis.ts';
import { renderSentinelConf } from '../../src/ops/render/sentinel.ts';
import {
  altNames,
  certificateReport,
  components,
  ensureCertificates,
  givenCertificates,
  LEAF_DAYS,
  tlsEnvironment,
} from '../../src/ops/tls/certs.ts';
import { defineTopology } from '../../src/ops/topology.ts';
import { tempDirs } from '../helpers/stack.ts';

const tempDir = tempDirs();
const t = defineTopology();
const files = { ca: '/run/tls/ca.crt', cert: '/run/tls/redis-1.crt', key: '/run/tls/redis-1.key' };
const lines = (text: string) => text.split('\n').map((l) => l.trim());

describe('TLS: the rendered configurations', () => {
  it('a node on TLS only: plain port closed, client certificates required, replication over TLS', () => {
    const node = t.redis[1]!;
    const conf = lines(renderRedisConf(t, node, { dir: '/d', users: undefined, tls: files }));
    for (const want of [
      'port 0',
      `tls-port ${node.port}`,
      `tls-cert-file ${files.cert}`,
      `tls-key-file ${files.key}`,
      `tls-ca-cert-file ${files.ca}`,
      'tls-auth-clients yes',
      'tls-replication yes',
    ])
      assert.ok(conf.includes(want), want);
    assert.ok(!conf.includes(`port ${node.port}`));
    // Without TLS: the plain port and no tls- line.
    const plain = lines(renderRedisConf(t, node, { dir: '/d', users: undefined }));
    assert.ok(plain.includes(`port ${node.port}`));
    assert.equal(plain.filter((l) => l.startsWith('tls-')).length, 0);
  });

  it('a Sentinel on TLS only, talking TLS to the nodes and the other Sentinels', () => {
    const s = t.sentinels[0]!;
    const conf = lines(renderSentinelConf(t, s, { dir: '/d', authPass: 'a', requirePass: 'b', tls: files }));
    for (const want of ['port 0', `tls-port ${s.port}`, 'tls-replication yes', 'tls-auth-clients yes'])
      assert.ok(conf.includes(want), want);
    assert.ok(!conf.includes(`port ${s.port}`));
  });

  it('HAProxy: the site on HTTPS with HSTS and a redirect from HTTP, TLS fronts, nodes checked against the CA', () => {
    const tls = { pem: '/run/tls/haproxy.pem', ca: '/run/tls/ca.crt' };
    const cfg = renderHaproxyCfg(t, { target: 'local', password: 'p', operatorPassword: 'o', tls });
    const h = t.haproxy;
    assert.match(cfg, new RegExp(`bind ${h.host}:${h.httpsPort} ssl crt ${tls.pem}\\n`));
    assert.match(cfg, new RegExp(`bind ${h.host}:${h.httpPort}\\n`));
    assert.match(
      cfg,
      /http-request redirect location https:\/\/\S+:8443%\[capture\.req\.uri\] code 301 unless \{ ssl_fc \}/,
    );
    assert.match(cfg, /Strict-Transport-Security "max-age=63072000" if \{ ssl_fc \}/);
    assert.match(cfg, new RegExp(`bind ${h.host}:${h.statsPort} ssl crt ${tls.pem}\\n`));
    assert.match(cfg, new RegExp(`bind ${h.host}:${h.redisPort} ssl crt ${tls.pem}\\n`));
    assert.match(
      cfg,
      /default-server check-ssl ssl verify required ca-file \/run\/tls\/ca\.crt crt \/run\/tls\/haproxy\.pem/,
    );
    for (const r of t.redis)
      assert.match(cfg, new RegExp(`server ${r.name} ${r.host}:${r.port} verifyhost ${r.name}\\n`));
    assert.match(cfg, /tcp-check connect default/);
    // Without TLS: nothing of it.
    const plain = renderHaproxyCfg(t, { target: 'local', password: 'p', operatorPassword: 'o' });
    assert.doesNotMatch(plain, /ssl|8443|Strict-Transport|verifyhost/);
  });
});

describe('TLS: certificates and settings', () => {
  it('the monitoring on TLS: exporters on rediss:// with their certificate, Prometheus on HTTPS to the front', () => {
    const node = t.redis[0]!;
    const exporter = redisExporterArgs(t, t.monitoring.redisExporters[0]!.name, files);
    assert.ok(exporter.includes(`-redis.addr=rediss://${node.host}:${node.port}`), exporter.join(' '));
    for (const flag of [
      `-tls-ca-cert-file=${files.ca}`,
      `-tls-client-cert-file=${files.cert}`,
      `-tls-client-key-file=${files.key}`,
    ]) {
      assert.ok(exporter.includes(flag), flag);
      assert.ok(sentinelExporterArgs(t, files).includes(flag), flag);
    }
    assert.ok(!redisExporterArgs(t, t.monitoring.redisExporters[0]!.name).some((a) => a.includes('tls')));
    const paths = { rules: '/r.yml', operatorPasswordFile: '/o', monitoringPasswordFile: '/m' };
    const on = renderPrometheusConfig(t, { ...paths, ca: files.ca });
    const off = renderPrometheusConfig(t, paths);
    assert.equal(
      (on.match(/scheme: "https"/g) ?? []).length,
      2,
      'HAProxy and the apps, on the operator front',
    );
    assert.equal((on.match(new RegExp(`ca_file: "${files.ca}"`, 'g')) ?? []).length, 2);
    assert.match(on, /replacement: "rediss:\/\/\$1"/);
    assert.doesNotMatch(off, /https|rediss|ca_file/);
  });

  it('names each component by its addresses and names', () => {
    assert.equal(altNames(['redis-1', '127.0.0.11', 'redis-1']), 'DNS:redis-1,IP:127.0.0.11');
    const c = components(t);
    assert.deepEqual(c['redis-1'], ['redis-1', '127.0.0.11']);
    assert.ok(c['haproxy']!.includes(t.haproxy.host));
    assert.deepEqual(
      Object.keys(c).sort(),
      [
        ...['haproxy', 'ops'],
        ...t.redis.map((r) => r.name),
        ...t.sentinels.map((s) => s.name),
        ...t.apps.map((a) => a.name),
      ].sort(),
    );
  });

  it('gives an app its certificate and Secure cookies', () => {
    assert.deepEqual(tlsEnvironment(files), {
      REDIS_TLS_CA_FILE: files.ca,
      REDIS_TLS_CERT_FILE: files.cert,
      REDIS_TLS_KEY_FILE: files.key,
      COOKIE_SECURE: 'true',
    });
  });

  it('the app takes all three REDIS_TLS_* files or none, and names the one that is wrong', () => {
    const dir = tempDir('tls-config');
    const paths = ['ca', 'cert', 'key'].map((n) => join(dir, n));
    for (const p of paths) writeFileSync(p, 'x');
    const env = { REDIS_SENTINELS: '127.0.0.1:26380' };
    assert.equal(readRedis(env).tls, undefined);
    const all = {
      ...env,
      REDIS_TLS_CA_FILE: paths[0]!,
      REDIS_TLS_CERT_FILE: paths[1]!,
      REDIS_TLS_KEY_FILE: paths[2]!,
    };
    assert.deepEqual(readRedis(all).tls, { ca: paths[0], cert: paths[1], key: paths[2] });
    const refused = (e: Record<string, string>) => {
      try {
        readRedis(e);
      } catch (err) {
        assert.ok(err instanceof ConfigError);
        return err.variable;
      }
      return 'accepted';
    };
    const { REDIS_TLS_KEY_FILE: _, ...noKey } = all;
    assert.equal(refused(noKey), 'REDIS_TLS_KEY_FILE');
    assert.equal(refused({ ...all, REDIS_TLS_CERT_FILE: join(dir, 'missing') }), 'REDIS_TLS_CERT_FILE');
  });

  it('tells a TLS failure apart and names its peer; the CLI gets the same files', () => {
    const err = Object.assign(new Error('unable to verify the first certificate'), {
      code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    });
    assert.ok(isTlsError(err));
    assert.ok(!isTlsError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })));
    assert.equal(
      tlsErrorText('127.0.0.11:6380', err),
      'TLS to 127.0.0.11:6380 failed: unable to verify the first certificate (UNABLE_TO_VERIFY_LEAF_SIGNATURE)',
    );
    useStackTls(files);
    try {
      assert.deepEqual(cliTlsArgs(), [
        '--tls',
        '--cacert',
        files.ca,
        '--cert',
        files.cert,
        '--key',
        files.key,
      ]);
    } finally {
      useStackTls(undefined);
    }
    assert.deepEqual(cliTlsArgs(), []);
  });
});

describe('TLS: certificate ends', () => {
  const DAY = 86_400_000;
  it('warns within 14 days of the end, and says when one has ended', () => {
    const now = Date.parse('2026-12-06T00:00:00Z');
    assert.equal(expiryWarning('CA', new Date(now + 14 * DAY), now), undefined);
    assert.equal(
      expiryWarning('redis-1', new Date(now + 13.5 * DAY), now),
      'certificate redis-1 ends on 2026-12-19 (in 13 days): replace it (docs/tls.md)',
    );
    assert.match(expiryWarning('ops', new Date(now - 1), now)!, /^certificate ops ended on 2026-12-05/);
  });

  it('makes every certificate once, and status reports the first to end and the warnings', () => {
    const dir = tempDir('tls-certs');
    const certs = ensureCertificates(dir, t);
    const first = certificateEnd(certs.of('redis-1').cert);
    // Made again: the same files (nothing is replaced while it is there).
    ensureCertificates(dir, t);
    assert.equal(certificateEnd(certs.of('redis-1').cert).getTime(), first.getTime());
    const now = Date.now();
    const report = certificateReport(certs.dir, t, now);
    assert.equal(Object.keys(report.ends).length, 1 + Object.keys(components(t)).length);
    assert.notEqual(report.first.name, 'CA');
    assert.ok(Math.abs(Date.parse(report.first.end) - now - LEAF_DAYS * DAY) < 2 * DAY);
    assert.deepEqual(report.warnings, []);
    // 390 days on, every leaf is within 14 days of its end: each is named.
    const later = certificateReport(certs.dir, t, now + 390 * DAY);
    assert.equal(later.warnings.length, Object.keys(components(t)).length);
    assert.match(later.text, /certificate redis-1 ends on/);
    // A process on these files reports its own certificate and the CA.
    useStackTls(certs.of('app-1'));
    try {
      assert.deepEqual(
        ownCertificates().map((c) => c.name),
        ['own', 'ca'],
      );
    } finally {
      useStackTls(undefined);
    }
  });
});

describe("TLS: the operator's own certificates (TLS_DIR)", () => {
  it('takes them as they are, refuses a missing file or a key others may read, and makes HAProxy its file', () => {
    const made = ensureCertificates(tempDir('tls-made'), t);
    const given = tempDir('tls-given');
    cpSync(made.dir, given, { recursive: true });
    rmSync(`${given}/ca.key`);
    rmSync(`${given}/haproxy.pem`);
    const run = tempDir('tls-run');
    const certs = givenCertificates(given, run, t);
    assert.equal(certs.ca, `${given}/ca.crt`);
    assert.equal(certs.of('redis-2').cert, `${given}/redis-2.crt`);
    assert.equal(certs.frontPem, `${run}/tls/haproxy.pem`);
    assert.equal(statSync(certs.frontPem).mode & 0o777, 0o600);
    assert.equal(
      readFileSync(certs.frontPem, 'utf8'),
      readFileSync(`${given}/haproxy.crt`, 'utf8') + readFileSync(`${given}/haproxy.key`, 'utf8'),
    );
    chmodSync(`${given}/app-1.key`, 0o644);
    assert.throws(() => givenCertificates(given, run, t), /app-1\.key is readable by others/);
    chmodSync(`${given}/app-1.key`, 0o600);
    rmSync(`${given}/sentinel-3.crt`);
    assert.throws(() => givenCertificates(given, run, t), /lacks sentinel-3\.crt$/);
  });
});
