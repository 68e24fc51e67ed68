import { renderHostFiles } from '../render/hosts.ts';
import { HOST_SECRETS_FILE, newHostSecrets, readHostSecrets } from '../render/hosts-secrets.ts';
import { defineHosts, hostTopology, type TopologyCounts } from '../topology.ts';

/**
 * `render --target hosts --out DIR`: a folder per host for VMs (one app per host; the counts give
 * the Redis nodes, Sentinels and quorum), with the passwords of DIR/secrets.json, made on the first
 * render and reused after, so a render again changes no password.
 */
export function hostsFiles(out: string, counts: TopologyCounts): Record<string, string> {
  const layout = defineHosts({ redisNodes: counts.redisNodes, sentinels: counts.sentinels });
  const topology = hostTopology(layout, { counts: { quorum: counts.quorum } });
  const secrets = readHostSecrets(out) ?? newHostSecrets();
  return {
    ...renderHostFiles(layout, topology, { secrets }),
    [HOST_SECRETS_FILE]: `${JSON.stringify(secrets, null, 2)}\n`,
  };
}
