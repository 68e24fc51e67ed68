// render --target hosts with TLS (the default): each host's certificates from one CA (real openssl),
// only its own keys in its folder and never the CA's key, Redis and Sentinel on TLS only, HAProxy's
// HTTPS front and HTTPS to the apps of every host, the apps, the entrypoint and the guard on TLS;
// --no-tls leaves it all plain. HAProxy's rendered configuration checked by haproxy itself.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { guardTls } from '../../src/ops/commands/guard.ts';
import { render } from '../../src/ops/commands/render.ts';
import { renderHostFiles } from '../../src/ops/render/hosts.ts';
import { newHostSecrets } from '../../src/ops/render/hosts-secrets.ts';
import { parseEnvFile } from '../../src/ops/render/hosts-units.ts';
import { ensureHostCertificates } from '../../src/ops/tls/hosts-certs.ts';
import { defineHosts, hostTopology } from '../../src/ops/topology.ts';
import { quietly } from '../helpers/cli.ts';

const out = mkdtempSync(join(tmpdir(), 'hosts-tls-'));
const plain = mkdtempSync(join(tmpdir(), 'hosts-plain-'));
await quietly(() => render(['--target', 'hosts', '--out', out]));
await quietly(() => render(['--target', 'hosts', '--out', plain, '--no-tls']));
const read = (rel: string) => readFileSync(join(out, rel), 'utf8');
const cert = (rel: string) => new X509Certificate(readFileSync(join(out, rel)));
const ca = cert('tls/ca.crt');
after(() => {
  rmSync(out, { recursive: true, force: true });
  rmSync(plain, { recursive: true, force: true });
});

describe('render --target hosts with TLS', () => {
  it("gives each host its own keys and the CA's certificate, never the CA's key, all private", () => {
    assert.equal(statSync(join(out, 'tls')).mode & 0o777, 0o700);
    assert.equal(statSync(join(out, 'tls/ca.key')).mode & 0o777, 0o600);
    for (const n of [1, 2, 3]) {
      const dir = join(out, `host-${n}/tls`);
      assert.equal(statSync(dir).mode & 0o777, 0o700);
      const names = readdirSync(dir).sort();
      assert.deepEqual(
        names,
        [
          'ca.crt',
          ...['app', 'haproxy', 'ops', 'redis', 'sentinel'].flatMap((c) => {
            const name = ['haproxy', 'ops'].includes(c) ? c : `${c}-${n}`;
            return [`${name}.crt`, `${name}.key`, ...(c === 'haproxy' ? ['haproxy.pem'] : [])];
          }),
        ].sort(),
      );
      for (const f of names.filter((x) => x.endsWith('.key') || x.endsWith('.pem')))
        assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, `host-${n}/tls/${f}`);
      assert.equal(read(`host-${n}/tls/ca.crt`), read('tls/ca.crt'));
    }
  });

  it("signs every certificate by the CA, naming the host's address and the component", () => {
    const app2 = cert('host-2/tls/app-2.crt');
    assert.ok(app2.verify(ca.publicKey) && app2.checkIssued(ca));
    assert.equal(app2.checkIP('198.18.0.12'), '198.18.0.12');
    assert.equal(app2.checkHost('app-2'), 'app-2');
    assert.equal(app2.checkIP('198.18.0.11'), undefined);
    const redis3 = cert('host-3/tls/redis-3.crt');
    assert.ok(redis3.verify(ca.publicKey));
    assert.equal(redis3.checkIP('198.18.0.13'), '198.18.0.13');
    // HAProxy is reached at the floating address and at its host's own.
    const front = cert('host-1/tls/haproxy.crt');
    assert.equal(front.checkIP('198.18.0.100'), '198.18.0.100');
    assert.equal(front.checkIP('198.18.0.11'), '198.18.0.11');
  });

  it('keeps the certificates of an earlier render', async () => {
    const before = read('host-1/tls/redis-1.crt');
    await quietly(() => render(['--target', 'hosts', '--out', out]));
    assert.equal(read('host-1/tls/redis-1.crt'), before);
  });

  it('puts Redis and the Sentinels on TLS only, client certificates required', () => {
    const r = read('host-2/redis/redis-2.conf');
    for (const line of [
      'port 0',
      'tls-port 6381',
      'tls-cert-file /etc/ha-stack/tls/redis-2.crt',
      'tls-key-file /etc/ha-stack/tls/redis-2.key',
      'tls-ca-cert-file /etc/ha-stack/tls/ca.crt',
      'tls-auth-clients yes',
      'tls-replication yes',
    ])
      assert.ok(r.split('\n').includes(line), line);
    const s = read('host-3/sentinel/sentinel-3.conf');
    assert.match(s, /^tls-port 26382$/m);
    assert.match(s, /^tls-cert-file \/etc\/ha-stack\/tls\/sentinel-3\.crt$/m);
    assert.match(s, /^port 0$/m);
  });

  it('serves the site on HTTPS with a redirect and HSTS, and reaches every host’s app over verified HTTPS', () => {
    const cfg = read('host-1/haproxy/haproxy.cfg');
    assert.match(cfg, /^ {2}bind \*:8443 ssl crt \/etc\/ha-stack\/tls\/haproxy\.pem$/m);
    assert.match(cfg, /http-request redirect location https:.*code 301 unless \{ ssl_fc \}/);
    assert.match(cfg, /Strict-Transport-Security "max-age=63072000"/);
    for (const [n, a] of [
      [1, '198.18.0.11'],
      [2, '198.18.0.12'],
      [3, '198.18.0.13'],
    ] as const) {
      const line = `  server app-${n} ${a}:300${n} ssl verify required ca-file /etc/ha-stack/tls/ca.crt check-ssl verifyhost app-${n}`;
      // The site's backend and the app's metrics behind the operator front.
      assert.equal(cfg.split('\n').filter((l) => l === line).length, 2, line);
    }
    assert.match(
      cfg,
      /check-ssl ssl verify required ca-file \/etc\/ha-stack\/tls\/ca\.crt crt \/etc\/ha-stack\/tls\/haproxy\.pem/,
    );
    assert.match(cfg, /server redis-2 198\.18\.0\.12:6381 verifyhost redis-2/);
  });

  it('gives the app HTTPS, TLS to Redis and secure cookies; the entrypoint and the guard their certificates', () => {
    const app = parseEnvFile(read('host-2/app/app-2.env'));
    assert.equal(app.APP_TLS_CERT_FILE, '/etc/ha-stack/tls/app-2.crt');
    assert.equal(app.APP_TLS_KEY_FILE, '/etc/ha-stack/tls/app-2.key');
    assert.equal(app.REDIS_TLS_CA_FILE, '/etc/ha-stack/tls/ca.crt');
    assert.equal(app.REDIS_TLS_CERT_FILE, '/etc/ha-stack/tls/app-2.crt');
    assert.equal(app.COOKIE_SECURE, 'true');
    assert.equal(app.HAPROXY_STATS_URL, 'https://198.18.0.12:8404/stats');
    const redis = parseEnvFile(read('host-2/redis/redis-2.env'));
    assert.equal(redis.REDIS_TLS_CERT_FILE, '/etc/ha-stack/tls/redis-2.crt');
    // The entrypoint gives the node its TLS settings again on this port: its own, as in redis.conf.
    assert.match(read('host-2/redis/redis-2.conf'), new RegExp(`^tls-port ${redis.REDIS_PORT}$`, 'm'));
    const guard = parseEnvFile(read('host-2/guard.env'));
    assert.equal(guard.REDIS_TLS_CERT_FILE, '/etc/ha-stack/tls/ops.crt');
    assert.equal(guard.REDIS_TLS_KEY_FILE, '/etc/ha-stack/tls/ops.key');
    // The entrypoint asks the Sentinels with redis-cli over TLS when given the files.
    assert.match(read('host-2/bin/redis-entrypoint.sh'), /"\$CLI" \$\(cli_tls\)/);
    assert.match(read('host-2/bin/passwords.sh'), /--tls --cacert %s --cert %s --key %s/);
  });

  it("the guard takes its environment file's TLS files: all three or none", () => {
    const env = parseEnvFile(read('host-1/guard.env'));
    assert.deepEqual(guardTls(env), {
      ca: '/etc/ha-stack/tls/ca.crt',
      cert: '/etc/ha-stack/tls/ops.crt',
      key: '/etc/ha-stack/tls/ops.key',
    });
    assert.equal(guardTls({}), undefined);
    assert.throws(() => guardTls({ REDIS_TLS_CA_FILE: env.REDIS_TLS_CA_FILE }), /set all three/);
  });

  it('--no-tls renders plain text and no certificate', () => {
    assert.equal(existsSync(join(plain, 'tls')), false);
    assert.equal(existsSync(join(plain, 'host-1/tls')), false);
    const r = readFileSync(join(plain, 'host-1/redis/redis-1.conf'), 'utf8');
    assert.match(r, /^port 6380$/m);
    assert.doesNotMatch(r, /tls-/);
    const cfg = readFileSync(join(plain, 'host-1/haproxy/haproxy.cfg'), 'utf8');
    assert.doesNotMatch(cfg, /ssl|8443/);
    assert.equal(
      parseEnvFile(readFileSync(join(plain, 'host-1/app/app-1.env'), 'utf8')).APP_TLS_CERT_FILE,
      undefined,
    );
  });

  it("HAProxy's configuration with TLS is valid for haproxy itself (its files at their place)", () => {
    const root = mkdtempSync(join(tmpdir(), 'hosts-tls-cfg-'));
    try {
      const layout = defineHosts();
      const tls = ensureHostCertificates(join(root, 'tls'), layout, (h) => join(root, h.name, 'tls'));
      const files = renderHostFiles(layout, hostTopology(layout), {
        secrets: newHostSecrets(),
        tls,
        paths: (h) => ({
          etc: join(root, h.name),
          data: join(root, h.name, 'data'),
          run: join(root, h.name, 'run'),
        }),
      });
      for (const [rel, text] of Object.entries(files)) {
        mkdirSync(dirname(join(root, rel)), { recursive: true });
        writeFileSync(join(root, rel), text, { mode: 0o600 });
      }
      execFileSync('haproxy', ['-c', '-q', '-f', join(root, 'host-2/haproxy/haproxy.cfg')], {
        stdio: 'pipe',
      });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
