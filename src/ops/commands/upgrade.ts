import { createInterface } from 'node:readline/promises';
import { isServerKind, SERVER_KINDS, type ServerKind } from '../supervisor/servers.ts';
import type { UpgradeResult } from '../supervisor/upgrade.ts';
import { parseCommandLine } from './args.ts';
import { CliError, runningStack, UsageError } from './context.ts';

export interface UpgradeArgs {
  server: ServerKind;
  pastNoReturn: boolean;
}

/** `ha-stack upgrade --server valkey|redis [--yes-past-no-return]`. */
export function parseUpgradeArgs(args: string[]): UpgradeArgs {
  const { values } = parseCommandLine(args, {
    server: { type: 'string' },
    'yes-past-no-return': { type: 'boolean' },
  });
  if (!isServerKind(values.server)) throw new UsageError(`upgrade needs --server ${SERVER_KINDS.join('|')}`);
  return { server: values.server, pastNoReturn: values['yes-past-no-return'] === true };
}

/** The operator's yes at a terminal to what cannot be undone by replication; false without one. */
async function yesAtTerminal(server: ServerKind): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const answer = await rl.question(
    server === 'valkey'
      ? 'Past this point the master runs Valkey 8 and Redis 7.0 can no longer replicate from it; going back is a logical copy. Type "yes" to fail over: '
      : 'The master runs Valkey 8: going back is a logical copy of every key while writes wait, then a failover to a Redis node. Type "yes" to roll back: ',
  );
  rl.close();
  return answer.trim() === 'yes';
}

function describe(r: UpgradeResult): string {
  const nodes = Object.entries(r.servers)
    .map(([name, kind]) => `${name}=${kind}`)
    .join(' ');
  const moved = r.moved.length ? `moved ${r.moved.join(', ')}` : 'nothing to move';
  const failover = r.failover
    ? `; failover ${r.failover.from} -> ${r.failover.to} (writes paused ${r.failover.pausedMs} ms)`
    : '';
  const rollback = r.rollback
    ? `; rollback: ${r.rollback.keys} keys copied to ${r.rollback.to} in ${r.rollback.copyMs} ms, failover ${r.rollback.failover.from} -> ${r.rollback.failover.to} (writes paused ${r.rollback.failover.pausedMs} ms)`
    : '';
  return `upgrade --server ${r.server}: ${moved}${failover}${rollback} in ${(r.ms / 1000).toFixed(1)} s\n  ${nodes}\n`;
}

export async function upgrade(args: string[]): Promise<void> {
  const a = parseUpgradeArgs(args);
  const client = runningStack();
  process.stdout.write(`upgrade --server ${a.server}: one node at a time...\n`);
  let r = await client.upgrade(a.server, a.pastNoReturn);
  process.stdout.write(describe(r));
  if (!r.stoppedBeforeNoReturn) return;
  if (!(await yesAtTerminal(a.server)))
    throw new CliError(
      a.server === 'valkey'
        ? `stopped before the point of no return: the master still runs redis. Every other node runs valkey; "ha-stack upgrade --server redis" moves them back, "--yes-past-no-return" goes on (docs/upgrade.md)`
        : 'refused: the master runs valkey, and Redis 7.0 cannot replicate from a Valkey 8 master (RDB version 11); the rollback is a logical copy under a write pause: "ha-stack upgrade --server redis --yes-past-no-return" (docs/upgrade.md)',
    );
  r = await client.upgrade(a.server, true);
  process.stdout.write(describe(r));
}
