// The operator's tool from a production install: the packed package (`npm pack` builds dist/ in
// its prepack step) installed without dev dependencies, so without tsx or TypeScript. It must print
// its usage, render, start a stack on free ports, report its status and stop it; the test tools
// must say where they run instead of failing with a stack trace.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { StackStatus } from '../src/ops/status.ts';
import { REPO_ROOT } from '../src/ops/supervisor/supervisor.ts';
import { freePorts, portEnv } from './helpers/stack.ts';

const run = promisify(execFile);

type Result = { code: number; stdout: string; stderr: string };

describe('ha-stack from a production install', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ha-stack-install-'));
  const runDir = join(dir, 'run');
  const bin = join(dir, 'node_modules', '.bin', 'ha-stack');
  const env: Record<string, string> = { HA_STACK_RUN_DIR: runDir };

  const cli = (args: string[]): Promise<Result> =>
    run(bin, args, { env: { ...process.env, ...env }, cwd: dir, timeout: 120_000 }).then(
      (r) => ({ code: 0, ...r }),
      (e: Result) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  before(async () => {
    await run('npm', ['pack', '--pack-destination', dir, '--loglevel=error'], {
      cwd: REPO_ROOT,
      timeout: 300_000,
    });
    const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
    assert.ok(tarball, 'npm pack wrote a tarball');
    writeFileSync(join(dir, 'package.json'), '{"name":"install-check","private":true}\n');
    await run(
      'npm',
      ['install', '--omit=dev', '--no-audit', '--no-fund', '--loglevel=error', join(dir, tarball)],
      { cwd: dir, timeout: 300_000 },
    );
    Object.assign(env, portEnv(await freePorts()));
  });

  after(async () => {
    await cli(['down']);
    rmSync(dir, { recursive: true, force: true });
  });

  it('has no dev dependency to lean on', () => {
    assert.equal(existsSync(join(dir, 'node_modules', 'tsx')), false);
    assert.equal(existsSync(join(dir, 'node_modules', 'redis-ha-stack', 'src')), false);
  });

  it('prints its usage, and sends the test tools to a checkout', async () => {
    const help = await cli(['--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /usage: ha-stack <command>/);
    const chaos = await cli(['chaos']);
    assert.equal(chaos.code, 2);
    assert.match(chaos.stderr, /test tools run from a checkout/);
  });

  it('renders the local configuration', async () => {
    const out = join(dir, 'rendered');
    const r = await cli(['render', '--target', 'local', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(join(out, 'haproxy', 'haproxy.cfg')));
    assert.ok(existsSync(join(out, 'sentinel', 'sentinel-1.conf')));
  });

  it('starts a stack, reports it healthy and stops it', async () => {
    const up = await cli(['up', '--detach']);
    assert.equal(up.code, 0, up.stderr);
    const status = await cli(['status', '--json']);
    assert.equal(status.code, 0, status.stderr);
    const s = JSON.parse(status.stdout) as StackStatus;
    assert.equal(s.master, 'redis-1');
    assert.equal(s.mode, 'healthy');
    const down = await cli(['down']);
    assert.equal(down.code, 0, down.stderr);
  });
});
