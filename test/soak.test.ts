import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../src/ops/supervisor/supervisor.ts';
import type { SoakResult } from '../src/tools/soak/run.ts';
import { freePorts, portEnv, tempRunDir } from './helpers/stack.ts';

const CLI = join(REPO_ROOT, 'bin/ha-stack.js');

/**
 * A bounded soak through the command, as `npm run soak` runs it but short: a stack started with
 * `ha-stack up --detach` (free ports, the app's default per-address limits), 45 s of the mixed
 * load in 10 s intervals with one master kill, then the JSON it writes. `ha-stack down` stops
 * the stack afterwards, whatever happened.
 */
describe('ha-stack soak', () => {
  const dir = tempRunDir('soak');
  const json = join(dir, 'soak.json');
  const env: Record<string, string> = { ...(process.env as Record<string, string>), HA_STACK_RUN_DIR: dir };
  const cli = (args: string[]) =>
    promisify(execFile)(process.execPath, [CLI, ...args], { env, cwd: REPO_ROOT });

  before(async () => {
    Object.assign(env, portEnv(await freePorts()));
    await cli(['up', '--detach']);
  });
  after(async () => {
    await cli(['down']).catch((err: Error) => process.stderr.write(`down: ${err.message}\n`));
    if (!process.env['KEEP_RUN_DIRS']) rmSync(dir, { recursive: true, force: true });
  });

  it('runs the mixed load with a master kill: figures every interval, nothing failed, nothing lost, exit 0', async () => {
    const args = [
      '--minutes',
      '0.75',
      '--kill-every',
      '0.5',
      '--interval',
      '10',
      '--visit',
      '12',
      '--users',
      '8',
    ];
    const child = spawn(process.execPath, [CLI, 'soak', ...args, '--json', json], {
      env,
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c));
    child.stderr.on('data', (c: Buffer) => (out += c));
    // The soak owns no process of the stack: stopping it on a timeout leaves nothing behind.
    const timer = setTimeout(() => child.kill('SIGTERM'), 150_000);
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    clearTimeout(timer);
    process.stdout.write(out);
    assert.equal(code, 0, out);
    assert.match(
      out,
      /^ until +req\/s +p99 ms +failed +acked +logins +regs +app-1 MB +app-2 MB +redis MB +conns +master$/m,
    );
    assert.match(out, /soak: every target met/);

    const result = JSON.parse(readFileSync(json, 'utf8')) as SoakResult & {
      machine: { nproc: number };
      args: { minutes: number };
    };
    assert.ok(result.machine.nproc >= 1);
    assert.equal(result.args.minutes, 0.75);
    assert.ok(result.rows.length >= 4 && result.rows.length <= 6, `rows: ${result.rows.length}`);
    for (const r of result.rows) {
      assert.ok(r.reqPerS > 0, `interval ${r.index}: req/s`);
      for (const app of ['app-1', 'app-2'])
        assert.ok((r.appRssMb[app] ?? 0) > 10, `interval ${r.index}: ${app} RSS`);
      assert.ok((r.redisUsedMemoryMb ?? 0) > 0, `interval ${r.index}: Redis used_memory`);
      assert.ok((r.redisConnectedClients ?? 0) > 0, `interval ${r.index}: Redis connections`);
    }
    assert.equal(result.kills.length, 1, 'one master kill');
    const [kill] = result.kills;
    assert.ok(kill!.promoted && kill!.promoted !== kill!.killed, 'another node was promoted');
    assert.ok(kill!.wholeAfterS !== null, 'the stack was whole again by itself');
    assert.equal(result.rows.filter((r) => r.kill).length, 1, 'the kill is in its interval');
    assert.notEqual(result.rows[0]!.master, result.rows.at(-1)!.master, 'the master changed');

    const t = result.totals;
    assert.equal(t.failedReads + t.failedWrites, 0, JSON.stringify(t.failedWhy));
    assert.ok(t.writesAcked > 0 && t.logins > 0 && t.registrations > 0, JSON.stringify(t));
    assert.ok(result.check, 'the data was read back');
    assert.equal(result.check.writesLost, 0, result.check.examples.join('; '));
    assert.equal(result.check.phantomWrites, 0, result.check.examples.join('; '));
    assert.equal(result.check.sessionsLost, 0, result.check.examples.join('; '));
    assert.equal(result.check.accountsLost, 0, result.check.examples.join('; '));
    assert.ok(result.check.sessionsChecked > 0 && result.check.accountsChecked > 8);
    assert.equal(result.growth.judged, false, 'too short to judge growth');
    assert.deepEqual(result.missed, []);
    assert.equal(result.passed, true);
  });
});
