import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { backupAgeText } from '../backup/schedule.ts';
import { lastGood } from '../backup/take.ts';
import { collectStatus, formatStatus } from '../status.ts';
import { readState } from '../supervisor/health.ts';
import { RunDir } from '../supervisor/rundir.ts';
import { certificateReport } from '../tls/certs.ts';
import { numberFlag, parseCommandLine } from './args.ts';
import {
  CliError,
  checkNodeName,
  knownNodeNames,
  resolveNode,
  runDirPath,
  runningStack,
  UsageError,
} from './context.ts';

export function parseStatusArgs(args: string[]): { json: boolean } {
  const { values } = parseCommandLine(args, { json: { type: 'boolean' } });
  return { json: values.json === true };
}

export async function status(args: string[]): Promise<void> {
  const { json } = parseStatusArgs(args);
  const client = runningStack();
  const supervisor = readState(new RunDir(runDirPath()).stateFile);
  const s = await collectStatus(client.topology, client, client.stats, undefined, supervisor);
  const last = await lastGood(client).catch(() => undefined);
  const backup = { lastGoodSeconds: last ?? null, text: backupAgeText(last, Date.now()) };
  const tls = client.file.tls
    ? certificateReport(dirname(client.file.tls.ca), client.topology, Date.now())
    : null;
  const lines = [formatStatus(s), `backup: ${backup.text}`, `tls: ${tls ? tls.text : 'off (plain text)'}`];
  process.stdout.write(
    json ? `${JSON.stringify({ ...s, backup, tls }, null, 2)}\n` : `${lines.join('\n')}\n`,
  );
}

const AFTER: Record<NodeAction, (name: string) => string> = {
  kill: () => ' (a crash: the supervisor starts it again)',
  stop: (name) => ` (it stays down until "ha-stack start ${name}")`,
  start: () => '',
  resume: () => '',
  restart: () => '',
};

export type NodeAction = 'kill' | 'stop' | 'start' | 'resume' | 'restart';

/** The node a command names: its one argument (checked against the nodes once the stack answers). */
export function parseNodeArgs(action: string, args: string[]): string {
  const [node] = parseCommandLine(
    args,
    {},
    { max: 1, min: 1, missing: `${action} needs a node name` },
  ).positionals;
  return checkNodeName(node!);
}

export async function nodeAction(action: NodeAction, args: string[]): Promise<void> {
  const node = parseNodeArgs(action, args);
  const client = runningStack();
  const name = await resolveNode(client, node);
  await client[action](name);
  process.stdout.write(`${action} ${name}: done${AFTER[action](name)}\n`);
}

export function parsePauseArgs(args: string[]): { node: string; seconds: number | undefined } {
  const [node, raw] = parseCommandLine(
    args,
    {},
    { max: 2, min: 1, missing: 'pause needs a node name' },
  ).positionals;
  const seconds = numberFlag(
    raw,
    (n) => n > 0 && n <= 3600,
    `seconds must be a number from 0 to 3600, got "${raw}"`,
  );
  return { node: checkNodeName(node!), seconds };
}

export async function pause(args: string[]): Promise<void> {
  const { node, seconds } = parsePauseArgs(args);
  const client = runningStack();
  const name = await resolveNode(client, node);
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

export async function failover(args: string[]): Promise<void> {
  parseCommandLine(args, {});
  const client = runningStack();
  const r = await client.failover();
  process.stdout.write(`failover: ${r.from} -> ${r.to} in ${r.ms} ms (writes were paused, none lost)\n`);
}

export function parseLogsArgs(args: string[]): { name: string; lines: number } {
  const names = knownNodeNames();
  const missing = `name a node: ${names.join(', ')}, launcher`;
  const [name, raw] = parseCommandLine(args, {}, { max: 2, min: 1, missing }).positionals;
  if (!(names.includes(name!) || name === 'launcher')) throw new UsageError(missing);
  const lines = numberFlag(
    raw,
    (n) => Number.isInteger(n) && n > 0,
    `lines must be a positive whole number, got "${raw}"`,
  );
  return { name: name!, lines: lines ?? 100 };
}

export async function logs(args: string[]): Promise<void> {
  const { name, lines } = parseLogsArgs(args);
  const file = new RunDir(runDirPath()).log(name);
  if (!existsSync(file)) throw new CliError(`no log for ${name} at ${file}`);
  const text = readFileSync(file, 'utf8').trimEnd().split('\n');
  process.stdout.write(`${text.slice(-lines).join('\n')}\n`);
}
