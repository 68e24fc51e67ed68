// `rotate certificates --out DIR --round N`: the three rounds of a CA rotation in the files of
// `render --target hosts` (real openssl), each host's trust store and certificates as the round
// leaves them, the rounds refused out of order, a render after it keeping the new files; and what a
// host runs to take them (HAProxy's reload in its unit).
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { CliError } from '../../src/ops/commands/context.ts';
import { render } from '../../src/ops/commands/render.ts';
import { hostsTlsLine } from '../../src/ops/commands/render-hosts.ts';
import { rotateRendered } from '../../src/ops/commands/rotate-hosts.ts';
import { hostComponents } from '../../src/ops/tls/hosts-certs.ts';
import { pemCertificates } from '../../src/ops/tls/renew.ts';
import { defineHosts, type TopologyCounts } from '../../src/ops/topology.ts';
import { quietly } from '../helpers/cli.ts';

const out = mkdtempSync(join(tmpdir(), 'hosts-renew-'));
after(() => rmSync(out, { recursive: true, force: true }));
const counts: TopologyCounts = { redisNodes: 3, sentinels: 3, apps: 3, quorum: 2 };
const layout = defineHosts({ redisNodes: 3, sentinels: 3 });
const read = (...p: string[]) => readFileSync(join(out, ...p), 'utf8');
await quietly(() => render(['--target', 'hosts', '--out', out]));

/** Every certificate of every host (and the operator's), by path: its fingerprint. */
function leaves(): Map<string, X509Certificate> {
  const m = new Map<string, X509Certificate>([['tls/ops', new X509Certificate(read('tls', 'ops.crt'))]]);
  for (const h of layout.hosts)
    for (const name of Object.keys(hostComponents(layout, h)))
      m.set(`${h.name}/${name}`, new X509Certificate(read(h.name, 'tls', `${name}.crt`)));
  return m;
}

describe('rotate certificates --out DIR --round N (a rendered folder for VMs)', () => {
  it('adds the new CA, makes every certificate again by it, then retires the old, in order only', async () => {
    const oldCa = read('tls', 'ca.crt');
    const before = leaves();
    assert.throws(() => rotateRendered(out, 2, counts), CliError, 'round 2 before round 1');

    const said = rotateRendered(out, 1, counts);
    assert.match(said, /round 1 of 3 written/);
    assert.match(
      said,
      /redis-cli --tls .* -h 198\.18\.0\.12 -p \d+ --user operator CONFIG SET tls-ca-cert-file \/etc\/ha-stack\/tls\/ca\.crt tls-cert-file \/etc\/ha-stack\/tls\/redis-2\.crt/,
    );
    assert.match(said, /systemctl restart ha-stack-sentinel-3/);
    assert.match(said, /systemctl reload ha-stack-haproxy/);
    const both = read('tls', 'ca.crt');
    assert.deepEqual(pemCertificates(both).slice(0, 1), pemCertificates(oldCa));
    assert.equal(pemCertificates(both).length, 2);
    for (const h of layout.hosts) assert.equal(read(h.name, 'tls', 'ca.crt'), both, h.name);
    // A round run again (a copy that failed half way) keeps the new CA and gives every host the file again.
    writeFileSync(join(out, 'host-2', 'tls', 'ca.crt'), oldCa, { mode: 0o600 });
    rotateRendered(out, 1, counts);
    assert.equal(read('tls', 'ca.crt'), both);
    for (const h of layout.hosts) assert.equal(read(h.name, 'tls', 'ca.crt'), both, `${h.name} again`);
    assert.throws(() => rotateRendered(out, 3, counts), /run --round 2 first/, 'round 3 before round 2');
    assert.equal(read('tls', 'ca.crt'), both, 'a refused round changes nothing');
    const next = new X509Certificate(pemCertificates(both)[1]!);

    // From another folder: a relative --out works as an absolute one.
    const cwd = process.cwd();
    process.chdir(join(out, '..'));
    try {
      rotateRendered(relative(process.cwd(), out), 2, counts);
    } finally {
      process.chdir(cwd);
    }
    for (const [path, c] of leaves()) {
      assert.notEqual(c.fingerprint256, before.get(path)!.fingerprint256, `${path} is new`);
      assert.ok(c.verify(next.publicKey), `${path} signed by the new CA`);
      assert.deepEqual(c.subjectAltName, before.get(path)!.subjectAltName, `${path} keeps its names`);
      const [dir, name] = path.split('/') as [string, string];
      const key = join(out, dir, dir === 'tls' ? '' : 'tls', `${name}.key`);
      assert.ok(c.checkPrivateKey(createPrivateKey(readFileSync(key))), `${path} and its key`);
      assert.equal(statSync(key).mode & 0o777, 0o600, key);
    }
    for (const h of layout.hosts)
      assert.equal(
        read(h.name, 'tls', 'haproxy.pem'),
        read(h.name, 'tls', 'haproxy.crt') + read(h.name, 'tls', 'haproxy.key'),
      );

    assert.match(
      rotateRendered(out, 3, counts),
      /round 3 of 3 written[\s\S]*done: every node and Sentinel now refuses/,
    );
    const ca = read('tls', 'ca.crt');
    assert.deepEqual(
      pemCertificates(ca),
      [next.toString()].map((p) => (p.endsWith('\n') ? p : `${p}\n`)),
    );
    for (const h of layout.hosts) assert.equal(read(h.name, 'tls', 'ca.crt'), ca, h.name);
    assert.ok(
      new X509Certificate(ca).checkPrivateKey(createPrivateKey(read('tls', 'ca.key'))),
      'the CA key is the new one',
    );
    assert.equal(existsSync(join(out, 'tls', 'next')), false);
    assert.throws(() => rotateRendered(out, 3, counts), CliError, 'no rotation under way');
    // A round 3 that stopped after retiring the old CA, before every host had the file: finished.
    writeFileSync(join(out, 'host-3', 'tls', 'ca.crt'), both, { mode: 0o600 });
    assert.match(rotateRendered(out, 3, counts), /round 3 of 3 finished/);
    assert.equal(read('host-3', 'tls', 'ca.crt'), ca);

    // A render after the rotation keeps what it made.
    const rotated = leaves();
    await quietly(() => render(['--target', 'hosts', '--out', out]));
    for (const [path, c] of leaves()) assert.equal(c.fingerprint256, rotated.get(path)!.fingerprint256, path);
    assert.equal(read('host-1', 'tls', 'ca.crt'), ca);
  });

  it('refuses a folder rendered with other counts, and changes nothing in it', () => {
    const more: TopologyCounts = { ...counts, redisNodes: 5, sentinels: 5 };
    const ca = read('tls', 'ca.crt');
    assert.throws(() => rotateRendered(out, 1, more), /not rendered with these counts.*redis-4/);
    assert.equal(read('tls', 'ca.crt'), ca);
  });

  it('reloads HAProxy in place: an admin socket for its reloads and ExecReload in its unit', () => {
    const unit = read('host-1', 'systemd', 'ha-stack-haproxy.service');
    assert.match(unit, /^ExecReload=\/bin\/kill -USR2 \$MAINPID$/m);
    assert.match(
      read('host-1', 'haproxy', 'haproxy.cfg'),
      /stats socket \/run\/ha-stack\/haproxy\.sock mode 600 level admin/,
    );
  });

  it('says when the certificates end: the first of all 17, and a warning within 14 days of an end', () => {
    const first = [...leaves()].reduce((a, b) =>
      Date.parse(b[1].validTo) < Date.parse(a[1].validTo) ? b : a,
    );
    const end = Date.parse(first[1].validTo);
    const now = hostsTlsLine(out, counts, end - 30 * 86_400_000);
    assert.match(now, /^tls: on, 17 certificates in .* the first to end: \S+ on \d{4}-\d\d-\d\d\n$/);
    const soon = hostsTlsLine(out, counts, end - 10 * 86_400_000);
    assert.match(soon, new RegExp(`${first[0].replace('tls/', '')}.*(ends|end)`));
    assert.ok(soon.split('\n').length > now.split('\n').length, soon);
  });
});
