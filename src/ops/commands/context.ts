import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Env, reader } from '../../config/settings.ts';
import { ControlClient, type StackFile } from '../control.ts';
import { OPS_SETTINGS } from '../settings.ts';
import { RunDir } from '../supervisor/rundir.ts';
import { REPO_ROOT } from '../supervisor/supervisor.ts';
import { countsFromEnv, defineTopology, nodeNames } from '../topology.ts';

/** A mistake in the command line: printed with the usage, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A known failure that needs no stack trace: printed as a message, exit code 1. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

export function runDirPath(env: Env = process.env): string {
  return reader(env, OPS_SETTINGS)('HA_STACK_RUN_DIR') ?? join(REPO_ROOT, '.run');
}

export function stackFilePath(run: RunDir): string {
  return join(run.dir, 'stack.json');
}

/** The running stack of this run directory, or a clear error when none runs. */
export function runningStack(): ControlClient {
  const run = new RunDir(runDirPath());
  const file = stackFilePath(run);
  if (!run.launcher() || !existsSync(file)) {
    throw new CliError(
      `no stack is running from ${run.dir}; start one with "npm start" or "ha-stack up --detach"`,
    );
  }
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as StackFile;
  if (!parsed.ready) throw new CliError('the stack is still starting; try again in a moment');
  return new ControlClient(parsed);
}

/**
 * The node names of the stack of this run directory: the running (or last) stack's own, else those
 * of the counts in the environment (REDIS_NODES, SENTINELS, APPS).
 */
export function knownNodeNames(env = process.env): string[] {
  const file = stackFilePath(new RunDir(runDirPath(env)));
  if (existsSync(file)) return nodeNames((JSON.parse(readFileSync(file, 'utf8')) as StackFile).topology);
  try {
    return nodeNames(defineTopology({ counts: countsFromEnv(env) }));
  } catch (err) {
    throw new CliError(err instanceof Error ? err.message : String(err));
  }
}

/** A node name as the command line may give it: one of the stack's nodes, or `master`. */
export function checkNodeName(name: string, names: string[] = knownNodeNames()): string {
  if (name !== 'master' && !names.includes(name))
    throw new UsageError(`unknown node "${name}" (one of: master, ${names.join(', ')})`);
  return name;
}

/** A node name from the command line; `master` means whichever Redis node is master now. */
export async function resolveNode(client: ControlClient, name: string | undefined): Promise<string> {
  if (!name) throw new UsageError('name a node');
  if (checkNodeName(name) !== 'master') return name;
  const m = await client.currentMaster();
  if (!m) throw new CliError('the Sentinels name no master right now');
  return m.name;
}
