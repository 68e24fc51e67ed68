import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isSameProcess, pidRecord } from '../../src/ops/supervisor/managed.ts';
import { RunDir } from '../../src/ops/supervisor/rundir.ts';

const RUNDIR_MODULE = fileURLToPath(new URL('../../src/ops/supervisor/rundir.ts', import.meta.url));
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Another launcher: a separate Node process that tries to take the run directory's lock. */
function otherLauncher(dir: string): Promise<{ code: number; out: string }> {
  const script = `
    const { RunDir } = await import(${JSON.stringify(RUNDIR_MODULE)});
    try {
      const cleaned = await new RunDir(${JSON.stringify(dir)}).acquire();
      console.log('acquired', JSON.stringify(cleaned));
    } catch (err) {
      console.log('refused', err.name);
    }`;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      { timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? 1 : 0, out: `${stdout}${stderr}`.trim() }),
    );
  });
}

describe('the launcher lock across processes', () => {
  it('a second launcher is refused while one runs, and touches neither the lock nor its processes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ha-stack-lock-'));
    dirs.push(dir);
    const run = new RunDir(dir);
    assert.deepEqual(await run.acquire(), []);
    // A process of the running stack, recorded as the supervisor records its processes.
    const node = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const record = pidRecord(node.pid!, 'sleep');
      writeFileSync(run.pid('redis-1'), JSON.stringify(record));
      const lock = readFileSync(run.lockFile, 'utf8');

      const second = await otherLauncher(dir);
      assert.equal(second.out, 'refused AlreadyRunningError');
      assert.ok(isSameProcess(record), "the running stack's process is alive");
      assert.equal(readFileSync(run.lockFile, 'utf8'), lock, 'the lock is still the first launcher’s');
      assert.equal(readFileSync(run.pid('redis-1'), 'utf8'), JSON.stringify(record), 'its pid file kept');

      // Once the first launcher is gone its lock is stale: the next one takes it and cleans up.
      run.release();
      const third = await otherLauncher(dir);
      assert.equal(third.out, 'acquired ["redis-1"]');
      assert.ok(!isSameProcess(record), 'a leftover of a launcher that is gone is stopped');
    } finally {
      node.kill('SIGKILL');
    }
  });
});
