import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { nodeState, operatorAuthorization } from '../src/ha/probes.ts';
import { waitForMaster } from '../src/ops/observe.ts';
import type { Stack } from '../src/ops/supervisor/supervisor.ts';
import { waitFor } from '../src/ops/supervisor/wait.ts';
import { Client } from './helpers/http.ts';
import { startTestStack } from './helpers/stack.ts';

/**
 * Degraded modes on a real stack, through HAProxy: a master left without replicas, and a master
 * killed while its only replica has to take over (the replica connections of every instance move
 * off the promoted node, and the new master has no replica until the old one comes back).
 */
let stack: Stack;

before(async () => {
  stack = await startTestStack('degraded', { appEnv: { LOG_LEVEL: 'warn' } });
});
after(async () => {
  await stack?.stop();
});

async function loggedIn(email: string): Promise<{ c: Client; csrf: string }> {
  const c = new Client(stack.frontUrl);
  const password = `pw-${email}`;
  assert.equal((await c.request('POST', '/api/register', { json: { email, password } })).status, 201);
  const login = await c.request('POST', '/api/login', { json: { email, password } });
  assert.equal(login.status, 200);
  return { c, csrf: String(login.json()['csrfToken']) };
}

/** The `mode` every app instance reports on /readyz. */
async function modes(): Promise<string[]> {
  return Promise.all(
    stack.appUrls.map(async (u) => {
      const res = await fetch(`${u}/readyz`, {
        headers: { authorization: operatorAuthorization(stack.operatorPassword) },
        signal: AbortSignal.timeout(2000),
      });
      return String(((await res.json()) as { mode?: string }).mode);
    }),
  );
}

const quantity = (page: string, product: string) => {
  const m = new RegExp(`data-product="${product}">(\\d+)<`).exec(page);
  return m ? Number(m[1]) : Number.NaN;
};

async function replicasOf(name: string): Promise<number> {
  const n = stack.topology.redis.find((r) => r.name === name)!;
  return (await nodeState(n.host, n.port, stack.login)).connectedReplicas;
}

describe('degraded modes', () => {
  it('a master without replicas serves every page view; writes and logins get 503 with Retry-After at once', async () => {
    const { c, csrf } = await loggedIn('alone@example.org');
    const headers = { 'x-csrf-token': csrf };
    assert.equal(
      (await c.request('PUT', '/api/cart', { json: { items: { dock: 2 } }, headers })).status,
      200,
    );
    const m = (await stack.currentMaster())!;
    const replicas = stack.topology.redis.filter((r) => r.name !== m.name).map((r) => r.name);
    for (const r of replicas) await stack.stop(r);
    try {
      await waitFor('the master to have no replica', async () => (await replicasOf(m.name)) === 0);
      await waitFor('every instance to report read-only', async () =>
        (await modes()).every((x) => x === 'read-only'),
      );
      // Page views and API reads on both instances, each with the cart in its body.
      const instances = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const page = await c.get('/get', { accept: 'text/html' });
        assert.equal(page.status, 200, page.text.slice(0, 300));
        assert.equal(quantity(page.text, 'dock'), 2);
        instances.add(page.headers.get('x-instance') ?? '');
        const api = await c.get('/api/cart');
        assert.equal(api.status, 200, api.text);
        instances.add(api.headers.get('x-instance') ?? '');
        assert.equal((api.json()['items'] as Record<string, number>)['dock'], 2);
      }
      assert.equal(instances.size, 2, 'both instances served');
      // Writes: refused with 503 and Retry-After, once the refusal has lasted past its grace at once.
      for (let i = 0; i < 3; i++) {
        const started = Date.now();
        const put = await c.request('PUT', '/api/cart', { json: { items: { dock: 5 } }, headers });
        const took = Date.now() - started;
        assert.equal(put.status, 503, put.text);
        assert.match(put.headers.get('retry-after') ?? '', /^\d+$/);
        assert.match(String(put.json()['message']), /no replica/);
        assert.ok(took < 3000, `answered in ${took} ms, not at the write deadline`);
      }
      const login = await new Client(stack.frontUrl).request('POST', '/api/login', {
        json: { email: 'alone@example.org', password: 'pw-alone@example.org' },
      });
      assert.equal(login.status, 503, login.text);
      assert.match(login.headers.get('retry-after') ?? '', /^\d+$/);
    } finally {
      for (const r of replicas) await stack.start(r);
    }
    await waitFor('every instance to report healthy', async () =>
      (await modes()).every((x) => x === 'healthy'),
    );
    const put = await c.request('PUT', '/api/cart', { json: { items: { dock: 6 } }, headers });
    assert.equal(put.status, 200, put.text);
    const api = await c.get('/api/cart');
    assert.equal((api.json()['items'] as Record<string, number>)['dock'], 6, 'nothing refused was stored');
  });

  it('the master dies while its only replica takes over: no read fails, no acknowledged write is lost', async () => {
    const reader = await loggedIn('reader@example.org');
    const writer = await loggedIn('writer@example.org');
    const old = (await stack.currentMaster())!;
    const [spare, heir] = stack.topology.redis.filter((r) => r.name !== old.name);
    // One replica kept down: the other is the only one, so every instance's replica connection is
    // on the node that will be promoted, and the new master starts without a replica.
    await stack.stop(spare!.name);
    const reads: { status: number; body: string }[] = [];
    const writes: { status: number; retryAfter: boolean; value: number }[] = [];
    let acked = 0;
    let running = true;
    const readLoop = (async () => {
      while (running) {
        const res = await reader.c.get('/get', { accept: 'text/html' });
        reads.push({ status: res.status, body: res.status === 200 ? '' : res.text.slice(0, 200) });
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const writeLoop = (async () => {
      for (let v = 1; running; v++) {
        const res = await writer.c.request('PUT', '/api/cart', {
          json: { items: { headset: v % 99 || 99 } },
          headers: { 'x-csrf-token': writer.csrf },
        });
        writes.push({
          status: res.status,
          retryAfter: /^\d+$/.test(res.headers.get('retry-after') ?? ''),
          value: v,
        });
        if (res.status === 200) acked = v % 99 || 99;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      await waitFor('load to run', async () => reads.length > 5 && writes.length > 5);
      await stack.kill(old.name);
      const next = await waitForMaster(stack.topology, stack, (n) => n.name !== old.name);
      assert.equal(next.name, heir!.name);
      // The killed node comes back by itself, as a replica of the new master.
      await waitFor(
        `${old.name} back as a replica of ${next.name}`,
        async () => {
          const s = await nodeState(old.host, old.port, stack.login).catch(() => null);
          return s?.role === 'slave' && s.linkUp;
        },
        { timeoutMs: 60_000 },
      );
      const before = writes.length;
      await waitFor('writes to succeed again', async () =>
        writes.slice(before).some((w) => w.status === 200),
      );
    } finally {
      running = false;
      await Promise.all([readLoop, writeLoop]);
      await stack.start(spare!.name);
    }
    const failedReads = reads.filter((r) => r.status !== 200);
    assert.deepEqual(failedReads, [], `${failedReads.length} of ${reads.length} page views failed`);
    const badWrites = writes.filter((w) => w.status !== 200 && !(w.status === 503 && w.retryAfter));
    assert.deepEqual(badWrites, [], 'writes either succeed or get 503 with Retry-After');
    // Stored: the last acknowledged value, or a later one whose answer was not a success.
    const lastOk = writes.findLastIndex((w) => w.status === 200);
    const allowed = [acked, ...writes.slice(lastOk + 1).map((w) => w.value % 99 || 99)];
    const cart = await writer.c.get('/api/cart');
    const stored = (cart.json()['items'] as Record<string, number>)['headset'];
    assert.ok(allowed.includes(stored ?? -1), `stored ${stored}, acknowledged ${acked}`);
  });
});
