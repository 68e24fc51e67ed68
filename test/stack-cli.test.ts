import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { StackStatus } from '../src/ops/status.ts';
import { isPortFree } from '../src/ops/supervisor/ports.ts';
import { waitFor } from '../src/ops/supervisor/wait.ts';
import { localAddress } from '../src/ops/topology.ts';
import { haStack } from './helpers/cli.ts';
import { freePorts, portEnv, tempRunDir } from './helpers/stack.ts';

const _run = promisify(execFile);

describe('the ha-stack command', () => {
  const cli = haStack;

  it('answers bad arguments with usage and exit code 2', async () => {
    for (const args of [['bogus'], ['pause'], ['stop'], ['start'], []]) {
      const r = await cli(args, { HA_STACK_RUN_DIR: tempRunDir('cli') });
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr + r.stdout, /usage: ha-stack/);
    }
    const none = await cli(['status'], { HA_STACK_RUN_DIR: tempRunDir('cli') });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no stack is running/);
  });

  it('stops and starts a node, restarts a killed one by itself, and cleans what a launcher killed with -9 left behind', async () => {
    const dir = tempRunDir('kill9');
    const ports = await freePorts();
    const env: Record<string, string> = { HA_STACK_RUN_DIR: dir, ...portEnv(ports) };
    const upResult = await cli(['up', '--detach'], env);
    assert.equal(upResult.code, 0, upResult.stderr);
    // TLS is on by default: the site on HTTPS, the CA named for clients.
    assert.match(upResult.stdout, /app \(round robin\) +https:\/\/127\.0\.0\.1:\d+\//);
    assert.match(upResult.stdout, new RegExp(`the stack's CA ${dir}/tls/ca\\.crt`));
    const launcher = JSON.parse(readFileSync(join(dir, 'launcher.pid'), 'utf8')) as { pid: number };
    const status = await cli(['status', '--json'], env);
    assert.equal(status.code, 0, status.stderr);
    const first = JSON.parse(status.stdout) as StackStatus & { tls: { first: unknown } | null };
    assert.ok(first.tls?.first, 'status reports the certificates');
    assert.equal(first.master, 'redis-1');
    assert.deepEqual([first.mode, first.sentinelMode], ['healthy', 'ok']);
    assert.deepEqual(
      first.nodes.map((n) => [n.name, n.process, n.restarts]),
      [
        ['redis-1', 'running', 0],
        ['redis-2', 'running', 0],
        ['redis-3', 'running', 0],
      ],
    );
    const json = async () => {
      const r = await cli(['status', '--json'], env);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as StackStatus;
    };

    const stop = await cli(['stop', 'redis-3'], env);
    assert.equal(stop.code, 0, stop.stderr);
    assert.match(stop.stdout, /stop redis-3: done .*ha-stack start redis-3/);
    assert.ok(await isPortFree(ports['redis-3']!, localAddress('redis-3')), 'redis-3 is down');
    const stopped = await json();
    assert.deepEqual(
      stopped.nodes.map((n) => [n.name, n.role, n.process]),
      [
        ['redis-1', 'master', 'running'],
        ['redis-2', 'slave', 'running'],
        ['redis-3', 'down', 'stopped'],
      ],
    );
    const start = await cli(['start', 'redis-3'], env);
    assert.equal(start.code, 0, start.stderr);

    const kill = await cli(['kill', 'redis-2'], env);
    assert.equal(kill.code, 0, kill.stderr);
    await waitFor(
      'redis-2 back as a replica, counted in status --json',
      async () => {
        const n = (await json()).nodes.find((x) => x.name === 'redis-2')!;
        return n.process === 'running' && n.restarts === 1 && n.role === 'slave';
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    const text = await cli(['status'], env);
    assert.match(text.stdout, /mode: healthy/);
    assert.match(text.stdout, /^redis-2 .* {7}1 {2}running/m);
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
      await isPortFree(ports['redis-1']!, localAddress('redis-1')),
      false,
      'its children outlive a kill -9',
    );
    const down = await cli(['down'], env);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, /killed leftovers/);
    for (const [name, port] of Object.entries(ports)) {
      const host = localAddress(name);
      assert.ok(await isPortFree(port, host), `${name} ${host}:${port} still in use`);
    }
  });
});
