import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { isPortFree } from '../src/stack/process/ports.ts';
import { REPO_ROOT } from '../src/stack/process/supervisor.ts';
import { waitFor } from '../src/stack/process/wait.ts';
import { LOCAL_ADDRESSES, PORT_VARIABLES, type PortName } from '../src/stack/topology.ts';
import { freePorts, tempRunDir } from './helpers/stack.ts';

const run = promisify(execFile);

describe('the ha-stack command', () => {
  const cli = (args: string[], env: Record<string, string> = {}) =>
    run(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli.ts'), ...args], {
      env: { ...process.env, ...env },
      cwd: REPO_ROOT,
    }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => ({
        code: e.code,
        stdout: e.stdout,
        stderr: e.stderr,
      }),
    );

  it('answers bad arguments with usage and exit code 2', async () => {
    for (const args of [['bogus'], ['pause'], []]) {
      const r = await cli(args, { HA_STACK_RUN_DIR: tempRunDir('cli') });
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr + r.stdout, /usage: ha-stack/);
    }
    const none = await cli(['status'], { HA_STACK_RUN_DIR: tempRunDir('cli') });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no stack is running/);
  });

  it('cleans what a launcher killed with -9 left behind', async () => {
    const dir = tempRunDir('kill9');
    const ports = await freePorts();
    const env: Record<string, string> = { HA_STACK_RUN_DIR: dir };
    for (const [name, variable] of Object.entries(PORT_VARIABLES))
      env[variable] = String(ports[name as PortName]);
    const upResult = await cli(['up', '--detach'], env);
    assert.equal(upResult.code, 0, upResult.stderr);
    const launcher = JSON.parse(readFileSync(join(dir, 'launcher.pid'), 'utf8')) as { pid: number };
    const status = await cli(['status', '--json'], env);
    assert.equal(status.code, 0, status.stderr);
    assert.equal(JSON.parse(status.stdout).master, 'redis-1');
    process.kill(launcher.pid, 'SIGKILL');
    await waitFor('the launcher to die', () => {
      try {
        process.kill(launcher.pid, 0);
        return false;
      } catch {
        return true;
      }
    });
    assert.equal(
      await isPortFree(ports['redis-1'], LOCAL_ADDRESSES['redis-1']),
      false,
      'its children outlive a kill -9',
    );
    const down = await cli(['down'], env);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, /killed leftovers/);
    for (const [name, port] of Object.entries(ports)) {
      const host = LOCAL_ADDRESSES[name] ?? '127.0.0.1';
      assert.ok(await isPortFree(port, host), `${name} ${host}:${port} still in use`);
    }
  });
});
