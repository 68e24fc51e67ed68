import { join } from 'node:path';
import { renderHostFiles } from '../render/hosts.ts';
import { HOST_SECRETS_FILE, newHostSecrets, readHostSecrets } from '../render/hosts-secrets.ts';
import { ensureHostCertificates, HOST_TLS_DIR } from '../tls/hosts-certs.ts';
import { type HostsCertificates, hostsCertificateReport, hostsCertificatesIn } from '../tls/hosts-renew.ts';
import {
  defineHosts,
  type HostLayout,
  hostTopology,
  type Topology,
  type TopologyCounts,
} from '../topology.ts';

/**
 * `render --target hosts --out DIR`: a folder per host for VMs (one app per host; the counts give
 * the Redis nodes, Sentinels and quorum), with the passwords of DIR/secrets.json, made on the first
 * render and reused after, so a render again changes no password. With TLS (the default) the CA
 * in DIR/tls (its key never in a host's folder) and each host's certificates in its tls/ folder,
 * made on the first render and kept after.
 */
export function hostsFiles(
  out: string,
  counts: TopologyCounts,
  opts: { tls: boolean } = { tls: true },
): Record<string, string> {
  const { layout, topology, certs } = renderedHosts(out, counts);
  const secrets = readHostSecrets(out) ?? newHostSecrets();
  const tls = opts.tls ? ensureHostCertificates(certs.caDir, layout, certs.hostDir) : undefined;
  return {
    ...renderHostFiles(layout, topology, { secrets, tls }),
    [HOST_SECRETS_FILE]: `${JSON.stringify(secrets, null, 2)}\n`,
  };
}

/**
 * The hosts of a rendered folder `out` as the counts given to the render place them: the layout,
 * its topology, and where its certificates are (the CA in `out/tls`, each host's in `out/<host>/tls`).
 */
export function renderedHosts(
  out: string,
  counts: TopologyCounts,
): { layout: HostLayout; topology: Topology; certs: HostsCertificates } {
  const layout = defineHosts({ redisNodes: counts.redisNodes, sentinels: counts.sentinels });
  const topology = hostTopology(layout, { counts: { quorum: counts.quorum } });
  return {
    layout,
    topology,
    certs: hostsCertificatesIn(join(out, HOST_TLS_DIR), layout, (h) => join(out, h.name)),
  };
}

/** What `render --target hosts` says of the certificates it keeps in `out`: the first to end, warnings. */
export function hostsTlsLine(out: string, counts: TopologyCounts, nowMs = Date.now()): string {
  return `tls: ${hostsCertificateReport(renderedHosts(out, counts).certs, nowMs).text}\n`;
}
