import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { certificateEnd, expiryWarning, type TlsFiles } from '../../ha/tls.ts';
import type { Topology } from '../topology.ts';

/**
 * The stack's own certificates (docs/tls.md): a private CA made at the first start, and one key and
 * certificate per Redis node, Sentinel, app, the front (HAProxy) and the operator's tools, each
 * naming its addresses. Made with openssl (EC P-256), kept in the run directory's `tls/` (0700, keys
 * 0600), reused by every later start.
 */
export const TLS_DIR = 'tls';
/** The CA lives ten years; what it signs 397 days (the longest a browser accepts). */
export const CA_DAYS = 3650;
export const LEAF_DAYS = 397;
/** The operator's tools (the CLI, the supervisor's probes, chaos, soak, bench) show this one. */
export const OPS_CERT = 'ops';
/** HAProxy's: the site, the operator front and the Redis front, and its client certificate to the nodes. */
export const FRONT_CERT = 'haproxy';

export interface Certificates {
  dir: string;
  ca: string;
  /** The files of one component's certificate, by name (redis-1, sentinel-2, app-1, haproxy, ops). */
  of(name: string): TlsFiles;
  /** HAProxy's `crt`: certificate and key in one file. */
  frontPem: string;
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim() ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr || String(err)}`);
  }
}

/** The subject alternative names of a component: its addresses and names. */
export function altNames(names: string[]): string {
  const unique = [...new Set(names)];
  return unique.map((n) => (isIP(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
}

/** Every component that gets a certificate, with the names it is reached by. */
export function components(t: Topology): Record<string, string[]> {
  const local = ['localhost', '127.0.0.1'];
  const out: Record<string, string[]> = {};
  for (const n of [...t.redis, ...t.sentinels, ...t.apps]) out[n.name] = [n.name, n.host];
  out[FRONT_CERT] = [FRONT_CERT, t.haproxy.host, ...local];
  out[OPS_CERT] = [OPS_CERT];
  return out;
}

const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export function makeCa(dir: string): void {
  openssl(
    ['req', '-x509', ...newKey, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', String(CA_DAYS)]
      .concat(['-subj', '/CN=redis-ha-stack CA', '-addext', 'basicConstraints=critical,CA:TRUE'])
      .concat(['-addext', 'keyUsage=critical,keyCertSign,cRLSign']),
    dir,
  );
}

/** The CA that signs a leaf: its certificate and key files (paths from `dir`, or absolute). */
export interface Issuer {
  cert: string;
  key: string;
}

/** A key and certificate for `name` in `dir`, signed by `issuer` (the stack's CA by default). */
export function makeLeaf(
  dir: string,
  name: string,
  names: string[],
  issuer: Issuer = { cert: 'ca.crt', key: 'ca.key' },
): void {
  const ext = join(dir, `${name}.ext`);
  writeFileSync(
    ext,
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      // Every node is both: a server to its clients, a client of its master and of the Sentinels.
      'extendedKeyUsage=serverAuth,clientAuth',
      `subjectAltName=${altNames(names)}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  try {
    openssl(
      ['req', '-new', ...newKey, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`],
      dir,
    );
    openssl(
      ['x509', '-req', '-in', `${name}.csr`, '-CA', issuer.cert, '-CAkey', issuer.key, '-out', `${name}.crt`]
        .concat(['-days', String(LEAF_DAYS), '-set_serial', `0x${randomBytes(16).toString('hex')}`])
        .concat(['-extfile', ext]),
      dir,
    );
  } finally {
    rmSync(ext, { force: true });
    rmSync(join(dir, `${name}.csr`), { force: true });
  }
}

/**
 * The stack's certificates in `runDir/tls`: what is missing is made (the CA at the first start, a
 * component's certificate when the topology gains one); what is there is kept.
 */
export function ensureCertificates(runDir: string, t: Topology): Certificates {
  const dir = join(runDir, TLS_DIR);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  if (!existsSync(join(dir, 'ca.crt')) || !existsSync(join(dir, 'ca.key'))) makeCa(dir);
  for (const [name, names] of Object.entries(components(t))) {
    if (!existsSync(join(dir, `${name}.crt`)) || !existsSync(join(dir, `${name}.key`)))
      makeLeaf(dir, name, names);
  }
  const frontPem = join(dir, `${FRONT_CERT}.pem`);
  writeFileSync(
    frontPem,
    readFileSync(join(dir, `${FRONT_CERT}.crt`), 'utf8') +
      readFileSync(join(dir, `${FRONT_CERT}.key`), 'utf8'),
    { mode: 0o600 },
  );
  for (const f of ['ca.key', ...Object.keys(components(t)).map((n) => `${n}.key`)])
    chmodSync(join(dir, f), 0o600);
  return certificatesIn(dir);
}

/**
 * The operator's own certificates (TLS_DIR): the same file names as ensureCertificates makes
 * (ca.crt; <component>.crt and .key for each component), none made here. Every file must be there,
 * each key readable by its owner alone; HAProxy's combined file is written into the run directory.
 */
export function givenCertificates(given: string, runDir: string, t: Topology): Certificates {
  const certs = certificatesIn(given);
  const need = [certs.ca, ...Object.keys(components(t)).flatMap((n) => [certs.of(n).cert, certs.of(n).key])];
  const missing = need.filter((f) => !existsSync(f));
  if (missing.length)
    throw new Error(`TLS_DIR ${given} lacks ${missing.map((f) => f.slice(given.length + 1)).join(', ')}`);
  for (const n of Object.keys(components(t))) {
    const key = certs.of(n).key;
    if ((statSync(key).mode & 0o077) !== 0) throw new Error(`${key} is readable by others: chmod 600 it`);
  }
  const dir = join(runDir, TLS_DIR);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const frontPem = join(dir, `${FRONT_CERT}.pem`);
  const front = certs.of(FRONT_CERT);
  writeFileSync(frontPem, readFileSync(front.cert, 'utf8') + readFileSync(front.key, 'utf8'), {
    mode: 0o600,
  });
  chmodSync(frontPem, 0o600);
  return { ...certs, frontPem };
}

/** The certificates of a folder made by ensureCertificates (read by the commands of a running stack). */
export function certificatesIn(dir: string): Certificates {
  return {
    dir,
    ca: join(dir, 'ca.crt'),
    of: (name) => ({
      ca: join(dir, 'ca.crt'),
      cert: join(dir, `${name}.crt`),
      key: join(dir, `${name}.key`),
    }),
    frontPem: join(dir, `${FRONT_CERT}.pem`),
  };
}

/**
 * An app's TLS settings: its certificate to the nodes and Sentinels, and cookies only for HTTPS
 * (`Secure`, `__Host-` names), since the site is served on HTTPS alone.
 */
export function tlsEnvironment(files: TlsFiles): Record<string, string> {
  return {
    REDIS_TLS_CA_FILE: files.ca,
    REDIS_TLS_CERT_FILE: files.cert,
    REDIS_TLS_KEY_FILE: files.key,
    COOKIE_SECURE: 'true',
  };
}

/** What `status` says of the certificates: when each ends, the first to end, and any warning. */
export interface CertificateReport {
  ends: Record<string, string>;
  first: { name: string; end: string };
  warnings: string[];
  text: string;
}

export function certificateReport(dir: string, t: Topology, nowMs: number): CertificateReport {
  const certs = certificatesIn(dir);
  return reportOf(
    `in ${dir}`,
    [
      { name: 'CA', file: certs.ca },
      ...Object.keys(components(t)).map((name) => ({ name, file: certs.of(name).cert })),
    ],
    nowMs,
  );
}

/** The report of certificates by name and file (`where`: the folder(s) they are in, for the text). */
export function reportOf(
  where: string,
  files: { name: string; file: string }[],
  nowMs: number,
): CertificateReport {
  const all = files.map((c) => ({ name: c.name, end: certificateEnd(c.file) }));
  const first = all.reduce((a, b) => (b.end < a.end ? b : a));
  const warnings = all.flatMap((c) => expiryWarning(c.name, c.end, nowMs) ?? []);
  const day = (d: Date) => d.toISOString().slice(0, 10);
  const text = `on, ${all.length} certificates ${where}; the first to end: ${first.name} on ${day(first.end)}${
    warnings.length ? `\n  ${warnings.join('\n  ')}` : ''
  }`;
  return {
    ends: Object.fromEntries(all.map((c) => [c.name, c.end.toISOString()])),
    first: { name: first.name, end: first.end.toISOString() },
    warnings,
    text,
  };
}
