import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { realpathSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import {
  isSameProcess,
  type PidRecord,
  pidRecord,
  processArgv,
  processComm,
  processStartTime,
} from '../../src/ops/supervisor/managed.ts';

const children: ChildProcess[] = [];
after(() => {
  for (const child of children) child.kill('SIGKILL');
});

/**
 * A Node child that idles; on a line on its stdin it runs `onLine` (a renaming), then answers
 * "done", so a test can take its record first and the renaming surely happens after.
 */
function idle(onLine = ''): ChildProcess & { pid: number } {
  const script = `process.stdin.once('data', () => { ${onLine}; console.log('done'); }); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  assert.ok(child.pid, 'the child started');
  return child as ChildProcess & { pid: number };
}

async function trigger(child: ChildProcess): Promise<void> {
  child.stdin!.write('go\n');
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  assert.equal(line.toString().trim(), 'done');
}

/** What older versions wrote: the command name instead of the program file. */
function oldRecord(rec: PidRecord, comm: string): PidRecord {
  return { pid: rec.pid, start: rec.start, comm, command: rec.command } as PidRecord;
}

describe('process identity', () => {
  it('recognises a live child from its record, and no longer once it has exited', async () => {
    const child = idle();
    const rec = pidRecord(child.pid, 'idle');
    assert.equal(rec.exe, realpathSync(process.execPath), 'the program file, read right after spawn');
    assert.equal(isSameProcess(rec), true);
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
    assert.equal(processStartTime(child.pid), undefined, 'reaped');
    assert.equal(isSameProcess(rec), false);
  });

  it('rejects a record whose start time differs: the pid was reused', () => {
    const rec = pidRecord(idle().pid, 'idle');
    assert.equal(isSameProcess(rec), true);
    assert.equal(isSameProcess({ ...rec, start: String(Number(rec.start) - 1) }), false);
    assert.equal(isSameProcess({ ...rec, start: '' }), false);
  });

  it('rejects a record whose program file differs: the process runs another program now', () => {
    const rec = pidRecord(idle().pid, 'idle');
    assert.equal(isSameProcess(rec), true);
    assert.equal(isSameProcess({ ...rec, exe: '/usr/bin/redis-check-rdb' }), false);
  });

  it('still knows a process that renamed its main thread, as Node 24 does ("MainThread")', async () => {
    const child = idle(`require('node:fs').writeFileSync('/proc/self/comm', 'MainThread')`);
    const rec = pidRecord(child.pid, 'idle');
    await trigger(child);
    assert.equal(processComm(child.pid), 'MainThread');
    assert.equal(isSameProcess(rec), true);
  });

  it('still knows a process that rewrote its command line, as Redis does with its title', async () => {
    const child = idle(`process.title = 'retitled 127.0.0.1:6379'`);
    const rec = pidRecord(child.pid, 'idle');
    await trigger(child);
    assert.equal(processArgv(child.pid)?.[0], 'retitled 127.0.0.1:6379');
    assert.equal(isSameProcess(rec), true);
    assert.equal(isSameProcess({ ...rec, start: '1' }), false);
  });

  it('never takes a record without the program file (as older versions wrote) for a live process', () => {
    // Everything in it can be read from /proc by anybody: pid, start time, command name.
    const rec = pidRecord(idle().pid, 'idle');
    assert.equal(isSameProcess(oldRecord(rec, processComm(rec.pid)!)), false);
    assert.equal(isSameProcess(oldRecord(rec, 'node')), false);
    assert.equal(isSameProcess({ ...rec, exe: '' }), false);
    assert.equal(isSameProcess({ ...rec, exe: 42 } as unknown as PidRecord), false);
    assert.equal(isSameProcess(rec), true, 'the full record still names it');
  });

  it("never takes another user's process for ours, even with pid, start time and program file", (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root to start a process as nobody');
    const other = spawn('sleep', ['60'], { uid: 65534, gid: 65534, stdio: 'ignore' });
    children.push(other);
    const start = processStartTime(other.pid!)!;
    const exe = realpathSync('/usr/bin/sleep');
    assert.equal(isSameProcess({ pid: other.pid!, start, exe, command: 'sleep' }), false);
  });
});
