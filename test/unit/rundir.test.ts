import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CliError, readStackFile, stackFilePath } from '../../src/ops/commands/context.ts';
import { isSameProcess, pidRecord } from '../../src/ops/supervisor/managed.ts';
import { openLog, readPrivate, UnsafeRunDirError } from '../../src/ops/supervisor/private-files.ts';
import { RunDir, SECRET_FILES } from '../../src/ops/supervisor/rundir.ts';

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
});

const root = process.getuid?.() === 0;
const NOBODY = 65534;

/** A temporary folder of this user's (0700) to put run directories in. */
function base(): string {
  const d = mkdtempSync(join(tmpdir(), 'rundir-trust-'));
  dirs.push(d);
  return d;
}

/** Refused, naming the run directory, the entry, and the reason. */
function refused(dir: string, path: string, reason: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof UnsafeRunDirError, String(err));
    assert.equal(err.dir, dir);
    assert.equal(err.path, path);
    assert.match(err.reason, reason);
    assert.ok(err.message.startsWith(`refusing the run directory ${dir}: ${path} `), err.message);
    return true;
  };
}

describe('RunDir: the running user’s alone, or refused', () => {
  it('makes a missing run directory (and its parents) private', () => {
    const dir = join(base(), 'a', 'run');
    const old = process.umask(0);
    try {
      new RunDir(dir);
    } finally {
      process.umask(old);
    }
    assert.equal(mode(dir), 0o700);
    assert.equal(mode(join(dir, '..')), 0o700);
    assert.equal(mode(join(dir, 'logs')), 0o700);
  });

  it('refuses a run directory, or any entry in it, that belongs to another user', (t) => {
    if (!root) return t.skip('needs root to give files to nobody (uid 65534)');
    // Made in advance by nobody, with the secrets the stack would adopt.
    const dir = join(base(), 'planted');
    mkdirSync(join(dir, 'pids'), { recursive: true, mode: 0o700 });
    writeFileSync(join(dir, 'session.secret'), 'chosen-by-nobody\n', { mode: 0o600 });
    writeFileSync(join(dir, 'redis.operator.password'), 'chosen-by-nobody\n', { mode: 0o600 });
    for (const p of ['', 'pids', 'session.secret', 'redis.operator.password'])
      chownSync(join(dir, p), NOBODY, NOBODY);
    assert.throws(() => new RunDir(dir), refused(dir, dir, /belongs to uid 65534, not to uid 0/));
    assert.equal(existsSync(join(dir, 'logs')), false, 'nothing made in it');

    // The folder is root's, one file in it nobody's (deep down too).
    chownSync(dir, 0, 0);
    chownSync(join(dir, 'pids'), 0, 0);
    assert.throws(() => new RunDir(dir), refused(dir, join(dir, 'redis.operator.password'), /uid 65534/));
    chownSync(join(dir, 'redis.operator.password'), 0, 0);
    chownSync(join(dir, 'session.secret'), 0, 0);
    const deep = join(dir, 'nodes', 'redis-1', 'appendonlydir');
    mkdirSync(deep, { recursive: true, mode: 0o700 });
    writeFileSync(join(deep, 'a.aof'), '', { mode: 0o600 });
    chownSync(join(deep, 'a.aof'), NOBODY, NOBODY);
    assert.throws(() => new RunDir(dir), refused(dir, join(deep, 'a.aof'), /uid 65534/));
    chownSync(join(deep, 'a.aof'), 0, 0);
    assert.equal(new RunDir(dir).readSecret('session.secret'), 'chosen-by-nobody', 'all root’s: used');
  });

  it('refuses a folder above it that another user owns', (t) => {
    if (!root) return t.skip('needs root to give a folder to nobody (uid 65534)');
    const parent = join(base(), 'nobodys');
    mkdirSync(parent, { mode: 0o755 });
    chownSync(parent, NOBODY, NOBODY);
    const dir = join(parent, 'run');
    assert.throws(() => new RunDir(dir), refused(dir, parent, /belongs to uid 65534/));
  });

  it('refuses a symbolic link, in it or as it', () => {
    const run = fresh();
    const target = join(base(), 'target');
    writeFileSync(target, 'untouched');
    symlinkSync(target, run.log('redis-1'));
    assert.throws(() => new RunDir(run.dir), refused(run.dir, run.log('redis-1'), /symbolic link/));
    const link = join(base(), 'link');
    symlinkSync(run.dir, link);
    assert.throws(() => new RunDir(link), refused(link, link, /symbolic link/));
    assert.equal(readFileSync(target, 'utf8'), 'untouched');
  });

  it('refuses what its group or others may write, the run directory itself too (as /tmp)', () => {
    const run = fresh();
    writeFileSync(join(run.dir, 'session.secret'), 'x\n');
    chmodSync(join(run.dir, 'session.secret'), 0o620);
    assert.throws(() => new RunDir(run.dir), refused(run.dir, join(run.dir, 'session.secret'), /mode 0620/));
    chmodSync(join(run.dir, 'session.secret'), 0o600);
    chmodSync(join(run.dir, 'pids'), 0o777);
    assert.throws(() => new RunDir(run.dir), refused(run.dir, join(run.dir, 'pids'), /mode 0777/));
    chmodSync(join(run.dir, 'pids'), 0o700);
    chmodSync(run.dir, 0o1777);
    assert.throws(() => new RunDir(run.dir), refused(run.dir, run.dir, /writable by its group or by others/));
  });

  it('opens its files without following a link planted after the check', () => {
    const run = fresh();
    const target = join(base(), 'target');
    writeFileSync(target, 'untouched');
    symlinkSync(target, run.log('redis-1'));
    assert.throws(() => openLog(run.log('redis-1')), /ELOOP/);
    symlinkSync(target, join(run.dir, 'session.secret'));
    assert.throws(() => run.secret('session.secret'), /ELOOP/);
    assert.throws(() => readPrivate(join(run.dir, 'session.secret')), /ELOOP/);
    // A replaced secret replaces the link itself, never what it points to.
    run.writeSecret('session.secret', 'new');
    assert.equal(run.readSecret('session.secret'), 'new');
    assert.equal(readFileSync(target, 'utf8'), 'untouched');
  });

  it('does not kill the process of a planted record without the program file (older versions)', async () => {
    const run = fresh();
    const victim = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const { exe: _, ...old } = pidRecord(victim.pid!, 'sleep');
      writeFileSync(run.pid('redis-1'), JSON.stringify({ ...old, comm: 'sleep' }));
      assert.deepEqual(await run.cleanStale(), [], 'nothing killed');
      assert.ok(isSameProcess(pidRecord(victim.pid!, 'sleep')), 'the process is alive');
      assert.equal(existsSync(run.pid('redis-1')), false, 'the record is dropped');
    } finally {
      victim.kill('SIGKILL');
    }
  });

  it('takes stack.json only with every file it names inside the run directory', () => {
    const run = fresh();
    const file = {
      passwordFile: join(run.dir, 'redis.operator.password'),
      sentinelPasswordFile: join(run.dir, 'sentinel.password'),
      operatorPasswordFile: join(run.dir, 'operator.password'),
      controlSocket: join(run.dir, 'control.sock'),
      ready: true,
    };
    writeFileSync(stackFilePath(run), JSON.stringify(file), { mode: 0o600 });
    assert.equal(readStackFile(run)?.controlSocket, file.controlSocket);
    for (const [key, path] of [
      ['passwordFile', '/etc/shadow'],
      ['sentinelPasswordFile', join(run.dir, '..', 'x.password')],
      ['controlSocket', '/tmp/other.sock'],
      ['operatorPasswordFile', run.dir],
    ]) {
      writeFileSync(stackFilePath(run), JSON.stringify({ ...file, [key as string]: path }));
      assert.throws(
        () => readStackFile(run),
        (err: unknown) =>
          err instanceof CliError &&
          err.message.includes(`names ${key} "${path}", not a file inside ${run.dir}`),
      );
    }
  });
});
