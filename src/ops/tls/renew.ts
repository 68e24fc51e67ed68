import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TlsFiles } from '../../ha/tls.ts';
import type { Topology } from '../topology.ts';
import { components, FRONT_CERT, type Issuer, makeCa, makeLeaf } from './certs.ts';

/**
 * The files of a CA rotation in the run directory's `tls/` (docs/tls.md, `ha-stack rotate
 * certificates`). Three steps, each leaving on disk a set every process can start from:
 *
 * 1. `addNextCa`: a new CA in `tls/next/`, and `ca.crt` trusting the old and the new one;
 * 2. `reissue`: every component's key and certificate made again, signed by the new CA;
 * 3. `retireOldCa`: `ca.crt` and `ca.key` become the new CA's, `next/` goes.
 *
 * Until step 3, `ca.crt`'s first certificate and `ca.key` stay the old CA's, so a certificate made
 * by a start in between (ensureCertificates) is still trusted. A rotation stopped half way is
 * resumed by running it again: step 1 keeps the new CA it finds in `next/`.
 */
export const NEXT_DIR = 'next';
const PROBE_DIR = 'old-ca-probe';

const PEM = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g;

/** The certificates of a PEM file, each as its own PEM text. */
export function pemCertificates(text: string): string[] {
  return (text.match(PEM) ?? []).map((c) => (c.endsWith('\n') ? c : `${c}\n`));
}

/** Writes a file whole or not at all (a reader sees the old text or the new), with `mode`. */
export function replaceFile(file: string, text: string, mode: number): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, file);
}

const modeOf = (file: string) => statSync(file).mode & 0o777;

export interface CaPair {
  /** The CA that signed what the components show before the rotation. */
  old: X509Certificate;
  /** The CA of the rotation. */
  next: X509Certificate;
}

/** Step 1: the new CA (made once, kept by a resumed rotation), and `ca.crt` trusting both. */
export function addNextCa(dir: string): CaPair {
  const nextDir = join(dir, NEXT_DIR);
  mkdirSync(nextDir, { recursive: true, mode: 0o700 });
  if (!existsSync(join(nextDir, 'ca.crt')) || !existsSync(join(nextDir, 'ca.key'))) makeCa(nextDir);
  const ca = join(dir, 'ca.crt');
  const [old] = pemCertificates(readFileSync(ca, 'utf8'));
  if (!old) throw new Error(`${ca} holds no certificate`);
  const next = readFileSync(join(nextDir, 'ca.crt'), 'utf8');
  replaceFile(ca, old + pemCertificates(next)[0], modeOf(ca));
  return { old: new X509Certificate(old), next: new X509Certificate(next) };
}

/**
 * Step 2: every component's key and certificate made again, signed by the new CA, each made in a
 * staging folder and moved in place (the key, then the certificate); HAProxy's combined file too.
 */
export function reissue(dir: string, t: Topology): string[] {
  const names = reissueLeaves(dir, components(t), nextIssuer(dir));
  writeFrontPem(dir);
  return names;
}

/** The new CA of a rotation under way in `caDir` (its `next/`), as the issuer of new certificates. */
export function nextIssuer(caDir: string): Issuer {
  const nextDir = join(caDir, NEXT_DIR);
  return { cert: join(nextDir, 'ca.crt'), key: join(nextDir, 'ca.key') };
}

/**
 * The certificates `leaves` (name: the names it is reached by) made again in `dir` by `issuer`:
 * each in a staging folder, then moved in place, the key before the certificate (a reader between
 * the two sees a pair that does not match and keeps the last one that did: ha/tls.ts).
 */
export function reissueLeaves(dir: string, leaves: Record<string, string[]>, issuer: Issuer): string[] {
  const stage = join(dir, `${NEXT_DIR}-stage`);
  mkdirSync(stage, { recursive: true, mode: 0o700 });
  try {
    for (const [name, alt] of Object.entries(leaves)) {
      makeLeaf(stage, name, alt, issuer);
      replaceFile(join(dir, `${name}.key`), readFileSync(join(stage, `${name}.key`), 'utf8'), 0o600);
      // A certificate keeps its file's mode (0644 locally, 0600 in a rendered host folder).
      const crt = join(dir, `${name}.crt`);
      replaceFile(
        crt,
        readFileSync(join(stage, `${name}.crt`), 'utf8'),
        existsSync(crt) ? modeOf(crt) : 0o644,
      );
    }
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  return Object.keys(leaves);
}

/** HAProxy's `crt`: its certificate and key in one file (0600), replaced whole. */
export function writeFrontPem(dir: string): void {
  const text =
    readFileSync(join(dir, `${FRONT_CERT}.crt`), 'utf8') +
    readFileSync(join(dir, `${FRONT_CERT}.key`), 'utf8');
  replaceFile(join(dir, `${FRONT_CERT}.pem`), text, 0o600);
}

/**
 * Before step 3: a client certificate of the old CA (the rotation shows it refused once the old CA
 * is retired). In a 0700 folder of its own; `dropOldCaProbe` removes it.
 */
export function oldCaProbe(dir: string): TlsFiles {
  const probe = join(dir, PROBE_DIR);
  mkdirSync(probe, { recursive: true, mode: 0o700 });
  const [old] = pemCertificates(readFileSync(join(dir, 'ca.crt'), 'utf8'));
  writeFileSync(join(probe, 'old-ca.crt'), old ?? '', { mode: 0o600 });
  makeLeaf(probe, 'probe', ['probe'], { cert: 'old-ca.crt', key: join(dir, 'ca.key') });
  // Checked against `ca.crt` as it is when the probe is used: after step 3, the new CA alone.
  return { ca: join(dir, 'ca.crt'), cert: join(probe, 'probe.crt'), key: join(probe, 'probe.key') };
}

export function dropOldCaProbe(dir: string): void {
  rmSync(join(dir, PROBE_DIR), { recursive: true, force: true });
}

/** Step 3: the new CA alone in `ca.crt`, its key in `ca.key`; `next/` removed. */
export function retireOldCa(dir: string): X509Certificate {
  const nextDir = join(dir, NEXT_DIR);
  const next = readFileSync(join(nextDir, 'ca.crt'), 'utf8');
  replaceFile(join(dir, 'ca.key'), readFileSync(join(nextDir, 'ca.key'), 'utf8'), 0o600);
  replaceFile(join(dir, 'ca.crt'), next, modeOf(join(dir, 'ca.crt')));
  rmSync(nextDir, { recursive: true, force: true });
  return new X509Certificate(next);
}

/** Whether a rotation stopped before its end (its new CA is still in `next/`). */
export function rotationUnderWay(dir: string): boolean {
  return existsSync(join(dir, NEXT_DIR, 'ca.crt'));
}
