import { existsSync, readFileSync } from 'node:fs';
import { collectStatus, formatStatus } from '../status.ts';
import { readState } from '../supervisor/health.ts';
import { RunDir } from '../supervisor/rundir.ts';
import { CliError, knownNodeNames, resolveNode, runDirPath, runningStack, UsageError } from './context.ts';

export async function status(args: string[]): Promise<void> {
  const client = runningStack();
  const supervisor = readState(new RunDir(runDirPath()).stateFile);
  const s = await collectStatus(client.topology, client, client.stats, undefined, supervisor);
  process.stdout.write(args.includes('--json') ? `${JSON.stringify(s, null, 2)}\n` : `${formatStatus(s)}\n`);
}

const AFTER: Record<NodeAction, (name: string) => string> = {
  kill: () => ' (a crash: the supervisor starts it again)',
  stop: (name) => ` (it stays down until "ha-stack start ${name}")`,
  start: () => '',
  resume: () => '',
  restart: () => '',
};

export type NodeAction = 'kill' | 'stop' | 'start' | 'resume' | 'restart';

export async function nodeAction(action: NodeAction, args: string[]): Promise<void> {
  if (!args[0]) throw new UsageError(`${action} needs a node name`);
  const client = runningStack();
  const name = await resolveNode(client, args[0]);
  await client[action](name);
  process.stdout.write(`${action} ${name}: done${AFTER[action](name)}\n`);
}

export async function pause(args: string[]): Promise<void> {
  if (!args[0]) throw new UsageError('pause needs a node name');
  const seconds = args[1] === undefined ? undefined : Number(args[1]);
  if (seconds !== undefined && !(Number.isFinite(seconds) && seconds > 0 && seconds <= 3600)) {
    throw new UsageError(`seconds must be a number from 0 to 3600, got "${args[1]}"`);
  }
  const client = runningStack();
  const name = await resolveNode(client, args[0]);
  await client.pause(name);
  if (seconds === undefined) {
    process.stdout.write(`paused ${name} (SIGSTOP); "ha-stack resume ${name}" continues it\n`);
    return;
  }
  process.stdout.write(`paused ${name} for ${seconds} s\n`);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  await client.resume(name);
  process.stdout.write(`resumed ${name}\n`);
}

export async function failover(): Promise<void> {
  const client = runningStack();
  const r = await client.failover();
  process.stdout.write(`failover: ${r.from} -> ${r.to} in ${r.ms} ms (writes were paused, none lost)\n`);
}

export async function logs(args: string[]): Promise<void> {
  const name = args[0];
  const names = knownNodeNames();
  if (!name || !(names.includes(name) || name === 'launcher')) {
    throw new UsageError(`name a node: ${names.join(', ')}, launcher`);
  }
  const file = new RunDir(runDirPath()).log(name);
  if (!existsSync(file)) throw new CliError(`no log for ${name} at ${file}`);
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
  process.stdout.write(`${lines.slice(-Number(args[1] ?? 100)).join('\n')}\n`);
}
