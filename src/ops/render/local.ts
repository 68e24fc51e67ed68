import { join } from 'node:path';
import type { Topology } from '../topology.ts';
import type { StackSecrets } from './acl.ts';
import { renderHaproxyCfg } from './haproxy.ts';
import { renderRedisConf } from './redis.ts';
import { renderSentinelConf } from './sentinel.ts';

/**
 * The configs `npm start` writes into its run directory, for reading or running by hand: the same
 * calls the supervisor makes for a first start (before Sentinel has moved the master anywhere).
 * Without secrets the files name no password.
 */
export function renderLocalFiles(
  t: Topology,
  opts: { runDir: string; secrets: StackSecrets | undefined },
): Record<string, string> {
  const dir = (name: string) => join(opts.runDir, 'nodes', name);
  const s = opts.secrets;
  const files: Record<string, string> = {
    'haproxy/haproxy.cfg': renderHaproxyCfg(t, { target: 'local', password: s?.redis.haproxy }),
  };
  for (const node of t.redis)
    files[`redis/${node.name}.conf`] = renderRedisConf(t, node, { dir: dir(node.name), users: s?.redis });
  for (const sentinel of t.sentinels)
    files[`sentinel/${sentinel.name}.conf`] = renderSentinelConf(t, sentinel, {
      dir: dir(sentinel.name),
      authPass: s?.redis.sentinel,
      requirePass: s?.sentinel,
      hashed: true,
      readerPass: s?.sentinelReader,
    });
  return files;
}
