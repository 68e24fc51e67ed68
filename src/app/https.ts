import { readFileSync, statSync } from 'node:fs';
import type { Server as HttpsServer } from 'node:https';
import type { FastifyInstance } from 'fastify';
import type { ServerTlsFiles } from '../config/index.ts';
import { pairMatches } from '../ha/tls.ts';

/** How often the certificate files are looked at for a change (a rotation, a renewal). */
export const CERTIFICATE_POLL_MS = 2000;

const stampOf = (f: ServerTlsFiles) => [f.cert, f.key].map((p) => statSync(p).mtimeMs).join(':');

function readPair(f: ServerTlsFiles): { cert: Buffer; key: Buffer } | undefined {
  const cert = readFileSync(f.cert);
  const key = readFileSync(f.key);
  return pairMatches(cert, key) ? { cert, key } : undefined;
}

/**
 * Fastify's `https` option for an app serving HTTPS (APP_TLS_CERT_FILE, APP_TLS_KEY_FILE), or
 * nothing for plain HTTP. A certificate and key that do not belong together stop the start.
 */
export function httpsOption(tls: ServerTlsFiles | undefined): { https?: { cert: Buffer; key: Buffer } } {
  if (!tls) return {};
  const pair = readPair(tls);
  if (!pair) throw new Error(`${tls.cert} and ${tls.key} do not belong together`);
  return { https: pair };
}

/**
 * Takes the certificate files again when they change (a rotation writes new ones in place): the
 * server's next handshakes use them, connections already open keep theirs. A certificate read
 * without its key (between a rotation's two renames) is skipped until the pair matches.
 */
export function followCertificate(app: FastifyInstance, tls: ServerTlsFiles | undefined): void {
  if (!tls) return;
  let applied = stampOf(tls);
  const timer = setInterval(() => {
    try {
      const stamp = stampOf(tls);
      if (stamp === applied) return;
      const pair = readPair(tls);
      if (!pair) return;
      (app.server as unknown as HttpsServer).setSecureContext(pair);
      applied = stamp;
      app.log.info({ cert: tls.cert }, 'took the changed certificate for new connections');
    } catch (err) {
      app.log.warn({ err: (err as Error).message }, 'certificate files unreadable: the last ones stay');
    }
  }, CERTIFICATE_POLL_MS);
  timer.unref();
  app.addHook('onClose', (_app, done) => {
    clearInterval(timer);
    done();
  });
}
