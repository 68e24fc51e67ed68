import type { KeptProbes } from '../ha/kept-probes.ts';
import type { NodeState, RedisLogin } from '../ha/probes.ts';
import { nodeState, sentinelView } from '../ha/probes.ts';
import type { StackCredentials } from './actions.ts';
import { waitFor } from './supervisor/wait.ts';
import type { RedisNode, Topology } from './topology.ts';

// What the Redis nodes and Sentinels of a topology say, read across all of them (ha/probes.ts
// reads and parses each one's replies).

/** Each Redis node's replication state by name; null for a node that does not answer. */
export async function nodeStates(
  t: Topology,
  login: RedisLogin,
  timeoutMs?: number,
  kept?: KeptProbes,
): Promise<Map<string, NodeState | null>> {
  const out = new Map<string, NodeState | null>();
  await Promise.all(
    t.redis.map(async (n) => {
      out.set(n.name, await nodeState(n.host, n.port, login, timeoutMs, kept).catch(() => null));
    }),
  );
  return out;
}

/** Waits until every Sentinel that answers names `master` and that node reports role:master. */
export async function waitForMaster(
  t: Topology,
  creds: StackCredentials,
  accept: (m: RedisNode) => boolean,
  timeoutMs = 30_000,
): Promise<RedisNode> {
  let found: RedisNode | undefined;
  await waitFor(
    'the Sentinels to agree on a master',
    async () => {
      const views = await Promise.all(
        t.sentinels.map((s) =>
          sentinelView(s.host, s.port, t.masterName, creds.sentinelPassword).catch(() => null),
        ),
      );
      const named = views.filter((v) => v?.master).map((v) => `${v!.master!.host}:${v!.master!.port}`);
      if (named.length < t.quorum || new Set(named).size !== 1) return false;
      const node = t.redis.find((r) => `${r.host}:${r.port}` === named[0]);
      if (!node || !accept(node)) return false;
      const state = await nodeState(node.host, node.port, creds.login);
      found = node;
      return state.role === 'master';
    },
    { timeoutMs },
  );
  return found!;
}
