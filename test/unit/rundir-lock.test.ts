import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isSameProcess, pidRecord } from '../../src/ops/supervisor/managed.ts';
import { AlreadyRunningError, RunDir } from '../../src/ops/supervisor/rundir.ts';

const RUNDIR_MODULE = fileURLToPath(new URL('../../src/ops/supervisor/rundir.ts', import.meta.url));
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function fresh(): RunDir {
  const d = mkdtempSync(join(tmpdir(), 'rundir-lock-'));
  dirs.push(d);
  return new RunDir(join(d, 'run'));
}

const mode = (path: string) => statSync(path).mode & 0o777;

describe('RunDir lock in one process', () => {
  it('takes the lock, refuses it a second time in this process, and frees it on release', async () => {
    const run = fresh();
    assert.deepEqual(await run.acquire(), []);
    const rec = JSON.parse(readFileSync(run.lockFile, 'utf8'));
    assert.equal(rec.pid, process.pid);
    assert.equal(rec.command, 'launcher');
    assert.equal(mode(run.lockFile), 0o600);
    assert.equal(run.launcher()?.pid, process.pid);
    await assert.rejects(new RunDir(run.dir).acquire(), (err: unknown) => {
      assert.ok(err instanceof AlreadyRunningError);
      assert.equal(err.pid, process.pid);
      assert.equal(err.dir, run.dir);
      assert.equal(err.name, 'AlreadyRunningError');
      assert.match(
        err.message,
        /already running from .* \(launcher pid \d+\); stop it with "ha-stack down" first/,
      );
      return true;
    });
    writeFileSync(join(run.dir, 'control.sock'), '');
    run.release();
    assert.equal(existsSync(run.lockFile), false);
    assert.equal(existsSync(run.controlSocket), false);
    assert.equal(run.launcher(), undefined);
    assert.deepEqual(await run.acquire(), []);
    run.release();
  });

  it('takes over a stale lock and removes stale pid files', async () => {
    const run = fresh();
    // A lock and a pid file of processes that are gone (a start time no process has).
    const gone = JSON.stringify({ ...pidRecord(process.pid, 'launcher'), start: '1' });
    writeFileSync(run.lockFile, gone);
    writeFileSync(run.pid('redis-1'), JSON.stringify({ pid: process.pid, start: '1', command: 'redis' }));
    writeFileSync(run.pid('broken'), 'not json');
    writeFileSync(join(run.dir, 'pids', 'keep.txt'), 'not a pid file');
    assert.equal(run.launcher(), undefined);
    assert.equal(run.readPid('redis-1')?.start, '1');
    assert.equal(run.readPid('broken'), undefined);
    assert.deepEqual(await run.acquire(), []);
    assert.equal(JSON.parse(readFileSync(run.lockFile, 'utf8')).start, pidRecord(process.pid, 'x').start);
    assert.equal(existsSync(run.pid('redis-1')), false);
    assert.equal(existsSync(run.pid('broken')), false);
    assert.equal(existsSync(join(run.dir, 'pids', 'keep.txt')), true);
    run.release();
  });

  it('does not take a pid record without its start time as a live launcher', () => {
    const run = fresh();
    writeFileSync(run.lockFile, JSON.stringify({ pid: process.pid, command: 'launcher' }));
    assert.equal(run.launcher(), undefined);
    writeFileSync(
      run.lockFile,
      JSON.stringify({ pid: String(process.pid), start: '1', command: 'launcher' }),
    );
    assert.equal(run.launcher(), undefined);
  });
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
