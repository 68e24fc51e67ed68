import { join } from 'node:path';
import { type Env, reader } from '../../config/settings.ts';
import { ControlClient, type StackFile } from '../control.ts';
import { OPS_SETTINGS } from '../settings.ts';
import { isInside, readPrivate } from '../supervisor/private-files.ts';
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

/**
 * The launcher's stack.json in this run directory (checked as the run directory is: the user's
 * own, no link), or undefined when there is none. The files and the socket it names must lie inside
 * the run directory: they are read, and the socket is talked to, on its word.
 */
export function readStackFile(run: RunDir): StackFile | undefined {
  const file = stackFilePath(run);
  let text: string;
  try {
    text = readPrivate(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let parsed: StackFile;
  try {
    parsed = JSON.parse(text) as StackFile;
  } catch {
    throw new CliError(`${file} is not valid JSON; remove it ("ha-stack down") and start the stack again`);
  }
  const paths = ['passwordFile', 'sentinelPasswordFile', 'operatorPasswordFile', 'controlSocket'] as const;
  for (const key of paths) {
    const path = parsed[key];
    if (typeof path !== 'string' || !isInside(run.dir, path))
      throw new CliError(
        `${file} names ${key} ${JSON.stringify(path)}, not a file inside ${run.dir}; refusing it`,
      );
  }
  return parsed;
}

/** The running stack of this run directory, or a clear error when none runs. */
export function runningStack(): ControlClient {
  const run = new RunDir(runDirPath());
  const parsed = run.launcher() ? readStackFile(run) : undefined;
  if (!parsed) {
    throw new CliError(
      `no stack is running from ${run.dir}; start one with "npm start" or "ha-stack up --detach"`,
    );
  }
  if (!parsed.ready) throw new CliError('the stack is still starting; try again in a moment');
  return new ControlClient(parsed);
}

/**
 * The node names of the stack of this run directory: the running (or last) stack's own, else those
 * of the counts in the environment (REDIS_NODES, SENTINELS, APPS).
 */
export function knownNodeNames(env = process.env): string[] {
  const file = readStackFile(new RunDir(runDirPath(env)));
  if (file) return nodeNames(file.topology);
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
