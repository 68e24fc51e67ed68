// A backup's processes run at the lowest CPU priority (src/ops/backup/priority.ts): its tools, and
// the fork a replica on this machine makes to stream its data set. Real processes, their nice
// value read back from /proc.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sha256File } from '../../src/ops/backup/manifest.ts';
import { BACKGROUND_NICE, childrenOf, forksInBackground, paced } from '../../src/ops/backup/priority.ts';
import { localPid } from '../../src/ops/backup/take.ts';
import { runProgram } from '../../src/ops/backup/tools.ts';
import { until } from '../helpers/until.ts';

/** The fields of /proc/PID/stat after the command's parenthesis: [0] the state (R, S, T stopped...), [16] the nice value. */
function statOf(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}
const stateOf = (pid: number) => statOf(pid)[0]!;
const niceOf = (pid: number) => Number(statOf(pid)[16]);

describe('a backup in the background', () => {
  it("runs the backup's tools at nice 19, a restore's at the normal priority", async () => {
    // The priority is set just after the spawn: the shell reads its own until it shows (a second at most).
    const r = await runProgram(
      '/bin/sh',
      [
        '-c',
        'for i in $(seq 50); do n=$(cut -d" " -f19 /proc/$$/stat); [ "$n" = 19 ] && break; sleep 0.02; done; echo $n',
      ],
      {},
      { background: true },
    );
    assert.equal(r.code, 0);
    assert.equal(Number(r.output.trim()), BACKGROUND_NICE);
    // A restore's tools run at full speed: the site is closed while it runs.
    const restore = await runProgram('/bin/sh', ['-c', 'cut -d" " -f19 /proc/$$/stat']);
    assert.equal(Number(restore.output.trim()), 0);
  });

  it('lowers every child a server forks while the copy runs, and leaves the server as it is', async () => {
    const parent = spawn('/bin/bash', ['-c', 'sleep 1 & sleep 1 & wait'], { stdio: 'ignore' });
    try {
      let kids: number[] = [];
      // The copy: done once both children exist and are lowered, or at a deadline (the asserts
      // below then say what was seen).
      const deadline = Date.now() + 5000;
      const copy = new Promise<void>((resolve) => {
        const look = setInterval(() => {
          kids = childrenOf(parent.pid!);
          const lowered = kids.length === 2 && kids.every((k) => niceOf(k) === BACKGROUND_NICE);
          if (lowered || Date.now() > deadline) {
            clearInterval(look);
            resolve();
          }
        }, 10);
      });
      await forksInBackground(parent.pid, copy, 5);
      assert.deepEqual(
        kids.map((k) => niceOf(k)),
        [BACKGROUND_NICE, BACKGROUND_NICE],
      );
      assert.equal(niceOf(parent.pid!), 0, 'the server itself keeps its priority');
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('knows the pid of a node only on this machine', () => {
    const info = 'redis_version:7.0.15\r\nprocess_id:4242\r\n';
    assert.equal(localPid('127.0.0.12', info), 4242);
    assert.equal(localPid('198.18.0.12', info), undefined, 'another host: its pid means nothing here');
    assert.equal(localPid('127.0.0.12', 'redis_version:7.0.15\r\n'), undefined);
  });

  it("hashes a backup's file in a process of its own, with the digest the file has", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ha-stack-hash-'));
    try {
      const file = join(dir, 'copy.rdb');
      // Over one read of the child (1 MiB), so that its chunks are joined in order.
      const data = Buffer.alloc(3 * 2 ** 20 + 17, 0);
      for (let i = 0; i < data.length; i += 4093) data[i] = i % 251;
      writeFileSync(file, data);
      const want = createHash('sha256').update(data).digest('hex');
      assert.equal(await sha256File(file, { background: true }), want);
      assert.equal(await sha256File(file), want);
      await assert.rejects(sha256File(join(dir, 'missing.rdb')), /cannot hash .*missing\.rdb: .*ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs a paced process by turns, stopped and running, and lets it run on when released', async () => {
    const child = spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
    const exited = new Promise((r) => child.once('exit', r));
    try {
      const release = paced(child.pid, { runMs: 20, pauseMs: 20 });
      await until(() => stateOf(child.pid!) === 'T', 10_000, 'stopped by the pace');
      await until(() => stateOf(child.pid!) !== 'T', 10_000, 'running again by the pace');
      await until(() => stateOf(child.pid!) === 'T', 10_000, 'stopped once more');
      release();
      assert.notEqual(stateOf(child.pid!), 'T', 'released: it runs on');
      // No pause comes after the release.
      let seen = 0;
      await until(
        () => {
          assert.notEqual(stateOf(child.pid!), 'T', 'stopped after its release');
          return ++seen >= 40;
        },
        10_000,
        '40 looks after the release',
      );
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
  });
});
