import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import type { Server } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PRODUCTS } from '../src/app/products.ts';
import { ControlClient, serveControl } from '../src/stack/control.ts';
import { SESSION_SECRET_FILE, SESSION_SECRET_PREVIOUS_FILE } from '../src/stack/process/rotate.ts';
import { SECRET_FILES } from '../src/stack/process/rundir.ts';
import { OPERATOR_PASSWORD_FILE, type Stack } from '../src/stack/process/supervisor.ts';
import { Client } from './helpers/http.ts';
import { startTestStack } from './helpers/stack.ts';

const PASSWORD = 'sup3r-secret-pass';
let stack: Stack;
let control: Server | undefined;

before(async () => {
  stack = await startTestStack('rotate', { apps: 2 });
});

after(async () => {
  control?.close();
  await stack?.stop();
});

/** A user registered and logged in through HAProxy's front: its cookie header and CSRF token. */
async function loggedIn(tag: string): Promise<{ c: Client; cookie: string; token: string }> {
  const c = new Client(stack.frontUrl);
  const email = `rotate-${tag}-${Date.now()}@example.test`;
  assert.equal(
    (await c.request('POST', '/api/register', { json: { email, password: PASSWORD } })).status,
    201,
  );
  const res = await c.request('POST', '/api/login', { json: { email, password: PASSWORD } });
  assert.equal(res.status, 200);
  return { c, cookie: c.cookieHeader(), token: String(res.json()['csrfToken']) };
}

/** `GET /api/cart` with one fixed cookie every ~50 ms until stopped: every status seen. */
function reader(cookie: string) {
  const statuses: (number | string)[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const t0 = Date.now();
      try {
        const res = await fetch(`${stack.frontUrl}/api/cart`, {
          headers: { cookie, accept: 'application/json' },
          signal: AbortSignal.timeout(5000),
        });
        await res.arrayBuffer();
        statuses.push(res.status);
      } catch (err) {
        statuses.push(err instanceof Error ? err.message : String(err));
      }
      const wait = 50 - (Date.now() - t0);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  })();
  return {
    statuses,
    stop: async () => {
      running = false;
      await done;
      return statuses;
    },
  };
}

function assertAllOk(statuses: (number | string)[]) {
  assert.ok(statuses.length > 20, `only ${statuses.length} reads`);
  const bad = statuses.filter((s) => s !== 200);
  assert.deepEqual(bad, [], `${bad.length} of ${statuses.length} reads failed`);
}

/** The first line of Redis's answer to `AUTH user password` on a fresh connection. */
function auth(host: string, port: number, user: string, password: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port });
    let text = '';
    sock.setTimeout(3000, () => sock.destroy(new Error('no answer to AUTH')));
    sock.on('error', reject);
    sock.on('data', (d) => {
      text += d.toString();
      const eol = text.indexOf('\r\n');
      if (eol >= 0) {
        sock.end();
        resolve(text.slice(0, eol));
      }
    });
    sock.write(`AUTH ${user} ${password}\r\n`);
  });
}

function mode(file: string): number {
  return statSync(file).mode & 0o777;
}

describe('ha-stack rotate', () => {
  it('session-secret: two rolling phases, nobody logged out, old cookie and token still valid', async () => {
    const user = await loggedIn('session');
    const oldSecret = stack.sessionSecret;
    const read = reader(user.cookie);
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
    for (const name of ['app-1', 'app-2']) {
      assert.equal(stack.appEnv(name)['SESSION_SECRET'], next);
      assert.equal(stack.appEnv(name)['SESSION_SECRET_PREVIOUS'], oldSecret);
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
    const fresh = await loggedIn('after');
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
    await assert.rejects(client.rotate('operator-password'), /cannot rotate/);

    const user = await loggedIn('password');
    const old = stack.secrets.redis.app;
    const read = reader(user.cookie);
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
    // The apps run with the new password: reads and writes go on.
    const items = Object.fromEntries(PRODUCTS.map((p) => [p.id, 1]));
    const put = await user.c.request('PUT', '/api/cart', {
      json: { items },
      headers: { 'x-csrf-token': user.token },
    });
    assert.equal(put.status, 200);
    assert.deepEqual((await user.c.get('/api/cart')).json()['items'], items);
  });
});
