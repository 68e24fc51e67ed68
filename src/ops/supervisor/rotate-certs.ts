import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { sentinelView } from '../../ha/probes.ts';
import type { TlsFiles } from '../../ha/tls.ts';
import { FRONT_CERT, givenCertificates, OPS_CERT } from '../tls/certs.ts';
import { addNextCa, type CaPair, dropOldCaProbe, oldCaProbe, reissue, retireOldCa } from '../tls/renew.ts';
import type { Topology } from '../topology.ts';
import { onNode } from './revoke.ts';
import { CERTIFICATES, type RotateResult } from './rotate.ts';
import type { RotatorDeps } from './rotation.ts';
import { waitFor } from './wait.ts';

/** How a rotation makes its files: the local stack's one folder (renew.ts), or hosts' (hosts-renew.ts). */
export interface RenewSteps {
  addNextCa(): CaPair;
  /** The names of the certificates made again. */
  reissue(): string[];
  retireOldCa(): void;
  /** A client certificate of the old CA, made before step 3 (to be refused after it); its removal. */
  oldCaProbe(): TlsFiles;
  dropOldCaProbe(): void;
}

/** The local stack's steps: every file in one folder. */
export function localSteps(dir: string, t: Topology): RenewSteps {
  return {
    addNextCa: () => addNextCa(dir),
    reissue: () => reissue(dir, t),
    retireOldCa: () => void retireOldCa(dir),
    oldCaProbe: () => oldCaProbe(dir),
    dropOldCaProbe: () => dropOldCaProbe(dir),
  };
}

/** A TLS front of HAProxy and the file of the certificate it should show. */
export interface FrontCert {
  host: string;
  port: number;
  cert: string;
}

/**
 * What a rotation of the certificates needs of the stack (a part of the Rotator's; the host test
 * bed gives its own: hosts/rotate-bed.ts). `steps`: the local stack's by default; `fronts`: HAProxy's
 * HTTPS and operator fronts of the topology by default; `run`: only for the operator's own files.
 */
export type CertRotationDeps = Partial<Pick<RotatorDeps, 'run'>> & {
  readonly steps?: RenewSteps;
  readonly fronts?: readonly FrontCert[];
} & Pick<
    RotatorDeps,
    | 'topology'
    | 'certs'
    | 'certsGiven'
    | 'creds'
    | 'withHaproxy'
    | 'timeoutMs'
    | 'running'
    | 'restart'
    | 'reloadHaproxy'
    | 'log'
  >;

/**
 * `ha-stack rotate certificates`: a new CA and a new certificate for every component, on the
 * running stack, without a restart of the apps or the Redis nodes. Three rounds, each told to every
 * process before the next begins (renew.ts makes the files):
 *
 * 1. every trust store holds the old and the new CA;
 * 2. every component shows a certificate of the new CA (accepted everywhere since round 1);
 * 3. the old CA is retired: a certificate it signed is refused, which is tried on every node.
 *
 * Each round: the Redis nodes read the files again on `CONFIG SET tls-*-file` (same paths),
 * the Sentinels (which cannot) restart one at a time, each back with the master, its replicas and
 * the other Sentinels before the next; HAProxy reloads without a lost connection; the apps, the
 * supervisor and the CLI read the files at each new connection (ha/tls.ts liveStackTls).
 * Connections already open stay open: TLS checks a certificate at the handshake only.
 */
export async function rotateCertificates(d: CertRotationDeps): Promise<RotateResult> {
  const started = Date.now();
  const { certs } = d;
  if (!certs)
    throw new Error(
      'this stack runs without TLS (started with --no-tls or TLS=0): there are no certificates',
    );
  const stopped = d.topology.sentinels.filter((s) => !d.running(s.name)).map((s) => s.name);
  if (stopped.length)
    throw new Error(
      `rotate certificates: ${stopped.join(', ')} not running, and the Sentinels restart one at a time so that a quorum stays; start it first (ha-stack start NAME). Nothing changed`,
    );
  if (d.certsGiven) return reloadGiven(d, started);
  const steps = d.steps ?? localSteps(certs.dir, d.topology);
  const { old, next } = steps.addNextCa();
  d.log(
    `rotate certificates: round 1 of 3, every trust store takes the new CA (${short(next)}) beside the old`,
  );
  const restarted = await tellEveryone(d);
  const names = steps.reissue();
  d.log(`rotate certificates: round 2 of 3, ${names.length} certificates of the new CA shown`);
  restarted.push(...(await tellEveryone(d)));
  const probe = steps.oldCaProbe();
  try {
    steps.retireOldCa();
    d.log(`rotate certificates: round 3 of 3, the old CA (${short(old)}) retired`);
    restarted.push(...(await tellEveryone(d)));
    const refusedOn = await assertRetired(d, probe);
    const nodes = [...runningNodes(d).map((n) => n.name), ...(d.withHaproxy ? ['haproxy'] : [])];
    const ca = { old: old.fingerprint256, new: next.fingerprint256 };
    return { secret: CERTIFICATES, restarted, nodes, refusedOn, earlier: 0, ms: Date.now() - started, ca };
  } finally {
    steps.dropOldCaProbe();
  }
}

const short = (c: X509Certificate) => c.fingerprint256.slice(0, 11);

/**
 * The operator's own certificates (TLS_DIR): the stack makes none, so `rotate certificates` is one
 * round in which every process takes the files of that folder as they are now (HAProxy's combined
 * file written again from them), then a check that each node, Sentinel and HAProxy shows its
 * file's certificate. The operator rotates a CA in the same three steps, running it after each:
 * both CAs in `ca.crt`; the new certificates; the new CA alone (docs/tls.md).
 */
async function reloadGiven(d: CertRotationDeps, started: number): Promise<RotateResult> {
  if (!d.run) throw new Error('rotate certificates: the operator’s own files need the run directory');
  const certs = givenCertificates(d.certs!.dir, d.run.dir, d.topology);
  d.log(`rotate certificates: every process takes the files of ${certs.dir} again`);
  const restarted = await tellEveryone(d);
  for (const n of [...runningNodes(d), ...d.topology.sentinels]) {
    const want = new X509Certificate(readFileSync(certs.of(n.name).cert)).fingerprint256;
    const shown = await peerCertificate(n.host, n.port, certs.ca, certs.of(OPS_CERT));
    if (shown !== want) throw new Error(`${n.name} shows another certificate than ${certs.of(n.name).cert}`);
  }
  if (d.withHaproxy) await frontShowsItsOwn(d);
  const nodes = [...runningNodes(d).map((n) => n.name), ...(d.withHaproxy ? ['haproxy'] : [])];
  const fp = new X509Certificate(readFileSync(certs.ca)).fingerprint256;
  const ms = Date.now() - started;
  return { secret: CERTIFICATES, restarted, nodes, refusedOn: [], earlier: 0, ms, ca: { old: fp, new: fp } };
}

function runningNodes(d: CertRotationDeps) {
  return d.topology.redis.filter((n) => d.running(n.name));
}

/** One round: every process takes the files as they are now; the Sentinels it restarted. */
async function tellEveryone(d: CertRotationDeps): Promise<string[]> {
  const certs = d.certs!;
  for (const n of runningNodes(d)) {
    const f = certs.of(n.name);
    await onNode(n, d.creds.login, (r) =>
      r.call('CONFIG', 'SET', 'tls-ca-cert-file', f.ca, 'tls-cert-file', f.cert, 'tls-key-file', f.key),
    );
  }
  const restarted: string[] = [];
  const t = d.topology;
  for (const s of t.sentinels) {
    await d.restart(s.name);
    await waitFor(
      `${s.name} to see the master, ${t.redis.length - 1} replica(s) and ${t.sentinels.length - 1} other Sentinel(s) again`,
      async () => {
        const v = await sentinelView(s.host, s.port, t.masterName, d.creds.sentinelPassword);
        return (
          v.master !== null &&
          v.replicas === t.redis.length - 1 &&
          v.otherSentinels === t.sentinels.length - 1
        );
      },
      { timeoutMs: d.timeoutMs },
    );
    restarted.push(s.name);
  }
  if (d.withHaproxy) await d.reloadHaproxy();
  return restarted;
}

/**
 * After round 3: every node, Sentinel and HAProxy's fronts show a certificate of the new CA (this
 * process trusts only it now), and every node and Sentinel refuses a client of the old CA.
 */
async function assertRetired(d: CertRotationDeps, probe: TlsFiles): Promise<string[]> {
  const refusedOn: string[] = [];
  const t = d.topology;
  const sentinelLogin = { password: d.creds.sentinelPassword };
  const targets = [
    ...runningNodes(d).map((n) => ({ n, login: d.creds.login })),
    ...t.sentinels.map((n) => ({ n, login: sentinelLogin })),
  ];
  for (const { n, login } of targets) {
    await onNode(n, login, (r) => r.call('PING'));
    const answer = await pingWith(n.host, n.port, probe);
    if (answer.includes('PONG') || answer.includes('NOAUTH'))
      throw new Error(`${n.name} still accepts a client certificate of the old CA (it answered ${answer})`);
    refusedOn.push(n.name);
  }
  if (d.withHaproxy) await frontShowsItsOwn(d);
  return refusedOn;
}

/** HAProxy's HTTPS and operator fronts show the certificate of their file, checked against the CA. */
async function frontShowsItsOwn(d: CertRotationDeps): Promise<void> {
  const h = d.topology.haproxy;
  const fronts =
    d.fronts ??
    [h.httpsPort, h.statsPort].map((port) => ({ host: h.host, port, cert: d.certs!.of(FRONT_CERT).cert }));
  for (const f of fronts) {
    const want = new X509Certificate(readFileSync(f.cert)).fingerprint256;
    const shown = await peerCertificate(f.host, f.port, d.certs!.ca);
    if (shown !== want)
      throw new Error(`HAProxy on ${f.host}:${f.port} shows another certificate than ${f.cert}`);
  }
}

/** Opens TLS with `files` and sends PING: what came back, or the error that ended it. */
function pingWith(host: string, port: number, files: TlsFiles): Promise<string> {
  return new Promise((resolve) => {
    const s = tlsConnect({
      host,
      port,
      ca: readFileSync(files.ca),
      cert: readFileSync(files.cert),
      key: readFileSync(files.key),
      checkServerIdentity: () => undefined,
    });
    let text = '';
    const done = (why: string) => {
      s.destroy();
      resolve(text || why);
    };
    s.setTimeout(3000, () => done('no answer'));
    s.on('secureConnect', () => s.write('PING\r\n'));
    s.on('data', (b: Buffer) => {
      text += b.toString();
      if (text.includes('\r\n')) done(text);
    });
    s.on('error', (err) => done(err.message));
    s.on('close', () => done('closed'));
  });
}

/** The SHA-256 fingerprint of the certificate a TLS server shows, checked against `ca`. */
function peerCertificate(host: string, port: number, ca: string, client?: TlsFiles): Promise<string> {
  return new Promise((resolve, reject) => {
    const mine = client ? { cert: readFileSync(client.cert), key: readFileSync(client.key) } : {};
    const s = tlsConnect({ host, port, ca: readFileSync(ca), ...mine });
    s.setTimeout(3000, () => s.destroy(new Error(`no TLS answer from ${host}:${port}`)));
    s.on('secureConnect', () => {
      const fp = s.getPeerX509Certificate()?.fingerprint256 ?? '';
      s.end();
      resolve(fp);
    });
    s.on('error', (err) => reject(new Error(`TLS to ${host}:${port} failed: ${err.message}`)));
  });
}
