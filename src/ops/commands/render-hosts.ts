import { join } from 'node:path';
import { renderHostFiles } from '../render/hosts.ts';
import { HOST_SECRETS_FILE, newHostSecrets, readHostSecrets } from '../render/hosts-secrets.ts';
import { ensureHostCertificates, HOST_TLS_DIR } from '../tls/hosts-certs.ts';
import { hostsCertificateReport, hostsCertificatesIn } from '../tls/hosts-renew.ts';
import { defineHosts, hostTopology, type TopologyCounts } from '../topology.ts';

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
  const layout = defineHosts({ redisNodes: counts.redisNodes, sentinels: counts.sentinels });
  const topology = hostTopology(layout, { counts: { quorum: counts.quorum } });
  const secrets = readHostSecrets(out) ?? newHostSecrets();
  const tls = opts.tls
    ? ensureHostCertificates(join(out, HOST_TLS_DIR), layout, (h) => join(out, h.name, HOST_TLS_DIR))
    : undefined;
  return {
    ...renderHostFiles(layout, topology, { secrets, tls }),
    [HOST_SECRETS_FILE]: `${JSON.stringify(secrets, null, 2)}\n`,
  };
}

/** What `render --target hosts` says of the certificates it keeps in `out`: the first to end, warnings. */
export function hostsTlsLine(out: string, counts: TopologyCounts, nowMs = Date.now()): string {
  const layout = defineHosts({ redisNodes: counts.redisNodes, sentinels: counts.sentinels });
  const x = hostsCertificatesIn(join(out, HOST_TLS_DIR), layout, (h) => join(out, h.name));
  return `tls: ${hostsCertificateReport(x, nowMs).text}\n`;
}
