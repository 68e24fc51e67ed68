/** Runs `bin/ha-stack.js` as an operator would, answering its exit code and output instead of throwing. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../src/ops/supervisor/process-set.ts';

const run = promisify(execFile);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export const haStack = (args: string[], env: Record<string, string> = {}): Promise<CliResult> =>
  run(process.execPath, [join(REPO_ROOT, 'bin/ha-stack.js'), ...args], {
    env: { ...process.env, ...env },
    cwd: REPO_ROOT,
  }).then(
    (r) => ({ code: 0, ...r }),
    (e: CliResult) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

/** Runs a command's function in this process with its standard output silenced (a render's "wrote ..." lines). */
export async function quietly(f: () => Promise<void>): Promise<void> {
  const write = process.stdout.write;
  process.stdout.write = () => true;
  try {
    await f();
  } finally {
    process.stdout.write = write;
  }
}
