import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The chain that holds the partition's rules; hooked into INPUT while a partition lasts. */
export const CHAIN = 'HA_STACK_PARTITION';

/** The iptables arguments that cut `node` off from every address in `peers`, both ways. */
export function partitionRules(node: string, peers: string[]): string[][] {
  return peers.flatMap((peer) => [
    ['-A', CHAIN, '-s', node, '-d', peer, '-j', 'DROP'],
    ['-A', CHAIN, '-s', peer, '-d', node, '-j', 'DROP'],
  ]);
}

async function iptables(args: string[]): Promise<void> {
  await run('iptables', ['-w', '5', ...args], { timeout: 10_000 });
}

/**
 * Why a partition cannot be made here, or null when it can: it needs root, iptables, and nodes that
 * each have an address of their own (a filter cannot tell apart nodes that share one address).
 */
export async function partitionUnsupported(node: string, peers: string[]): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'needs root to install packet filter rules';
  if (peers.includes(node) || new Set(peers).size !== peers.length)
    return `the nodes share addresses (${[node, ...peers].join(', ')}): a filter cannot separate them`;
  try {
    await iptables(['-L', 'INPUT', '-n']);
  } catch (err) {
    return `iptables is not usable here: ${(err as Error).message.split('\n')[0]}`;
  }
  return null;
}

/** Removes the partition chain if a run left it behind (also safe when there is none). */
export async function healPartition(): Promise<void> {
  await iptables(['-D', 'INPUT', '-j', CHAIN]).catch(() => undefined);
  await iptables(['-F', CHAIN]).catch(() => undefined);
  await iptables(['-X', CHAIN]).catch(() => undefined);
}

/**
 * Drops every packet between `node` and `peers` (on loopback, INPUT sees both directions) while
 * anything else, clients included, still reaches the node. Returns the function that heals it.
 */
export async function partition(node: string, peers: string[]): Promise<() => Promise<void>> {
  await healPartition();
  await iptables(['-N', CHAIN]);
  try {
    for (const rule of partitionRules(node, peers)) await iptables(rule);
    await iptables(['-I', 'INPUT', '1', '-j', CHAIN]);
  } catch (err) {
    await healPartition();
    throw err;
  }
  return healPartition;
}
