import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TlsFiles } from '../../ha/tls.ts';
import { type HostPaths, renderHostFiles } from '../render/hosts.ts';
import { HOST_SECRETS_FILE, newHostSecrets, readHostSecrets } from '../render/hosts-secrets.ts';
import { defaultAppCommand } from '../supervisor/app-command.ts';
import { writePrivate } from '../supervisor/private-files.ts';
import { REPO_ROOT } from '../supervisor/process-set.ts';
import { LOAD_LIMITS } from '../supervisor/stack-options.ts';
import { ensureHostCertificates, HOST_TLS_DIR, opsTlsIn } from '../tls/hosts-certs.ts';
import { type HostsCertificates, hostsCertificatesIn } from '../tls/hosts-renew.ts';
import { defineHosts, type Host, type HostLayout, hostTopology, type Topology } from '../topology.ts';

/**
 * The test bed's folder: each host's `etc` is exactly what `render --target hosts` writes for it
 * (with this folder's paths), beside its data and pid files; secrets.json as in a rendered folder.
 */
export const BED_FILE = 'bed.json';

export interface Bed {
  dir: string;
  layout: HostLayout;
  topology: Topology;
  /** TLS on every hop (the default): the CA in `dir/tls`, each host's certificates in its etc/tls. */
  tls: boolean;
}

/** The bed's options: TLS unless turned off (`--no-tls`, for a measurement without it). */
export interface BedOptions {
  tls?: boolean;
}

/** A private file, its folders made 0700. */
export function putPrivate(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writePrivate(path, text);
}

export function bedPaths(dir: string, host: Host): HostPaths {
  return {
    etc: join(dir, host.name, 'etc'),
    data: join(dir, host.name, 'data'),
    run: join(dir, host.name, 'run'),
  };
}

/** Renders every host's files into the bed's folder (0600 files in 0700 folders), keeping its passwords. */
export function renderBed(dir: string, opts: BedOptions = {}): Bed {
  const layout = defineHosts();
  const topology = hostTopology(layout);
  const tls = opts.tls ?? true;
  const secrets = readHostSecrets(dir) ?? newHostSecrets();
  putPrivate(join(dir, HOST_SECRETS_FILE), `${JSON.stringify(secrets, null, 2)}\n`);
  const certs = tls
    ? ensureHostCertificates(join(dir, HOST_TLS_DIR), layout, (h) => join(bedPaths(dir, h).etc, HOST_TLS_DIR))
    : undefined;
  const files = renderHostFiles(layout, topology, {
    secrets,
    tls: certs,
    paths: (h) => bedPaths(dir, h),
    appCommand: defaultAppCommand(REPO_ROOT),
    opsCommand: [process.execPath, join(REPO_ROOT, 'bin', 'ha-stack.js')],
    appEnv: LOAD_LIMITS,
  });
  for (const [rel, text] of Object.entries(files)) {
    const [host, ...rest] = rel.split('/');
    putPrivate(join(dir, host!, 'etc', ...rest), text);
  }
  putPrivate(join(dir, BED_FILE), `${JSON.stringify({ layout, tls }, null, 2)}\n`);
  return { dir, layout, topology, tls };
}

export function readBed(dir: string): Bed {
  const { layout, tls } = JSON.parse(readFileSync(join(dir, BED_FILE), 'utf8')) as {
    layout: HostLayout;
    tls?: boolean;
  };
  return { dir, layout, topology: hostTopology(layout), tls: tls === true };
}

/** The bed's certificates: the CA folder `dir/tls`, each host's in its etc/tls (tls/hosts-renew.ts). */
export function bedCertificates(bed: Bed): HostsCertificates {
  return hostsCertificatesIn(join(bed.dir, HOST_TLS_DIR), bed.layout, (h) => bedPaths(bed.dir, h).etc);
}

/** What the bed's clients (the load, the checks, the operator's tools) show and trust, or undefined without TLS. */
export function bedClientTls(bed: Bed): TlsFiles | undefined {
  return bed.tls ? opsTlsIn(join(bed.dir, HOST_TLS_DIR)) : undefined;
}

/** The site through the floating address: HTTPS with TLS (HTTP only redirects there), else HTTP. */
export function bedFrontUrl(bed: Bed, address = bed.layout.floating): string {
  const h = bed.topology.haproxy;
  return bed.tls ? `https://${address}:${h.httpsPort}` : `http://${address}:${h.httpPort}`;
}

/** HAProxy's operator front (stats) through the floating address. */
export function bedStatsUrl(bed: Bed): string {
  return `${bed.tls ? 'https' : 'http'}://${bed.layout.floating}:${bed.topology.haproxy.statsPort}/stats`;
}

export function bedSecrets(dir: string) {
  const s = readHostSecrets(dir);
  if (!s) throw new Error(`${dir}: no ${HOST_SECRETS_FILE}`);
  return s;
}
