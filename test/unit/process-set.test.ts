import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LiveSecrets } from '../../src/ops/supervisor/live-secrets.ts';
import type { ExitInfo } from '../../src/ops/supervisor/managed.ts';
import { ProcessSet, StackStoppingError } from '../../src/ops/supervisor/process-set.ts';
import { RunDir } from '../../src/ops/supervisor/rundir.ts';
import { StackStartError } from '../../src/ops/supervisor/stack-options.ts';
import { StateReport } from '../../src/ops/supervisor/state-report.ts';
import { waitFor } from '../../src/ops/supervisor/wait.ts';

const dirs: string[] = [];
const sets: ProcessSet[] = [];
after(async () => {
  for (const s of sets) await s.stopAll();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function runDir(): RunDir {
  const d = mkdtempSync(join(tmpdir(), 'ha-stack-process-set-'));
  dirs.push(d);
  return new RunDir(d);
}

/** A ProcessSet over Node children in a temporary run directory, with what it reported. */
function fixture() {
  const exits: [string, ExitInfo][] = [];
  let changes = 0;
  const run = runDir();
  const set = new ProcessSet({
    run,
    timeoutMs: 10_000,
    exited: (name, exit) => exits.push([name, exit]),
    changed: () => changes++,
  });
  sets.push(set);
  const idle = (name: string) =>
    set.launch(name, process.execPath, ['-e', 'console.log("up"); setInterval(() => {}, 1000)']);
  return { set, run, exits, idle, changes: () => changes };
}

describe('ProcessSet', () => {
  it('launches by name in start order, marks ready, and stops in reverse order', async () => {
    const f = fixture();
    f.idle('first');
    f.idle('second');
    assert.deepEqual(f.set.names, ['first', 'second']);
    assert.equal(f.set.process('first').status, 'starting');
    assert.ok(f.changes() >= 2, 'each launch is reported');
    await f.set.waitReady('first', 'nothing', async () => true);
    assert.equal(f.set.process('first').status, 'running');
    assert.equal(f.set.running('second'), true);
    await f.set.stopAll();
    assert.deepEqual(
      f.exits.map(([name, e]) => [name, e.requested]),
      [
        ['second', true],
        ['first', true],
      ],
    );
    assert.equal(f.set.running('first'), false);
  });

  it('tells a kill (a crash) from a stop, and names the unknown', async () => {
    const f = fixture();
    f.idle('p');
    await f.set.kill('p');
    await waitFor('the exit reported', () => f.exits.length === 1);
    assert.equal(f.exits[0]![1].requested, false);
    assert.equal(f.set.process('p').status, 'exited');
    assert.throws(() => f.set.process('q'), /unknown or not started: q \(known: p\)/);
  });

  it('pauses and resumes, reporting each', async () => {
    const f = fixture();
    f.idle('p');
    const before = f.changes();
    f.set.pause('p');
    assert.equal(f.set.process('p').status, 'paused');
    f.set.resume('p');
    assert.equal(f.set.process('p').status, 'running');
    assert.equal(f.changes(), before + 2);
    await f.set.stop('p');
  });

  it('gives up a readiness wait when the process exits, with the end of its log', async () => {
    const f = fixture();
    f.set.launch('bad', process.execPath, ['-e', 'console.log("cannot bind"); process.exit(3)']);
    const err = await f.set.waitReady('bad', 'a port', async () => false).catch((e: unknown) => e);
    assert.ok(err instanceof StackStartError);
    assert.equal(err.processName, 'bad');
    assert.match(err.message, /bad exited/);
    assert.match(err.logTail, /cannot bind/);
  });

  it('refuses every launch once closed', () => {
    const f = fixture();
    f.set.close();
    assert.equal(f.set.stopping, true);
    assert.throws(() => f.idle('late'), StackStoppingError);
  });
});

describe('StateReport', () => {
  it('shows a crashed process the operator holds as stopped and a restarting one by its phase, and writes the file on change', async () => {
    const f = fixture();
    const phases: Record<string, { phase: 'restarting' | undefined; restarts: number; held: boolean }> = {
      a: { phase: undefined, restarts: 0, held: true },
      b: { phase: 'restarting', restarts: 2, held: false },
    };
    const report = new StateReport({
      processes: f.set,
      healer: { state: (name) => phases[name]! },
      file: f.run.stateFile,
      log: () => undefined,
    });
    f.idle('a');
    f.idle('b');
    // Crashed, then stopped by the operator before its restart: it reads as stopped.
    await f.set.kill('a');
    await f.set.kill('b');
    const h = report.health();
    assert.equal(h['a']!.status, 'stopped');
    assert.equal(h['b']!.status, 'restarting');
    assert.equal(h['b']!.restarts, 2);
    assert.equal(h['b']!.lastExit?.signal, 'SIGKILL');
    report.changed();
    assert.deepEqual(report.state().nodes, h);
  });
});

describe('LiveSecrets', () => {
  it('keeps the session secret and operator password of the run directory across starts', () => {
    const run = runDir();
    const first = new LiveSecrets(run, undefined);
    const again = new LiveSecrets(new RunDir(run.dir), undefined);
    assert.equal(again.sessionSecret, first.sessionSecret);
    assert.equal(again.operatorPassword, first.operatorPassword);
    assert.deepEqual(again.passwords, first.passwords);
    assert.equal(first.sessionSecretGiven, false);
    assert.equal(first.sessionSecretPrevious, undefined);
  });

  it('takes a session secret given in the environment, with its previous one', () => {
    const s = new LiveSecrets(runDir(), { SESSION_SECRET: 'given', SESSION_SECRET_PREVIOUS: 'before' });
    assert.equal(s.sessionSecret, 'given');
    assert.equal(s.sessionSecretPrevious, 'before');
    assert.equal(s.sessionSecretGiven, true);
  });
});
