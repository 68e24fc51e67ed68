import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { keys } from '../src/ha/keys.ts';
import { readStackFile } from '../src/ops/commands/context.ts';
import { ControlClient } from '../src/ops/control.ts';
import { RunDir } from '../src/ops/supervisor/rundir.ts';
import { serverOf } from '../src/ops/supervisor/servers.ts';
import { LOAD_LIMITS } from '../src/ops/supervisor/stack-options.ts';
import { REPO_ROOT } from '../src/ops/supervisor/supervisor.ts';
import { compareCarts, onCurrentMaster } from '../src/tools/chaos/compare.ts';
import { closeUsers, createUsers, type LoadUser, runLoad } from '../src/tools/loadgen/load.ts';
import { freePorts, portEnv, tempRunDir } from './helpers/stack.ts';
import { until } from './helpers/until.ts';

const CLI = join(REPO_ROOT, 'bin/ha-stack.js');

function valkeyInstalled(): boolean {
  try {
    execFileSync('valkey-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * `ha-stack upgrade` on a stack started with `ha-stack up --detach` on Redis 7.0, under a browser-
 * shaped load through HAProxy the whole time: stopped before the point of no return without a
 * terminal, back to Redis, then to Valkey 8.0 past that point, then the rollback to Redis 7.0 by a
 * logical copy; nothing failed, nothing lost.
 */
describe('ha-stack upgrade', {
  skip: valkeyInstalled() ? false : 'valkey-server is not installed (scripts/setup.sh valkey)',
}, () => {
  const dir = tempRunDir('upgrade');
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    ...LOAD_LIMITS,
    HA_STACK_RUN_DIR: dir,
    REDIS_SERVER: 'redis',
  };
  const cli = (args: string[]) =>
    promisify(execFile)(process.execPath, [CLI, ...args], { env, cwd: REPO_ROOT });
  const controller = new AbortController();
  let client: ControlClient;
  let users: LoadUser[] = [];
  let load: ReturnType<typeof runLoad> | undefined;
  const started = Date.now();
  const pauses: number[] = [];

  /** What INFO server says every Redis node and Sentinel runs, by name. */
  const servers = async () => {
    const t = client.topology;
    const out: Record<string, string | null> = {};
    for (const n of t.redis) out[n.name] = await serverOf(n.host, n.port, client.login);
    for (const s of t.sentinels)
      out[s.name] = await serverOf(s.host, s.port, { password: client.sentinelPassword });
    return out;
  };
  const kind = (server: string | null | undefined) => server?.split(' ')[0];

  before(async () => {
    Object.assign(env, portEnv(await freePorts()));
    await cli(['up', '--detach']);
    const file = readStackFile(new RunDir(dir));
    assert.ok(file, 'stack.json');
    client = new ControlClient(file);
    users = await createUsers(client.frontUrl, 8, `upgrade-${Date.now().toString(36)}`);
    load = runLoad(users, controller.signal, 20, 8);
    await until(() => load!.stats.writesAcked >= 8, 30_000);
  });
  after(async () => {
    controller.abort();
    await load?.done;
    closeUsers(users);
    await cli(['down']).catch((err: Error) => process.stderr.write(`down: ${err.message}\n`));
    if (!process.env['KEEP_RUN_DIRS']) rmSync(dir, { recursive: true, force: true });
  });

  it('without --yes-past-no-return and without a terminal, stops before the failover: the master stays on Redis', async () => {
    const master = (await client.currentMaster())!;
    const err = await cli(['upgrade', '--server', 'valkey']).then(
      () => assert.fail('upgrade went past the point of no return without a yes'),
      (e: Error & { stdout: string; stderr: string }) => e,
    );
    assert.match(err.stderr, /stopped before the point of no return/);
    const now = await servers();
    for (const [name, server] of Object.entries(now))
      assert.equal(kind(server), name === master.name ? 'redis' : 'valkey', `${name}: ${server}`);
    assert.equal((await client.currentMaster())?.name, master.name);
  });

  it('before the point of no return, --server redis puts Redis back on every node moved', async () => {
    const { stdout } = await cli(['upgrade', '--server', 'redis']);
    assert.match(stdout, /moved /);
    for (const [name, server] of Object.entries(await servers())) assert.equal(kind(server), 'redis', name);
  });

  it('with --yes-past-no-return: every node and Sentinel runs Valkey 8.0 after one planned failover', async () => {
    const { stdout } = await cli(['upgrade', '--server', 'valkey', '--yes-past-no-return']);
    process.stdout.write(stdout);
    const paused = /writes paused (\d+) ms/.exec(stdout);
    assert.ok(paused, stdout);
    pauses.push(Number(paused[1]));
    for (const [name, server] of Object.entries(await servers()))
      assert.match(server ?? '', /^valkey 8\.0\./, `${name}: INFO server`);
    const { stdout: status } = await cli(['status']);
    assert.match(status, /valkey 8\.0\./);
  });

  it('past that point, --server redis without --yes-past-no-return is refused and changes nothing', async () => {
    const err = await cli(['upgrade', '--server', 'redis']).then(
      () => assert.fail('went back to Redis past the point of no return'),
      (e: Error & { stderr: string }) => e,
    );
    assert.match(err.stderr, /cannot replicate from a Valkey 8 master/);
    for (const [name, server] of Object.entries(await servers())) assert.equal(kind(server), 'valkey', name);
  });

  it('past that point, --server redis --yes-past-no-return rolls back by a logical copy: every node on Redis 7.0', async () => {
    // Beside the app's keys, 1000 of each type the copy knows, some with a TTL.
    const FILL = 1000;
    await onCurrentMaster(client, async (r) => {
      const p = r.pipeline();
      for (let i = 0; i < FILL; i++) {
        p.set(`fill:s:${i}`, `v${i}`, 'PX', 600_000)
          .hset(`fill:h:${i}`, { a: `${i}`, b: 'x' })
          .sadd(`fill:S:${i}`, 'a', `${i}`)
          .rpush(`fill:l:${i}`, 'first', `${i}`)
          .zadd(`fill:z:${i}`, 1.5, 'a', i, 'b');
      }
      await p.exec();
    });
    const t0 = Date.now();
    const { stdout } = await cli(['upgrade', '--server', 'redis', '--yes-past-no-return']);
    process.stdout.write(`${stdout}rollback in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    const paused = /rollback: (\d+) keys copied .*writes paused (\d+) ms/.exec(stdout);
    assert.ok(paused, stdout);
    assert.ok(Number(paused[1]) > 0, 'keys copied');
    pauses.push(Number(paused[2]));
    for (const [name, server] of Object.entries(await servers()))
      assert.match(server ?? '', /^redis 7\.0\./, `${name}: INFO server`);
    assert.ok(Number(paused[1]) >= 5 * FILL, `keys copied: ${paused[1]}`);
    await onCurrentMaster(client, async (r) => {
      for (const i of [0, 417, FILL - 1]) {
        assert.equal(await r.get(`fill:s:${i}`), `v${i}`);
        const ttl = await r.pttl(`fill:s:${i}`);
        assert.ok(ttl > 0 && ttl <= 600_000, `TTL kept: ${ttl}`);
        assert.deepEqual(await r.hgetall(`fill:h:${i}`), { a: `${i}`, b: 'x' });
        assert.deepEqual((await r.smembers(`fill:S:${i}`)).sort(), ['a', `${i}`].sort());
        assert.deepEqual(await r.lrange(`fill:l:${i}`, 0, -1), ['first', `${i}`]);
        assert.deepEqual(
          ((await r.call('ZRANGE', `fill:z:${i}`, '0', '-1', 'WITHSCORES')) as unknown[]).flat(),
          i < 1.5 ? ['b', `${i}`, 'a', '1.5'] : ['a', '1.5', 'b', `${i}`],
        );
      }
    });
  });

  it('under the load all along: no failed request, no acknowledged write lost', async () => {
    const before = load!.stats.samples.length;
    await until(() => load!.stats.samples.length >= before + 32, 30_000);
    controller.abort();
    await load!.done;
    const stored = await onCurrentMaster(client, async (r) => {
      const carts = new Map<string, Record<string, string>>();
      for (const u of users) carts.set(u.email, await r.hgetall(keys.cart(u.email)));
      return carts;
    });
    const lost = compareCarts(users, stored).filter((d) => d.kind === 'lost');
    const samples = load!.stats.samples;
    const failed = samples.filter((s) => !s.ok);
    process.stdout.write(
      `upgrade figures: ${samples.length} requests, ${failed.length} failed, ${lost.length} acknowledged writes lost, ${load!.stats.writesAcked} writes acknowledged, ${((Date.now() - started) / 1000).toFixed(1)} s in all, write pauses (upgrade failover, rollback) ${pauses.join(', ')} ms\n`,
    );
    assert.deepEqual(Object.fromEntries(load!.stats.failures), {});
    assert.equal(failed.length, 0);
    assert.deepEqual(lost, []);
  });
});
