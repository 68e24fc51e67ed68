import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/**
 * Runs a deployment script as a container would: the test's own REDIS_*, SENTINEL_*, TLS_* and
 * MASTER_* variables left out, `env` added; its exit code and output, never a throw.
 */
export async function runScript(cmd: string, args: string[], env: Record<string, string>) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(REDIS_|SENTINEL_|TLS_|MASTER_)/.test(k)),
  );
  try {
    const { stdout, stderr } = await exec(cmd, args, { env: { ...clean, ...env }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
