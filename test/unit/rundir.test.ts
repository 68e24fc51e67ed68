import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isSameProcess, pidRecord } from '../../src/ops/supervisor/managed.ts';
import { AlreadyRunningError, RunDir, SECRET_FILES } from '../../src/ops/supervisor/rundir.ts';

const RUNDIR_MODULE = fileURLToPath(new URL('../../src/ops/supervisor/rundir.ts', import.meta.url));
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function fresh(): RunDir {
  const d = mkdtempSync(join(tmpdir(), 'rundir-unit-'));
  dirs.push(d);
  return new RunDir(join(d, 'run'));
}

const mode = (path: string) => statSync(path).mode & 0o777;

describe('RunDir layout and secrets', () => {
  it('lays out logs, pids and node folders, owner only', () => {
    const run = fresh();
    assert.equal(mode(join(run.dir, 'logs')), 0o700);
    assert.equal(mode(join(run.dir, 'pids')), 0o700);
    const node = run.nodeDir('redis-1');
    assert.equal(node, join(run.dir, 'nodes', 'redis-1'));
    assert.equal(mode(node), 0o700);
    assert.equal(run.log('app'), join(run.dir, 'logs', 'app.log'));
    assert.equal(run.pid('app'), join(run.dir, 'pids', 'app.pid'));
    assert.equal(run.lockFile, join(run.dir, 'launcher.pid'));
    assert.equal(run.stateFile, join(run.dir, 'supervisor.json'));
    assert.equal(run.controlSocket, join(run.dir, 'control.sock'));
  });

  it('generates a secret once, private, and reuses it afterwards', () => {
    const run = fresh();
    assert.equal(run.readSecret('x.secret'), undefined);
    const first = run.secret('x.secret', 24);
    assert.match(first, /^[A-Za-z0-9_-]{32}$/, '24 random bytes in base64url');
    assert.equal(readFileSync(join(run.dir, 'x.secret'), 'utf8'), `${first}\n`);
    assert.equal(mode(join(run.dir, 'x.secret')), 0o600);
    assert.equal(run.secret('x.secret'), first);
    assert.equal(run.readSecret('x.secret'), first);
    assert.match(run.secret('y.secret'), /^[A-Za-z0-9_-]{32}$/, 'default: 24 bytes');
    assert.notEqual(run.secret('z.secret'), first);
  });

  it('reads an empty secret file as no secret', () => {
    const run = fresh();
    writeFileSync(join(run.dir, 'e.secret'), '\n');
    assert.equal(run.readSecret('e.secret'), undefined);
  });

  it('replaces a secret at once, leaving no temporary file', () => {
    const run = fresh();
    run.secret('r.password');
    writeFileSync(join(run.dir, 'r.password.tmp'), 'left by a crash');
    run.writeSecret('r.password', 'new-value');
    assert.equal(run.readSecret('r.password'), 'new-value');
    assert.equal(readFileSync(join(run.dir, 'r.password'), 'utf8'), 'new-value\n');
    assert.equal(mode(join(run.dir, 'r.password')), 0o600);
    assert.equal(existsSync(join(run.dir, 'r.password.tmp')), false);
  });

  it('keeps one 32-byte password per Redis user and one for Sentinel, stable across calls', () => {
    const run = fresh();
    const s = run.secrets();
    assert.deepEqual(Object.keys(s.redis).sort(), Object.keys(SECRET_FILES.redis).sort());
    for (const [user, value] of Object.entries(s.redis)) {
      assert.match(value, /^[A-Za-z0-9_-]{43}$/, user);
      assert.equal(run.readSecret(`redis.${user}.password`), value);
    }
    assert.equal(SECRET_FILES.sentinel, 'sentinel.password');
    assert.equal(run.readSecret('sentinel.password'), s.sentinel);
    assert.equal(new Set([...Object.values(s.redis), s.sentinel]).size, Object.keys(s.redis).length + 1);
    assert.deepEqual(run.secrets(), s);
  });
});

describe('RunDir.makePrivate', () => {
  it('makes the stack files and folders owner only, and leaves other files alone', () => {
    const run = fresh();
    chmodSync(run.dir, 0o755);
    chmodSync(join(run.dir, 'logs'), 0o755);
    const files = ['logs/app.log', 'a.password', 'b.secret', 'c.previous', 'd.json', 'e.tmp'];
    for (const f of files) writeFileSync(join(run.dir, f), 'x', { mode: 0o644 });
    writeFileSync(join(run.dir, 'notes.txt'), 'x', { mode: 0o644 });
    mkdirSync(join(run.dir, 'other'), { mode: 0o755 });
    writeFileSync(join(run.dir, 'other', 'f.password'), 'x', { mode: 0o644 });
    run.makePrivate();
    assert.equal(mode(run.dir), 0o700);
    assert.equal(mode(join(run.dir, 'logs')), 0o700);
    for (const f of files) assert.equal(mode(join(run.dir, f)), 0o600, f);
    assert.equal(mode(join(run.dir, 'notes.txt')), 0o644);
    assert.equal(mode(join(run.dir, 'other')), 0o755);
    assert.equal(mode(join(run.dir, 'other', 'f.password')), 0o644);
  });

  it('keeps the mode of a shared directory (sticky bit)', () => {
    const run = fresh();
    chmodSync(run.dir, 0o1777);
    run.makePrivate();
    assert.equal(statSync(run.dir).mode & 0o7777, 0o1777);
  });
});

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
