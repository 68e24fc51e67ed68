import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { TlsFiles } from '../../ha/tls.ts';
import { type Host, type HostLayout, hostOf } from '../topology.ts';
import { type CertificateReport, OPS_CERT, reportOf } from './certs.ts';
import { HOST_TLS_DIR, hostComponents, hostTlsOf, opsTlsIn } from './hosts-certs.ts';
import {
  addNextCa,
  type CaPair,
  nextIssuer,
  reissueLeaves,
  replaceFile,
  retireOldCa,
  writeFrontPem,
} from './renew.ts';

/**
 * The three steps of a CA rotation (renew.ts) for a deployment on hosts (hosts-certs.ts): the CA
 * and its key stay in the CA folder, off the hosts; each host's `tls/` gets the CA file as it is
 * after each step, and in step 2 its own certificates, made again by the new CA. What a host then
 * runs to take them (the nodes' `CONFIG SET`, the Sentinels' restart, HAProxy's reload) is the
 * caller's: the test bed does it in place (hosts/rotate-bed.ts), on VMs the files are copied first.
 */
export interface HostsCertificates {
  /** The CA folder (`<out>/tls`): ca.crt, ca.key, the operator tools' certificate. */
  caDir: string;
  layout: HostLayout;
  /** A host's `tls/` folder. */
  hostDir(host: Host): string;
}

/** Each host's `ca.crt` made the CA folder's, whole (mode kept). */
export function spreadCa(x: HostsCertificates): void {
  const text = readFileSync(join(x.caDir, 'ca.crt'), 'utf8');
  for (const h of x.layout.hosts) {
    const file = join(x.hostDir(h), 'ca.crt');
    replaceFile(file, text, statSync(file).mode & 0o777);
  }
}

/** Step 1: the new CA beside the old in every trust store (the CA folder's and every host's). */
export function hostsAddNextCa(x: HostsCertificates): CaPair {
  const pair = addNextCa(x.caDir);
  spreadCa(x);
  return pair;
}

/** Step 2: every certificate of every host, and the operator tools', made again by the new CA. */
export function hostsReissue(x: HostsCertificates): string[] {
  const issuer = nextIssuer(x.caDir);
  const names = reissueLeaves(x.caDir, { [OPS_CERT]: [OPS_CERT] }, issuer);
  for (const h of x.layout.hosts) {
    const dir = x.hostDir(h);
    names.push(...reissueLeaves(dir, hostComponents(x.layout, h), issuer).map((n) => `${h.name}/${n}`));
    writeFrontPem(dir);
  }
  return names;
}

/** Step 3: the new CA alone in every trust store, its key the CA folder's. */
export function hostsRetireOldCa(x: HostsCertificates): void {
  retireOldCa(x.caDir);
  spreadCa(x);
}

/** A deployment's certificates in a rendered folder `out` (render --target hosts, the test bed's `<host>/etc`). */
export function hostsCertificatesIn(
  caDir: string,
  layout: HostLayout,
  etcOf: (host: Host) => string,
): HostsCertificates {
  return { caDir, layout, hostDir: (h) => join(etcOf(h), HOST_TLS_DIR) };
}

/** Where a component's files are: its host's `tls/` (the operator tools': the CA folder). */
export function hostsFilesOf(x: HostsCertificates, name: string): TlsFiles {
  if (name === OPS_CERT) return opsTlsIn(x.caDir);
  return hostTlsOf(x.hostDir(hostOf(x.layout, name)), name);
}

/**
 * When every certificate of a deployment on hosts ends (render --target hosts, up --hosts): the
 * CA, the operator tools', each host's by `host/name`; a warning for each within 14 days of its end.
 */
export function hostsCertificateReport(x: HostsCertificates, nowMs: number): CertificateReport {
  const files = [{ name: 'CA', file: join(x.caDir, 'ca.crt') }, ...leafFiles(x)];
  return reportOf(`in ${x.caDir} and the hosts' tls/`, files, nowMs);
}

/** Every certificate file the deployment's components show (the operator tools' and each host's). */
export function leafFiles(x: HostsCertificates): { name: string; file: string }[] {
  return [
    { name: OPS_CERT, file: opsTlsIn(x.caDir).cert },
    ...x.layout.hosts.flatMap((h) =>
      Object.keys(hostComponents(x.layout, h)).map((name) => ({
        name: `${h.name}/${name}`,
        file: hostTlsOf(x.hostDir(h), name).cert,
      })),
    ),
  ];
}

/**
 * What does not fit the layout in the hosts' `tls/` folders: a certificate of a component the
 * layout does not place there (rendered with other counts), or one it places there that is missing.
 */
export function layoutMismatch(x: HostsCertificates): string[] {
  const out: string[] = [];
  for (const h of x.layout.hosts) {
    const want = new Set([...Object.keys(hostComponents(x.layout, h)), 'ca']);
    let have: string[] = [];
    try {
      have = readdirSync(x.hostDir(h))
        .filter((f) => f.endsWith('.crt'))
        .map((f) => f.slice(0, -4));
    } catch {
      out.push(`${x.hostDir(h)} is missing`);
      continue;
    }
    for (const n of have)
      if (!want.has(n)) out.push(`${h.name} has ${n}.crt, which the layout puts elsewhere`);
    for (const n of want) if (!have.includes(n)) out.push(`${h.name} has no ${n}.crt`);
  }
  return out;
}

/** The components whose certificate `ca` (PEM) did not sign. */
export function notSignedBy(x: HostsCertificates, ca: string): string[] {
  const key = new X509Certificate(ca).publicKey;
  return leafFiles(x)
    .filter((l) => !new X509Certificate(readFileSync(l.file)).verify(key))
    .map((l) => l.name);
}

/** The hosts whose `ca.crt` is not the CA folder's (a round stopped while it spread the file). */
export function caOutOfStep(x: HostsCertificates): string[] {
  const ca = readFileSync(join(x.caDir, 'ca.crt'), 'utf8');
  return x.layout.hosts
    .filter((h) => readFileSync(join(x.hostDir(h), 'ca.crt'), 'utf8') !== ca)
    .map((h) => h.name);
}
