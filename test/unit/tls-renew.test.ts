// The files of a rotation of the certificates (src/ops/tls/renew.ts) made by the real openssl, and a
// process's TLS options following them (src/ha/tls.ts): each step leaves a set that verifies.
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { liveStackTls, stackTls, useStackTls } from '../../src/ha/tls.ts';
import { components, ensureCertificates } from '../../src/ops/tls/certs.ts';
import {
  addNextCa,
  dropOldCaProbe,
  NEXT_DIR,
  oldCaProbe,
  pemCertificates,
  reissue,
  retireOldCa,
  rotationUnderWay,
} from '../../src/ops/tls/renew.ts';
import { defineTopology } from '../../src/ops/topology.ts';
import { tempDirs } from '../helpers/stack.ts';

const tempDir = tempDirs();
const t = defineTopology();
const cert = (file: string) => new X509Certificate(readFileSync(file));
const signedBy = (file: string, ca: X509Certificate) => cert(file).verify(ca.publicKey);

after(() => useStackTls(undefined));

describe('TLS: the files of a rotation', () => {
  it('trusts both CAs, then shows the new one, then retires the old; a resumed rotation keeps its new CA', () => {
    const certs = ensureCertificates(tempDir('renew'), t);
    const dir = certs.dir;
    const oldCa = cert(certs.ca);
    const before = cert(certs.of('redis-1').cert).fingerprint256;

    const { old, next } = addNextCa(dir);
    assert.equal(old.fingerprint256, oldCa.fingerprint256);
    assert.deepEqual(
      pemCertificates(readFileSync(certs.ca, 'utf8')).map((p) => new X509Certificate(p).fingerprint256),
      [oldCa.fingerprint256, next.fingerprint256],
      'ca.crt: the old CA first (it still signs what a start makes), then the new',
    );
    assert.ok(rotationUnderWay(dir));
    // Run again (a rotation stopped after step 1): the same new CA, not a third one.
    assert.equal(addNextCa(dir).next.fingerprint256, next.fingerprint256);
    assert.equal(pemCertificates(readFileSync(certs.ca, 'utf8')).length, 2);
    assert.ok(signedBy(certs.of('redis-1').cert, oldCa), 'nothing reissued yet');

    const names = reissue(dir, t);
    assert.deepEqual(names, Object.keys(components(t)));
    for (const n of names) {
      assert.ok(signedBy(certs.of(n).cert, next), `${n} signed by the new CA`);
      assert.ok(cert(certs.of(n).cert).checkPrivateKey(createPrivateKey(readFileSync(certs.of(n).key))), n);
      assert.equal(statSync(certs.of(n).key).mode & 0o777, 0o600, `${n}.key`);
    }
    assert.notEqual(cert(certs.of('redis-1').cert).fingerprint256, before);
    const pem = readFileSync(certs.frontPem, 'utf8');
    assert.ok(pem.startsWith(readFileSync(certs.of('haproxy').cert, 'utf8')), "HAProxy's file follows");
    assert.equal(statSync(certs.frontPem).mode & 0o777, 0o600);

    const probe = oldCaProbe(dir);
    assert.ok(signedBy(probe.cert, oldCa), 'the probe is a client of the old CA');
    const retired = retireOldCa(dir);
    assert.equal(retired.fingerprint256, next.fingerprint256);
    assert.equal(pemCertificates(readFileSync(certs.ca, 'utf8')).length, 1);
    assert.equal(cert(certs.ca).fingerprint256, next.fingerprint256);
    assert.equal(statSync(join(dir, 'ca.key')).mode & 0o777, 0o600);
    assert.equal(existsSync(join(dir, NEXT_DIR)), false);
    assert.equal(rotationUnderWay(dir), false);
    dropOldCaProbe(dir);
    assert.equal(existsSync(probe.cert), false);
    // A component the topology gains after the rotation is signed by the new CA.
    const more = defineTopology({ counts: { apps: t.apps.length + 1 } });
    ensureCertificates(join(dir, '..'), more);
    assert.ok(signedBy(certs.of(more.apps.at(-1)!.name).cert, next));
  });

  it("a process's options follow the files; a certificate read without its key keeps the last pair", () => {
    const certs = ensureCertificates(tempDir('follow'), t);
    const ops = certs.of('ops');
    useStackTls(ops);
    const live = liveStackTls()!;
    const first = String(live.cert);
    assert.equal(first, readFileSync(ops.cert, 'utf8'));
    addNextCa(certs.dir);
    const oldKey = readFileSync(ops.key);
    reissue(certs.dir, t);
    const fresh = { crt: readFileSync(ops.cert, 'utf8'), key: readFileSync(ops.key, 'utf8') };
    // The new certificate beside the old key (as read between a rotation's two renames): a
    // connection made of them would fail, so the last pair that matched stays in use.
    writeFileSync(ops.key, oldKey);
    assert.equal(String(stackTls()!.cert), first, 'the last pair that matched');
    writeFileSync(ops.key, fresh.key);
    assert.equal(String(live.cert), fresh.crt, 'the pair once it matches, read through the live options');
    assert.equal(pemCertificates(String(live.ca)).length, 2, 'the CA file as it is now');
    assert.notEqual(first, fresh.crt);
  });
});
