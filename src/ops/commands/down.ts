import { isSameProcess } from '../supervisor/managed.ts';
import { RunDir } from '../supervisor/rundir.ts';
import { waitFor } from '../supervisor/wait.ts';
import { parseCommandLine } from './args.ts';
import { runDirPath } from './context.ts';

/** Stops the running launcher (which stops everything in reverse order) and cleans any leftovers. */
export async function down(args: string[]): Promise<void> {
  if (args.includes('--hosts'))
    return (await import('./hosts.ts')).downHosts(args.filter((a) => a !== '--hosts'));
  parseCommandLine(args, {});
  const run = new RunDir(runDirPath());
  const launcher = run.launcher();
  if (launcher) {
    process.kill(launcher.pid, 'SIGTERM');
    await waitFor(`launcher ${launcher.pid} to stop the stack`, () => !isSameProcess(launcher), {
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    process.stdout.write('stack stopped\n');
  }
  const cleaned = await run.cleanStale();
  if (cleaned.length)
    process.stdout.write(`killed leftovers of an earlier launcher: ${cleaned.join(', ')}\n`);
  run.release();
  if (!launcher && !cleaned.length) process.stdout.write(`no stack was running from ${run.dir}\n`);
}
