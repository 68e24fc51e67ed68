// The run directory is the stack's own: one made in advance by another local user (in a folder
// anybody may write to, as /tmp) is refused by `ha-stack up`, `status` and `down`, and a pid record
// planted there (or an old-style one anywhere) never gets a process of root's killed.
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { processStartTime } from '../src/ops/supervisor/managed.ts';
import { isPortFree } from '../src/ops/supervisor/ports.ts';
import { waitFor } from '../src/ops/supervisor/wait.ts';
import { localAddress, type PortName } from '../src/ops/topology.ts';
import { haStack } from './helpers/cli.ts';
import { freePorts, portEnv, tempDirs } from './helpers/stack.ts';

const _run = promisify(execFile);
const tempDir = tempDirs();

const cli = haStack;

const skipReason =
  process.getuid?.() !== 0
    ? 'needs root: the attack is a run directory of nobody (uid 65534) used by root'
    : spawnSync('runuser', ['--help']).error
      ? 'runuser is not installed'
      : undefined;

/** Runs a shell script as nobody; fails the test when it fails. */
function asNobody(script: string, ...args: string[]): string {
  const r = spawnSync('runuser', ['-u', 'nobody', '--', 'sh', '-c', script, 'sh', ...args], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, `as nobody: ${script}: ${r.stderr}`);
  return r.stdout;
}

/** A folder as /tmp is (1777, root's): nobody makes the run directory in it before root uses it. */
function sharedFolder(tag: string): string {
  const d = tempDir(tag);
  chmodSync(d, 0o1777);
  return d;
}

/** Stops a launcher the command may have started anyway (only when the check is missing). */
async function stopAnyLauncher(dir: string): Promise<void> {
  const lock = join(dir, 'launcher.pid');
  if (!existsSync(lock)) return;
  const { pid } = JSON.parse(readFileSync(lock, 'utf8')) as { pid: number };
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  await waitFor('the launcher to stop', () => processStartTime(pid) === undefined, { timeoutMs: 60_000 });
}

describe('a run directory made in advance by another user', { skip: skipReason }, () => {
  it('ha-stack up refuses it, names it and why, and starts nothing; status refuses it too', async () => {
    const dir = join(sharedFolder('planted-up'), 'run');
    asNobody(
      'umask 077; mkdir -p "$1/pids" && echo planted > "$1/session.secret" && echo planted > "$1/redis.operator.password"',
      dir,
    );
    const before = readdirSync(dir).sort();
    const ports = await freePorts();
    const env = { HA_STACK_RUN_DIR: dir, ...portEnv(ports) };
    try {
      const up = await cli(['up', '--detach'], env);
      assert.equal(up.code, 1, up.stdout);
      assert.equal(
        up.stderr.split('\n')[0],
        `ha-stack up: refusing the run directory ${dir}: ${dir} belongs to uid 65534, not to uid 0 that runs ` +
          'ha-stack. The run directory and everything in it must belong to the user running ha-stack, be no ' +
          'link, and be writable by that user alone; remove it or choose another directory (HA_STACK_RUN_DIR)',
      );
      assert.deepEqual(readdirSync(dir).sort(), before, 'no log, lock or config written there');
      for (const [name, port] of Object.entries(ports))
        assert.ok(await isPortFree(port, localAddress(name as PortName)), `nothing listens for ${name}`);
      const status = await cli(['status'], env);
      assert.equal(status.code, 1);
      assert.match(status.stderr, /^ha-stack status: refusing the run directory .* belongs to uid 65534/);
    } finally {
      await stopAnyLauncher(dir);
    }
  });

  it("ha-stack down kills no process of root's named by a planted or old-style pid record", async () => {
    const victim = spawn('sleep', ['300'], { stdio: 'ignore' });
    const pid = victim.pid!;
    try {
      // All nobody needs is world-readable: field 22 of /proc/<pid>/stat, and the command name.
      const stat = asNobody('cat "/proc/$1/stat"', String(pid));
      const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
      assert.equal(start, processStartTime(pid));
      const record = JSON.stringify({ pid, start, comm: 'sleep', command: 'redis-server' });

      const planted = join(sharedFolder('planted-down'), 'run');
      asNobody('umask 077; mkdir -p "$1/pids" && printf %s "$2" > "$1/pids/redis-1.pid"', planted, record);
      const down = await cli(['down'], { HA_STACK_RUN_DIR: planted });
      assert.equal(down.code, 1, down.stdout);
      assert.match(
        down.stderr,
        new RegExp(`^ha-stack down: refusing the run directory ${planted}: .*uid 65534`),
      );
      assert.equal(processStartTime(pid), start, 'the sleep is alive');

      // The same old-style record in a run directory of root's own (left by an older version).
      const own = join(tempDir('old-record'), 'run');
      mkdirSync(join(own, 'pids'), { recursive: true, mode: 0o700 });
      writeFileSync(join(own, 'pids', 'redis-1.pid'), record, { mode: 0o600 });
      const again = await cli(['down'], { HA_STACK_RUN_DIR: own });
      assert.equal(again.code, 0, again.stderr);
      assert.equal(again.stdout, `no stack was running from ${own}\n`);
      assert.equal(processStartTime(pid), start, 'the sleep is still alive');
      assert.equal(existsSync(join(own, 'pids', 'redis-1.pid')), false, 'the record is dropped');
    } finally {
      victim.kill('SIGKILL');
    }
  });
});
