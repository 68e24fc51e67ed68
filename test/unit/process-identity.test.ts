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

/** What the previous version wrote: the command name instead of the program file. */
function oldRecord(rec: PidRecord, comm: string): PidRecord {
  return { pid: rec.pid, start: rec.start, comm, command: rec.command };
}

describe('process identity', () => {
  it('recognises a live child from its record, and no longer once it has exited', async () => {
    const child = idle();
    const rec = pidRecord(child.pid, 'idle');
    assert.equal(rec.exe, realpathSync(process.execPath), 'the program file, read right after spawn');
    assert.equal(rec.comm, undefined);
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
    const old = oldRecord(rec, 'node');
    await trigger(child);
    assert.equal(processComm(child.pid), 'MainThread');
    assert.equal(isSameProcess(rec), true);
    assert.equal(isSameProcess(old), true, 'a record of the previous version: argv[0] is still node');
    assert.equal(isSameProcess(oldRecord(rec, 'redis-server')), false);
  });

  it('still knows a process that rewrote its command line, as Redis does with its title', async () => {
    const child = idle(`process.title = 'retitled 127.0.0.1:6379'`);
    const rec = pidRecord(child.pid, 'idle');
    await trigger(child);
    assert.equal(processArgv(child.pid)?.[0], 'retitled 127.0.0.1:6379');
    assert.equal(isSameProcess(rec), true);
    assert.equal(isSameProcess({ ...rec, start: '1' }), false);
  });

  it('accepts records of the previous version (command name, no program file) only when it matches', () => {
    const rec = pidRecord(idle().pid, 'idle');
    assert.equal(isSameProcess(oldRecord(rec, processComm(rec.pid)!)), true);
    assert.equal(isSameProcess(oldRecord(rec, 'node')), true);
    assert.equal(isSameProcess(oldRecord(rec, 'redis-server')), false);
    assert.equal(isSameProcess({ ...oldRecord(rec, 'node'), start: '1' }), false);
  });
});
