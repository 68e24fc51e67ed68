import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ConnectionOptions } from 'node:tls';

/**
 * TLS to the stack's Redis nodes, Sentinels and fronts: the CA every peer is checked against, and
 * the certificate and key this process shows (the nodes require one from every client). Paths; the
 * files are read again when they change, so a rotated certificate is used by the next connection.
 */
export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

let files: TlsFiles | undefined;
let cache: { stamp: string; options: ConnectionOptions } | undefined;

/** Every Redis, Sentinel and HTTPS connection this process opens from now on uses `f` (undefined: plain). */
export function useStackTls(f: TlsFiles | undefined): void {
  files = f;
  cache = undefined;
}

export function stackTlsFiles(): TlsFiles | undefined {
  return files;
}

const stampOf = (f: TlsFiles) => [f.ca, f.cert, f.key].map((p) => statSync(p).mtimeMs).join(':');

/**
 * Whether a certificate and a key belong together. A rotation replaces the two files one after the
 * other: read between the two renames, they do not, and a connection made of them would fail.
 */
export function pairMatches(cert: Buffer, key: Buffer): boolean {
  try {
    return new X509Certificate(cert).checkPrivateKey(createPrivateKey(key));
  } catch {
    return false;
  }
}

/**
 * The options of a TLS connection as this process makes them, or undefined without TLS. The files
 * are read again when one changed; a certificate read without its key (a rotation between its two
 * renames) leaves the last pair that matched in use.
 */
export function stackTls(): ConnectionOptions | undefined {
  if (!files) return undefined;
  const stamp = stampOf(files);
  if (cache?.stamp !== stamp) {
    const cert = readFileSync(files.cert);
    const key = readFileSync(files.key);
    if (!pairMatches(cert, key)) {
      if (cache) return cache.options;
      throw new Error(`${files.cert} and ${files.key} do not belong together`);
    }
    cache = {
      stamp,
      options: {
        ca: readFileSync(files.ca),
        cert,
        key,
        // The peers are known by address (127.0.0.x, 198.18.x.x): their certificates name them so.
        rejectUnauthorized: true,
      },
    };
  }
  return cache.options;
}

/**
 * TLS options for a long-lived client (ioredis copies them at each connect): every connection it
 * makes, also a reconnection hours later, reads the files as they are then (stackTls), so a
 * rotated CA or certificate reaches it without a restart.
 */
export function liveStackTls(): ConnectionOptions | undefined {
  if (!files) return undefined;
  return {
    get ca() {
      return stackTls()?.ca;
    },
    get cert() {
      return stackTls()?.cert;
    },
    get key() {
      return stackTls()?.key;
    },
    rejectUnauthorized: true,
  };
}

/** redis-cli's (or valkey-cli's) options for the same TLS as this process. */
export function cliTlsArgs(): string[] {
  return files ? ['--tls', '--cacert', files.ca, '--cert', files.cert, '--key', files.key] : [];
}

/** What an ioredis client of a node or Sentinel needs for TLS (nothing without it). */
export function redisTlsOptions(): { tls?: ConnectionOptions } {
  const tls = liveStackTls();
  return tls ? { tls } : {};
}

/**
 * A TLS failure as the operator reads it: which peer, and what was wrong with its certificate
 * (Node's messages name the check, not the peer).
 */
export function tlsErrorText(peer: string, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: string } | undefined)?.code;
  return `TLS to ${peer} failed: ${message}${code && !message.includes(code) ? ` (${code})` : ''}`;
}

export interface TextResponse {
  status: number;
  text: string;
}

/**
 * A GET of a small page (HAProxy's stats, a health check) over HTTP or HTTPS; an HTTPS peer is
 * checked against the stack's CA. (The built-in fetch cannot be given a CA on Node 20.)
 */
export function getText(
  url: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<TextResponse> {
  const u = new URL(url);
  const secure = u.protocol === 'https:';
  const tls = secure ? stackTls() : undefined;
  return new Promise((resolve, reject) => {
    const req = (secure ? httpsRequest : httpRequest)(
      u,
      { method: 'GET', headers, timeout: timeoutMs, ...(tls ? { ca: tls.ca, agent: false } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${u.host} within ${timeoutMs} ms`)));
    req.on('error', (err) => reject(secure && isTlsError(err) ? new Error(tlsErrorText(u.host, err)) : err));
    req.end();
  });
}

/** Whether an error is about a certificate or the TLS handshake. */
export function isTlsError(err: unknown): boolean {
  const code = (err as { code?: string } | undefined)?.code ?? '';
  const message = err instanceof Error ? err.message : '';
  return (
    /CERT|SELF_SIGNED|ERR_TLS|ERR_SSL|UNABLE_TO|HOSTNAME|ALTNAME/.test(code) ||
    /certificate|altnames|SSL routines|handshake/i.test(message)
  );
}

/** A certificate is called out this long before it ends (status, the topology page, the alert). */
export const EXPIRY_WARNING_DAYS = 14;
const DAY_MS = 86_400_000;

/** When a PEM certificate file ends. */
export function certificateEnd(file: string): Date {
  return new Date(new X509Certificate(readFileSync(file)).validTo);
}

/**
 * The warning for a certificate that ends within EXPIRY_WARNING_DAYS (or has ended), naming it; none
 * for one that lives longer.
 */
export function expiryWarning(name: string, end: Date, nowMs: number): string | undefined {
  const days = (end.getTime() - nowMs) / DAY_MS;
  if (days >= EXPIRY_WARNING_DAYS) return undefined;
  const when = end.toISOString().slice(0, 10);
  return days <= 0
    ? `certificate ${name} ended on ${when}: TLS to and from it fails`
    : `certificate ${name} ends on ${when} (in ${Math.floor(days)} days): replace it (docs/tls.md)`;
}

/** This process's own certificate and the CA, with their ends (empty without TLS). */
export function ownCertificates(): { name: 'own' | 'ca'; file: string; end: Date }[] {
  if (!files) return [];
  const { cert, ca } = files;
  return [
    { name: 'own', file: cert, end: certificateEnd(cert) },
    { name: 'ca', file: ca, end: certificateEnd(ca) },
  ];
}
