import { join } from 'node:path';
import type { Topology } from '../topology.ts';
import { renderHaproxyCfg } from './haproxy.ts';
import { renderRedisConf } from './redis.ts';
import { renderSentinelConf } from './sentinel.ts';

/**
 * The configs `npm start` writes into its run directory, for reading or running by hand: the same
 * calls the supervisor makes for a first start (before Sentinel has moved the master anywhere).
 */
export function renderLocalFiles(
  t: Topology,
  opts: { runDir: string; password: string | undefined },
): Record<string, string> {
  const dir = (name: string) => join(opts.runDir, 'nodes', name);
  const files: Record<string, string> = {
    'haproxy/haproxy.cfg': renderHaproxyCfg(t, { target: 'local', password: opts.password }),
  };
  for (const node of t.redis)
    files[`redis/${node.name}.conf`] = renderRedisConf(t, node, {
      dir: dir(node.name),
      password: opts.password,
    });
  for (const s of t.sentinels)
    files[`sentinel/${s.name}.conf`] = renderSentinelConf(t, s, {
      dir: dir(s.name),
      password: opts.password,
    });
  return files;
}
