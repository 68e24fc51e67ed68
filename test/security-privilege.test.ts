// Least privilege for a compromised app: its Redis user runs no Lua of its own (the stores' scripts
// are functions of one library the operator loads), and its Sentinel user only reads. A failover
// keeps the library (it replicates), and a missing library is a clear 503, not a crash.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LIBRARY_CODE } from '../src/app/stores/functions.ts';
import { FUNCTION_LIBRARY, hasLibrary } from '../src/ha/functions.ts';
import { type RedisLogin, withRedis } from '../src/ha/probes.ts';
import { SENTINEL_READER } from '../src/ops/render/acl.ts';
import { REPO_ROOT } from '../src/ops/supervisor/process-set.ts';
import type { Stack } from '../src/ops/supervisor/supervisor.ts';
import { waitFor } from '../src/ops/supervisor/wait.ts';
import type { RedisNode } from '../src/ops/topology.ts';
import { Client } from './helpers/http.ts';
import { killMaster, startTestStack } from './helpers/stack.ts';

let s: Stack;
let master: RedisNode;

before(async () => {
  s = await startTestStack('privilege', { apps: 1, haproxy: false });
  master = (await s.redisMaster())!;
});

after(async () => {
  await s?.stop();
});

const app = (): RedisLogin => ({ username: 'app', password: s.secrets.redis.app });
const asApp = (command: string, ...args: (string | number)[]) =>
  withRedis(master.host, master.port, app(), (r) => r.call(command, ...args));
/** What the apps log in to the Sentinels as: exactly what they are started with. */
const reader = (): RedisLogin => {
  const env = s.appEnv(s.topology.apps[0]!.name);
  return { username: env['REDIS_SENTINEL_USERNAME'], password: env['REDIS_SENTINEL_PASSWORD'] };
};
const asReader = (command: string, ...args: (string | number)[]) => {
  const x = s.topology.sentinels[0]!;
  return withRedis(x.host, x.port, reader(), (r) => r.call(command, ...args));
};

/** Register, log in, write a cart through the app: every store's function runs. */
async function journey(email: string): Promise<void> {
  const c = new Client(s.appUrls[0]!);
  const password = 'a-long-enough-password';
  const reg = await c.request('POST', '/api/register', { json: { email, password } });
  assert.equal(reg.status, 201, reg.text);
  const login = await c.request('POST', '/api/login', { json: { email, password } });
  assert.equal(login.status, 200, login.text);
  const token = String(login.json()['csrfToken']);
  const product = Object.keys((await c.get('/api/cart')).json()['items'] as object)[0]!;
  const put = await c.request('PUT', '/api/cart', {
    json: { items: { [product]: 2 } },
    headers: { 'x-csrf-token': token },
  });
  assert.equal(put.status, 200, put.text);
  assert.equal((put.json()['items'] as Record<string, number>)[product], 2);
}

describe("the app's Redis user", () => {
  it('may run no Lua of its own and load none: EVAL, EVALSHA, SCRIPT, FUNCTION are refused', async () => {
    const refused = (command: string, ...args: (string | number)[]) =>
      assert.rejects(asApp(command, ...args), /NOPERM/, `${command} ${args.join(' ')}`);
    await refused('EVAL', "redis.call('SET','sess:x','1'); while true do end", 0);
    await refused('EVAL', 'return 1', 0);
    await refused('EVALSHA', 'e0e1f9fabfc9d4800c877a703b823ac0578ff8db', 0);
    await refused('SCRIPT', 'LOAD', 'return 1');
    await refused('SCRIPT', 'FLUSH');
    await refused('FUNCTION', 'LOAD', 'REPLACE', LIBRARY_CODE);
    await refused('FUNCTION', 'DELETE', FUNCTION_LIBRARY);
    await refused('FUNCTION', 'FLUSH');
    await refused('FCALL_RO', 'reserve_one', 1, 'rl:register:ip:x', 1, 1);
    // A function runs with its caller's key permissions: a key outside the app's patterns is refused.
    await assert.rejects(asApp('FCALL', 'reserve_one', 1, 'other:key', 10, 60), /NOPERM|permissions/);
  });

  it("calls the library's functions: register, log in and a cart write through the app", async () => {
    for (const n of s.topology.redis)
      assert.ok(await withRedis(n.host, n.port, s.login, hasLibrary), `${n.name} has ${FUNCTION_LIBRARY}`);
    await journey('fcall-journey@example.org');
  });

  it('the functions step (load-functions) loads as the operator, and refuses to run as the app', () => {
    const run = (username: string, password: string) =>
      spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/app/load-functions.ts')], {
        env: {
          PATH: process.env['PATH'] ?? '',
          REDIS_SENTINELS: s.topology.sentinels.map((x) => `${x.host}:${x.port}`).join(','),
          REDIS_MASTER_NAME: s.topology.masterName,
          REDIS_USERNAME: username,
          REDIS_PASSWORD: password,
          REDIS_SENTINEL_USERNAME: reader().username!,
          REDIS_SENTINEL_PASSWORD: reader().password!,
          FUNCTIONS_TIMEOUT_MS: '10000',
        },
        encoding: 'utf8',
      });
    const op = run('operator', s.secrets.redis.operator);
    assert.equal(op.status, 0, op.stderr);
    assert.match(op.stderr, new RegExp(`loaded ${FUNCTION_LIBRARY}`));
    const asAppUser = run('app', s.secrets.redis.app);
    assert.equal(asAppUser.status, 1, asAppUser.stderr);
    assert.match(asAppUser.stderr, /NOPERM/);
  });
});

describe("the apps' Sentinel user", () => {
  it('is the read-only one, not the Sentinels’ own password', () => {
    assert.equal(reader().username, SENTINEL_READER);
    assert.notEqual(reader().password, s.sentinelPassword);
  });

  it('finds the master but can neither reconfigure nor fail over a Sentinel', async () => {
    const name = s.topology.masterName;
    assert.deepEqual(await asReader('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name), [
      master.host,
      String(master.port),
    ]);
    assert.ok(Array.isArray(await asReader('SENTINEL', 'REPLICAS', name)));
    assert.ok(Array.isArray(await asReader('SENTINEL', 'SENTINELS', name)));
    const refused = (...args: string[]) =>
      assert.rejects(asReader(...(args as [string, ...string[]])), /NOPERM/, args.join(' '));
    await refused('SENTINEL', 'SET', name, 'down-after-milliseconds', '100000');
    await refused('SENTINEL', 'REMOVE', name);
    await refused('SENTINEL', 'MONITOR', 'evil', '127.0.0.1', '1', '1');
    await refused('SENTINEL', 'FAILOVER', name);
    await refused('SENTINEL', 'RESET', '*');
    await refused('SENTINEL', 'CONFIG', 'SET', 'resolve-hostnames', 'yes');
    await refused('ACL', 'SETUSER', SENTINEL_READER, '+@all');
    await refused('PUBLISH', '+switch-master', `${name} 127.0.0.1 1 127.0.0.1 2`);
    // CONFIG does not exist in Sentinel mode at all.
    await assert.rejects(asReader('CONFIG', 'SET', 'maxmemory', '1'), /NOPERM|unknown command/);
    // Nothing was changed by the attempts.
    const x = s.topology.sentinels[0]!;
    const raw = (await withRedis(x.host, x.port, { password: s.sentinelPassword }, (r) =>
      r.call('SENTINEL', 'MASTER', name),
    )) as string[];
    assert.equal(raw[raw.indexOf('down-after-milliseconds') + 1], String(s.topology.downAfterMs));
  });
});

describe('a failover', () => {
  it('the promoted replica has the library and the app keeps working', async () => {
    const old = master;
    master = await killMaster(s, master);
    // The killed node's restart ends by loading the library on the master if it is missing: wait
    // for it, so that it cannot undo the next test's FUNCTION DELETE.
    await s.start(old.name);
    assert.ok(
      await withRedis(master.host, master.port, s.login, hasLibrary),
      'FUNCTION LIST on the new master',
    );
    await waitFor('the app to write on the new master', async () => {
      try {
        await journey(`after-failover-${Date.now()}@example.org`);
        return true;
      } catch {
        return false;
      }
    });
  });

  it('a master without the library: the app answers 503 naming it, and serves again once it is loaded', async () => {
    await withRedis(master.host, master.port, s.login, (r) => r.call('FUNCTION', 'DELETE', FUNCTION_LIBRARY));
    const c = new Client(s.appUrls[0]!);
    const reg = await c.request('POST', '/api/register', {
      json: { email: 'no-library@example.org', password: 'a-long-enough-password' },
    });
    assert.equal(reg.status, 503, reg.text);
    assert.match(String(reg.json()['message']), new RegExp(`library ${FUNCTION_LIBRARY} is not loaded`));
    assert.equal((await c.get('/healthz')).status, 200, 'the app still serves');
    await withRedis(master.host, master.port, s.login, (r) =>
      r.call('FUNCTION', 'LOAD', 'REPLACE', LIBRARY_CODE),
    );
    await journey('library-back@example.org');
  });
});
