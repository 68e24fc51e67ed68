import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { nodeState, withRedis } from '../src/ha/probes.ts';
import { plannedFailover, plannedFailoverTo, sentinelReplicas } from '../src/ops/failover.ts';
import { waitForMaster } from '../src/ops/observe.ts';
import { Stack } from '../src/ops/supervisor/supervisor.ts';
import { waitFor } from '../src/ops/supervisor/wait.ts';
import { Client } from './helpers/http.ts';
import { freePorts, startTestStack, tempRunDir } from './helpers/stack.ts';

let stack: Stack;

before(async () => {
  stack = await startTestStack('stack-app');
});
after(async () => {
  await stack?.stop();
});

describe('the web app behind HAProxy on the real stack', () => {
  it('alternates instances over one session', async () => {
    const c = new Client(stack.frontUrl);
    const email = 'through-proxy@example.org';
    const reg = await c.request('POST', '/api/register', { json: { email, password: 'proxy-pass-1' } });
    assert.equal(reg.status, 201);
    const login = await c.request('POST', '/api/login', { json: { email, password: 'proxy-pass-1' } });
    assert.equal(login.status, 200);
    const token = String(login.json()['csrfToken']);
    const put = await c.request('PUT', '/api/cart', {
      json: { items: { dock: 3 } },
      headers: { 'x-csrf-token': token },
    });
    assert.equal(put.status, 200);
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await c.get('/api/cart');
      assert.equal(res.status, 200);
      assert.equal((res.json()['items'] as Record<string, number>)['dock'], 3);
      seen.push(res.headers.get('x-instance') ?? '');
    }
    for (let i = 1; i < seen.length; i++)
      assert.notEqual(seen[i], seen[i - 1], `round robin: ${seen.join(' ')}`);
    assert.deepEqual([...new Set(seen)].sort(), ['app-1', 'app-2']);
  });
});

describe('a planned failover', () => {
  it('moves the master in seconds while writes wait instead of failing, and demotes the old one', async () => {
    const c = new Client(stack.frontUrl);
    const email = 'planned-failover@example.org';
    assert.equal(
      (await c.request('POST', '/api/register', { json: { email, password: 'planned-pass-1' } })).status,
      201,
    );
    const login = await c.request('POST', '/api/login', { json: { email, password: 'planned-pass-1' } });
    const headers = { 'x-csrf-token': String(login.json()['csrfToken']) };
    const old = (await stack.currentMaster())!;
    // Writes keep coming during the failover: each must succeed.
    let writing = true;
    const statuses: number[] = [];
    const refusals: string[] = [];
    let lastAcked = 0;
    const writer = (async () => {
      for (let n = 1; writing; n++) {
        const res = await c.request('PUT', '/api/cart', { json: { items: { headset: n % 99 } }, headers });
        statuses.push(res.status);
        if (res.status === 200) lastAcked = n % 99;
        else refusals.push(`${res.status} ${res.text}`);
      }
    })();
    try {
      const result = await plannedFailover(stack);
      assert.equal(result.from, old.name);
      assert.notEqual(result.to, old.name);
      assert.ok(result.ms < 10_000, `took ${result.ms} ms`);
      const state = await nodeState(old.host, old.port, stack.login);
      assert.equal(state.role, 'slave', 'the old master is a replica at the end');
    } finally {
      writing = false;
      await writer;
    }
    assert.ok(statuses.length > 0);
    assert.deepEqual([...new Set(statuses)], [200], `every write succeeded: ${refusals.join('; ')}`);
    // The last write acknowledged is what the new master holds, and each replica once synced.
    const master = (await stack.currentMaster())!;
    assert.notEqual(master.name, old.name);
    const stored = await withRedis(master.host, master.port, stack.login, (r) =>
      r.hget(`cart:{${email}}`, 'headset'),
    );
    assert.equal(Number(stored), lastAcked, 'the new master holds the last acknowledged write');
    for (const n of stack.topology.redis.filter((x) => x.name !== master.name))
      await waitFor(`${n.name} to hold the last acknowledged write`, async () => {
        const v = await withRedis(n.host, n.port, stack.login, (r) => r.hget(`cart:{${email}}`, 'headset'));
        return Number(v) === lastAcked;
      });
  });
});

describe('a planned failover to a named replica', () => {
  it('promotes that replica though Sentinel would pick the other, and gives the others their priority back', async () => {
    const old = (await stack.currentMaster())!;
    const [target, other] = stack.topology.redis.filter((n) => n.name !== old.name);
    const priority = (n: { host: string; port: number }, value?: string) =>
      withRedis(n.host, n.port, stack.login, (r) =>
        value === undefined
          ? r.call('CONFIG', 'GET', 'replica-priority')
          : r.call('CONFIG', 'SET', 'replica-priority', value),
      );
    // Worse than the other's 100, once every Sentinel has read it: alone, Sentinel promotes the other.
    await priority(target!, '150');
    try {
      await waitFor('every Sentinel to read replica-priority 150', async () => {
        for (const s of stack.topology.sentinels) {
          const rows = await sentinelReplicas(stack, s);
          const row = rows.find((f) => f['ip'] === target!.host && Number(f['port']) === target!.port);
          if (row?.['slave-priority'] !== '150') return false;
        }
        return true;
      });
      const result = await plannedFailoverTo(stack, target!);
      assert.deepEqual([result.from, result.to], [old.name, target!.name]);
      assert.equal((await stack.currentMaster())?.name, target!.name);
      assert.deepEqual(await priority(other!), ['replica-priority', '100']);
      assert.deepEqual(await priority(old), ['replica-priority', '100']);
    } finally {
      await priority(target!, '100');
    }
  });
});

describe('a master that stops answering', () => {
  it('the apps leave their hung connection to it for the new master when Sentinel announces the switch', async () => {
    // SIGSTOP keeps the old master's TCP connections open and silent: nothing but Sentinel's
    // +switch-master tells an app to leave them (a killed master closes them; a demoted one answers
    // READONLY). Without the move, each write would hang on the old connection until its deadline.
    const c = new Client(stack.frontUrl);
    const email = 'stopped-master@example.org';
    assert.equal(
      (await c.request('POST', '/api/register', { json: { email, password: 'stopped-pass-1' } })).status,
      201,
    );
    const login = await c.request('POST', '/api/login', { json: { email, password: 'stopped-pass-1' } });
    const headers = { 'x-csrf-token': String(login.json()['csrfToken']) };
    const old = (await stack.currentMaster())!;
    stack.pause(old.name);
    try {
      const next = await waitForMaster(stack.topology, stack, (m) => m.name !== old.name);
      // Both instances (round robin), each well within the write deadline (6 s).
      for (let n = 1; n <= 4; n++) {
        const t0 = performance.now();
        const put = await c.request('PUT', '/api/cart', { json: { items: { webcam: n } }, headers });
        const ms = Math.round(performance.now() - t0);
        assert.equal(put.status, 200, `write ${n}: ${put.status} ${put.text}`);
        assert.equal((put.json()['items'] as Record<string, number>)['webcam'], n);
        assert.ok(ms < 4000, `write ${n} took ${ms} ms`);
      }
      const stored = await withRedis(next.host, next.port, stack.login, (r) =>
        r.hget(`cart:{${email}}`, 'webcam'),
      );
      assert.equal(stored, '4', 'the new master holds the writes');
    } finally {
      stack.resume(old.name);
    }
    // The old master, resumed, is demoted by the Sentinels and follows the new one.
    await waitFor(
      `${old.name} to become a replica`,
      async () => {
        const s = await nodeState(old.host, old.port, stack.login).catch(() => null);
        return s?.role === 'slave' && s.linkUp === true;
      },
      { timeoutMs: 30_000 },
    );
  });
});

describe('persistence', () => {
  it('a restart of the whole stack keeps every user, session and cart it acknowledged', async () => {
    // Its own stack: stopped and started again on the same run directory and ports.
    const runDir = tempRunDir('restart');
    const opts = { runDir, topology: { ports: await freePorts() }, appEnv: { SCRYPT_COST: '1024' } };
    const email = 'survives-restart@example.org';
    const c = new Client('http://placeholder');
    try {
      let s = await Stack.start(opts);
      try {
        c.base = s.frontUrl;
        assert.equal(
          (await c.request('POST', '/api/register', { json: { email, password: 'restart-pass-1' } })).status,
          201,
        );
        const login = await c.request('POST', '/api/login', { json: { email, password: 'restart-pass-1' } });
        assert.equal(login.status, 200);
        const put = await c.request('PUT', '/api/cart', {
          json: { items: { webcam: 4, dock: 1 } },
          headers: { 'x-csrf-token': String(login.json()['csrfToken']) },
        });
        assert.equal(put.status, 200, 'acknowledged');
      } finally {
        await s.stop();
      }
      s = await Stack.start(opts);
      try {
        c.base = s.frontUrl;
        const cart = await c.get('/api/cart');
        assert.equal(cart.status, 200, 'the session survived');
        const items = cart.json()['items'] as Record<string, number>;
        assert.deepEqual([items['webcam'], items['dock'], items['mouse']], [4, 1, 0]);
        const again = await new Client(s.frontUrl).request('POST', '/api/login', {
          json: { email, password: 'restart-pass-1' },
        });
        assert.equal(again.status, 200, 'the user survived');
      } finally {
        await s.stop();
      }
    } finally {
      rmSync(runDir, { recursive: true, force: true });
    }
  });
});
