import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PRODUCTS } from '../src/app/products.ts';
import { haproxyStats, operatorAuthorization, sentinelView, upServers, withRedis } from '../src/ha/probes.ts';
import { ControlClient, serveControl } from '../src/ops/control.ts';
import { plannedFailover } from '../src/ops/failover.ts';
import { SESSION_SECRET_FILE, SESSION_SECRET_PREVIOUS_FILE } from '../src/ops/supervisor/rotate.ts';
import { SECRET_FILES } from '../src/ops/supervisor/rundir.ts';
import { OPERATOR_PASSWORD_FILE, type Stack } from '../src/ops/supervisor/supervisor.ts';
import { waitFor } from '../src/ops/supervisor/wait.ts';
import {
  assertAllOk,
  auth,
  loggedIn,
  mode,
  operatorGet,
  processEnv,
  reader,
  sentinelAuth,
} from './helpers/rotate.ts';
import { startTestStack } from './helpers/stack.ts';

let stack: Stack;
let control: Server | undefined;

before(async () => {
  stack = await startTestStack('rotate', { apps: 2 });
});

after(async () => {
  control?.close();
  await stack?.stop();
});

describe('ha-stack rotate', () => {
  it('session-secret: two rolling phases, nobody logged out, old cookie and token still valid', async () => {
    const user = await loggedIn(stack, 'session');
    const oldSecret = stack.sessionSecret;
    const read = reader(stack, user.cookie);
    const r = await stack.rotate('session-secret');
    const statuses = await read.stop();
    assertAllOk(statuses);
    assert.deepEqual(r.restarted, ['app-1', 'app-2', 'app-1', 'app-2']);

    // The run directory holds the new pair, 0600, and the stack uses it for any later start.
    const dir = stack.run.dir;
    const next = readFileSync(join(dir, SESSION_SECRET_FILE), 'utf8').trim();
    const previous = readFileSync(join(dir, SESSION_SECRET_PREVIOUS_FILE), 'utf8').trim();
    assert.notEqual(next, oldSecret);
    assert.equal(previous, oldSecret);
    assert.equal(next, stack.sessionSecret);
    assert.equal(mode(join(dir, SESSION_SECRET_FILE)), 0o600);
    assert.equal(mode(join(dir, SESSION_SECRET_PREVIOUS_FILE)), 0o600);
    // What the running processes were started with, not only what a next start would get.
    for (const name of ['app-1', 'app-2']) {
      assert.equal(processEnv(stack, name)['SESSION_SECRET'], next, name);
      assert.equal(processEnv(stack, name)['SESSION_SECRET_PREVIOUS'], oldSecret, name);
    }

    // The old cookie and its CSRF token still work, on both instances.
    for (const base of stack.appUrls) {
      const res = await fetch(`${base}/api/cart`, {
        headers: { cookie: user.cookie, accept: 'application/json' },
      });
      assert.equal(res.status, 200, base);
    }
    const items = Object.fromEntries(PRODUCTS.map((p, i) => [p.id, i]));
    const put = await user.c.request('PUT', '/api/cart', {
      json: { items },
      headers: { 'x-csrf-token': user.token },
    });
    assert.equal(put.status, 200);
    // A new login works and its cookie is signed with the new secret (valid on every instance).
    const fresh = await loggedIn(stack, 'after');
    assert.equal((await fresh.c.get('/api/cart')).status, 200);
  });

  it('redis-app-password through the control socket: the old password refused, the app keeps serving', async () => {
    control = await serveControl(stack, stack.run.controlSocket);
    const dir = stack.run.dir;
    const client = new ControlClient({
      topology: stack.topology,
      username: stack.username,
      passwordFile: join(dir, SECRET_FILES.redis.operator),
      sentinelPasswordFile: join(dir, SECRET_FILES.sentinel),
      frontUrl: stack.frontUrl,
      statsUrl: stack.statsUrl,
      operatorPasswordFile: join(dir, OPERATOR_PASSWORD_FILE),
      controlSocket: stack.run.controlSocket,
      names: stack.names,
      ready: true,
    });
    await assert.rejects(client.rotate('root-password'), /cannot rotate/);

    const user = await loggedIn(stack, 'password');
    const old = stack.secrets.redis.app;
    const read = reader(stack, user.cookie);
    const r = await client.rotate('redis-app-password');
    assertAllOk(await read.stop());
    assert.deepEqual(r.restarted, ['app-1', 'app-2']);
    assert.deepEqual(r.nodes, ['redis-1', 'redis-2', 'redis-3']);

    const file = join(dir, SECRET_FILES.redis.app);
    const next = readFileSync(file, 'utf8').trim();
    assert.notEqual(next, old);
    assert.equal(mode(file), 0o600);
    for (const n of stack.topology.redis) {
      assert.match(await auth(n.host, n.port, 'app', old), /^-WRONGPASS/, n.name);
      assert.equal(await auth(n.host, n.port, 'app', next), '+OK', n.name);
    }
    for (const name of ['app-1', 'app-2'])
      assert.equal(processEnv(stack, name)['REDIS_PASSWORD'], next, name);
    // The apps run with the new password: reads and writes go on.
    const items = Object.fromEntries(PRODUCTS.map((p) => [p.id, 1]));
    const put = await user.c.request('PUT', '/api/cart', {
      json: { items },
      headers: { 'x-csrf-token': user.token },
    });
    assert.equal(put.status, 200);
    assert.deepEqual((await user.c.get('/api/cart')).json()['items'], items);
  });

  it('operator-password: HAProxy reloads, the site loses no request, the old password is refused', async () => {
    const user = await loggedIn(stack, 'operator');
    const old = stack.operatorPassword;
    const oldFile = readFileSync(join(stack.run.dir, OPERATOR_PASSWORD_FILE), 'utf8').trim();
    assert.equal(oldFile, old);
    const read = reader(stack, user.cookie);
    const r = await stack.rotate('operator-password');
    assertAllOk(await read.stop());
    assert.deepEqual(r.restarted, ['app-1', 'app-2', 'app-1', 'app-2']);
    const next = readFileSync(join(stack.run.dir, OPERATOR_PASSWORD_FILE), 'utf8').trim();
    assert.notEqual(next, old);
    assert.equal(mode(join(stack.run.dir, OPERATOR_PASSWORD_FILE)), 0o600);
    // The front: stats and the topology page with the new password only.
    assert.equal(await operatorGet(stack, '/stats', old), 401);
    assert.equal(await operatorGet(stack, '/stats', next), 200);
    assert.equal(await operatorGet(stack, '/api/topology', next), 200);
    assert.equal(await operatorGet(stack, '/api/topology', old), 401);
    // The apps themselves: the old password is not kept once HAProxy has the new one.
    for (const base of stack.appUrls) {
      assert.equal(await operatorGet(stack, '/metrics', next, base), 200, base);
      assert.equal(await operatorGet(stack, '/metrics', old, base), 404, base);
    }
    for (const name of ['app-1', 'app-2']) {
      assert.equal(processEnv(stack, name)['HAPROXY_OPERATOR_PASSWORD'], next, name);
      assert.equal(processEnv(stack, name)['HAPROXY_OPERATOR_PASSWORD_PREVIOUS'], undefined, name);
    }
    // The apps read HAProxy's stats with it: the topology's HAProxy part is there.
    let last = '';
    await waitFor('the HAProxy part of the topology', async () => {
      const res = await fetch(`${stack.statsUrl.replace(/\/stats$/, '')}/api/topology`, {
        headers: { authorization: operatorAuthorization(next) },
      });
      const body = (await res.json()) as { haproxy: { up: boolean; error: string | null } };
      last = JSON.stringify(body.haproxy);
      return body.haproxy.up && body.haproxy.error === null;
    }).catch((err) => assert.fail(`${err}: ${last}`));
  });

  it('redis-haproxy-password: HAProxy reloads keeping which Redis node is the master; never two UP', async () => {
    const user = await loggedIn(stack, 'haproxy');
    const old = stack.secrets.redis.haproxy;
    const read = reader(stack, user.cookie);
    const ups: number[] = [];
    let watching = true;
    const watch = (async () => {
      while (watching) {
        const rows = await haproxyStats(stack.stats).catch(() => null);
        if (rows) ups.push(upServers(rows, 'redis_master').length);
        await new Promise((res) => setTimeout(res, 20));
      }
    })();
    // The reload takes well under a second: reads and looks before, during and after it.
    await waitFor('reads and looks before the rotation', () => read.statuses.length >= 10 && ups.length >= 5);
    const r = await stack.rotate('redis-haproxy-password');
    const seen = read.statuses.length;
    await waitFor('reads after the rotation', () => read.statuses.length >= seen + 12);
    watching = false;
    await watch;
    assertAllOk(await read.stop());
    assert.deepEqual(r.restarted, []);
    assert.ok(ups.length > 5, `only ${ups.length} looks at the stats`);
    assert.deepEqual([...new Set(ups)], [1], 'exactly one Redis node UP behind the master front, all along');
    const next = stack.secrets.redis.haproxy;
    assert.notEqual(next, old);
    for (const n of stack.topology.redis) {
      assert.match(await auth(n.host, n.port, 'haproxy', old), /^-WRONGPASS/, n.name);
      assert.equal(await auth(n.host, n.port, 'haproxy', next), '+OK', n.name);
    }
    // HAProxy's checks log in with the new one: the master stays UP after its next checks.
    const master = (await stack.currentMaster())!;
    const rows = await haproxyStats(stack.stats);
    assert.deepEqual(upServers(rows, 'redis_master'), [master.name]);
  });

  it('the Redis users of replication, Sentinel and operator, then the Sentinels own: a failover still works', async () => {
    const user = await loggedIn(stack, 'cluster');
    const read = reader(stack, user.cookie);
    const before = {
      replication: stack.secrets.redis.replication,
      sentinel: stack.secrets.redis.sentinel,
      operator: stack.secrets.redis.operator,
      sentinels: stack.secrets.sentinel,
    };
    for (const secret of ['redis-replication-password', 'redis-sentinel-password', 'redis-operator-password'])
      assert.deepEqual((await stack.rotate(secret)).restarted, [], secret);
    const r = await stack.rotate('sentinel-password');
    assertAllOk(await read.stop());
    assert.deepEqual(r.restarted, ['app-1', 'app-2']);
    // The apps log in to the Sentinels as their read-only user: the Sentinels' own password is not theirs.
    for (const name of ['app-1', 'app-2'])
      assert.equal(processEnv(stack, name)['REDIS_SENTINEL_PASSWORD'], stack.secrets.sentinelReader, name);
    for (const u of ['replication', 'sentinel', 'operator'] as const) {
      assert.notEqual(stack.secrets.redis[u], before[u], u);
      assert.equal(
        readFileSync(join(stack.run.dir, SECRET_FILES.redis[u]), 'utf8').trim(),
        stack.secrets.redis[u],
      );
      for (const n of stack.topology.redis) {
        assert.match(await auth(n.host, n.port, u, before[u]), /^-WRONGPASS/, `${u} on ${n.name}`);
        assert.equal(await auth(n.host, n.port, u, stack.secrets.redis[u]), '+OK', `${u} on ${n.name}`);
      }
    }
    for (const s of stack.topology.sentinels) {
      assert.match(await sentinelAuth(s.host, s.port, before.sentinels), /^-WRONGPASS/, s.name);
      assert.equal(await sentinelAuth(s.host, s.port, stack.sentinelPassword), '+OK', s.name);
      // Its saved config logs in with the new password only.
      const conf = readFileSync(join(stack.run.nodeDir(s.name), 'sentinel.conf'), 'utf8');
      assert.ok(
        conf.includes(`sentinel auth-pass ${stack.topology.masterName} ${stack.secrets.redis.sentinel}`),
      );
      assert.ok(conf.includes(`sentinel sentinel-pass ${stack.sentinelPassword}`));
      assert.ok(!conf.includes(before.sentinels), `${s.name}: sentinel.conf still holds the old password`);
      assert.doesNotMatch(conf, /^requirepass /m, s.name);
    }
    // Sentinels reach the nodes (auth-pass) and each other (sentinel-pass), and a promoted master's
    // replicas sync with it (masterauth): a planned failover goes through and both replicas follow.
    const moved = await plannedFailover(stack);
    assert.notEqual(moved.to, moved.from);
    const views = await Promise.all(
      stack.topology.sentinels.map((s) =>
        sentinelView(s.host, s.port, stack.topology.masterName, stack.sentinelPassword),
      ),
    );
    for (const v of views) {
      assert.equal(`${v.master?.port}`, String(stack.redisNode(moved.to).port));
      assert.equal(v.otherSentinels, stack.topology.sentinels.length - 1);
    }
    await waitFor('both replicas synced with the new master', async () => {
      const m = stack.redisNode(moved.to);
      const info = await withRedis(m.host, m.port, stack.login, (c) => c.info('replication'));
      return /connected_slaves:2/.test(info) && (info.match(/state=online/g) ?? []).length === 2;
    });
    // The app still reads and writes through the front.
    const put = await user.c.request('PUT', '/api/cart', {
      json: { items: { [PRODUCTS[0]!.id]: 3 } },
      headers: { 'x-csrf-token': user.token },
    });
    assert.equal(put.status, 200);
  });

  it('a rotation that touches the Sentinels is refused while one is stopped, changing nothing', async () => {
    const before = stack.sentinelPassword;
    await stack.stop('sentinel-3');
    try {
      await assert.rejects(stack.rotate('sentinel-password'), /sentinel-3 not running/);
      await assert.rejects(stack.rotate('redis-sentinel-password'), /sentinel-3 not running/);
      assert.equal(stack.sentinelPassword, before);
      assert.equal(readFileSync(join(stack.run.dir, SECRET_FILES.sentinel), 'utf8').trim(), before);
    } finally {
      await stack.start('sentinel-3');
    }
  });
});
