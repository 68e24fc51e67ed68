import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TlsFiles } from '../../ha/tls.ts';
import type { Host, HostLayout } from '../topology.ts';
import { FRONT_CERT, makeCa, makeLeaf, OPS_CERT } from './certs.ts';

/**
 * The certificates of a deployment on hosts (docs/hosts.md): one CA for every host, kept beside the
 * passwords (`<out>/tls/`, the CA key never in a host's folder), and for each host a key and
 * certificate per component it runs, naming the host's name and address, made in that host's own
 * folder (`<host>/tls/`) with the CA's certificate. Made by openssl as the local stack's
 * (tls/certs.ts); what is there is kept, so a render again changes no certificate.
 */
export const HOST_TLS_DIR = 'tls';

/** The components of a host that get a certificate, with the names each is reached by. */
export function hostComponents(layout: HostLayout, host: Host): Record<string, string[]> {
  const own = [host.name, host.address];
  const out: Record<string, string[]> = {};
  for (const n of [...host.redis, ...host.sentinels, ...host.apps]) out[n] = [n, ...own];
  // HAProxy: reached at the floating address (clients) and at the host's own (the far side, the
  // apps reading its stats).
  out[FRONT_CERT] = [FRONT_CERT, ...own, layout.floating, 'localhost', '127.0.0.1'];
  // The host's guard (ha-stack guard) and the operator's tools run on the host.
  out[OPS_CERT] = [OPS_CERT, host.name];
  return out;
}

/** The files of a host's TLS folder, by name: ca.crt, <component>.crt and .key, haproxy.pem. */
export type HostTlsFiles = Record<string, string>;

/**
 * Makes what is missing: the CA in `caDir` (with an `ops` certificate for the operator's tools
 * off the hosts), each host's certificates in `hostDir(host)`. Returns each host's files as text.
 */
export function ensureHostCertificates(
  caFolder: string,
  layout: HostLayout,
  hostFolder: (host: Host) => string,
): Record<string, HostTlsFiles> {
  // openssl runs in the folder of the certificate it makes: every other path must be absolute.
  const caDir = resolve(caFolder);
  const hostDir = (h: Host) => resolve(hostFolder(h));
  for (const d of [caDir, ...layout.hosts.map(hostDir)]) {
    mkdirSync(d, { recursive: true, mode: 0o700 });
    chmodSync(d, 0o700);
  }
  if (!existsSync(join(caDir, 'ca.crt')) || !existsSync(join(caDir, 'ca.key'))) makeCa(caDir);
  const issuer = { cert: join(caDir, 'ca.crt'), key: join(caDir, 'ca.key') };
  const have = (dir: string, name: string) =>
    existsSync(join(dir, `${name}.crt`)) && existsSync(join(dir, `${name}.key`));
  if (!have(caDir, OPS_CERT)) makeLeaf(caDir, OPS_CERT, [OPS_CERT], issuer);
  for (const f of ['ca.key', `${OPS_CERT}.key`]) chmodSync(join(caDir, f), 0o600);
  const ca = readFileSync(issuer.cert, 'utf8');
  const out: Record<string, HostTlsFiles> = {};
  for (const host of layout.hosts) {
    const dir = hostDir(host);
    const files: HostTlsFiles = { 'ca.crt': ca };
    for (const [name, names] of Object.entries(hostComponents(layout, host))) {
      if (!have(dir, name)) makeLeaf(dir, name, names, issuer);
      files[`${name}.crt`] = readFileSync(join(dir, `${name}.crt`), 'utf8');
      files[`${name}.key`] = readFileSync(join(dir, `${name}.key`), 'utf8');
    }
    files[`${FRONT_CERT}.pem`] = files[`${FRONT_CERT}.crt`]! + files[`${FRONT_CERT}.key`]!;
    out[host.name] = files;
  }
  return out;
}

/** A component's files in a host's TLS folder `dir` (the paths the host sees). */
export function hostTlsOf(dir: string, name: string): TlsFiles {
  return { ca: join(dir, 'ca.crt'), cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
}

/** The operator tools' files in the CA folder (off the hosts: the bed's clients, the operator's machine). */
export function opsTlsIn(caDir: string): TlsFiles {
  return {
    ca: join(caDir, 'ca.crt'),
    cert: join(caDir, `${OPS_CERT}.crt`),
    key: join(caDir, `${OPS_CERT}.key`),
  };
}
