// The two fronts of HAProxy on one real stack: the site (public) and the operator's (stats,
// topology, metrics behind a login); request ids made at the front. Slow and greedy clients, the
// client's address and the request log: security-front-clients.test.ts.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { type IncomingHttpHeaders, type IncomingMessage, request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { Stack } from '../src/ops/supervisor/supervisor.ts';
import { waitFor } from '../src/ops/supervisor/wait.ts';
import { PROXY_SOURCE_ADDRESS } from '../src/ops/topology.ts';
import { type Answer, send } from './helpers/http.ts';
import { startTestStack } from './helpers/stack.ts';

/** Small limits, so that the tests reach them with a handful of streams. */
const STREAMS_PER_ADDRESS = 2;
const STREAMS_PER_INSTANCE = 3;

let stack: Stack;
let front: { host: string; port: number };
let operatorFront: { host: string; port: number };
let basic: string;

before(async () => {
  stack = await startTestStack('security-front', {
    appEnv: {
      TOPOLOGY_STREAMS_PER_ADDRESS: String(STREAMS_PER_ADDRESS),
      TOPOLOGY_STREAMS_PER_INSTANCE: String(STREAMS_PER_INSTANCE),
    },
  });
  const h = stack.topology.haproxy;
  front = { host: h.host, port: h.httpPort };
  operatorFront = { host: h.host, port: h.statsPort };
  const password = readFileSync(`${stack.run.dir}/operator.password`, 'utf8').trim();
  basic = `Basic ${Buffer.from(`operator:${password}`).toString('base64')}`;
});
after(async () => {
  await stack?.stop();
});

/** A GET on a connection of its own, optionally from another loopback address. */
const get = (
  to: { host: string; port: number },
  path: string,
  opts: { headers?: Record<string, string>; from?: string } = {},
): Promise<Answer> => send(to, 'GET', path, opts);

/** An event stream held open until `close()`; a refused one is read to its end. */
function openStream(
  to: { host: string; port: number },
  headers: Record<string, string>,
  from?: string,
): Promise<{ status: number; headers: IncomingHttpHeaders; close: () => void }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: to.host,
        port: to.port,
        path: '/api/topology/stream',
        headers,
        localAddress: from,
        agent: false,
      },
      (res: IncomingMessage) => {
        if (res.statusCode !== 200) res.resume();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, close: () => req.destroy() });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const appUrl = (name: string) => {
  const a = stack.topology.apps.find((x) => x.name === name)!;
  return { host: a.host, port: a.port };
};

describe('the public front shows only the site', () => {
  it("answers 404 to every operator path, however it is spelled, and serves the site's pages", async () => {
    for (const path of [
      '/metrics',
      '/topology',
      '/api/topology',
      '/api/topology/stream',
      '/metrics/app-1',
      '/METRICS',
      '/%6detrics',
      '/api/topology?x=1',
    ]) {
      const res = await get(front, path, { headers: { authorization: basic } });
      assert.equal(res.status, 404, `${path} on the public front`);
      assert.doesNotMatch(res.body, /http_requests_total|redis-1|sentinel/, path);
    }
    for (const path of ['/login', '/register', '/healthz', '/static/app.css']) {
      const res = await get(front, path);
      assert.equal(res.status, 200, path);
      assert.match(String(res.headers['x-instance']), /^app-[12]$/);
    }
    // The pages no longer link to the operator's view.
    assert.doesNotMatch((await get(front, '/login')).body, /href="\/topology"/);
  });

  it('the apps themselves refuse the operator views to a request without the password', async () => {
    for (const app of ['app-1', 'app-2']) {
      for (const path of ['/metrics', '/topology', '/api/topology', '/api/topology/stream']) {
        // As a local user reaching the app's port directly, with a forged header for good measure.
        const res = await get(appUrl(app), path, {
          headers: { 'x-forwarded-for': '127.0.0.1', authorization: 'Basic b3BlcmF0b3I6d3Jvbmc=' },
        });
        assert.equal(res.status, 404, `${app} ${path}`);
      }
      const ok = await get(appUrl(app), '/metrics', { headers: { authorization: basic } });
      assert.equal(ok.status, 200);
      assert.match(ok.body, new RegExp(`instance_id="${app}"`));
    }
  });
});

describe('the operator front', () => {
  const paths = ['/stats', '/topology', '/api/topology', '/metrics/app-1', '/metrics/app-2'];

  it('asks for the login on every path, and refuses a wrong password', async () => {
    for (const path of [...paths, '/api/topology/stream', '/anything']) {
      const res = await get(operatorFront, path);
      assert.equal(res.status, 401, path);
      assert.match(String(res.headers['www-authenticate']), /^Basic realm="redis-ha-stack"/);
      const wrong = await get(operatorFront, path, { headers: { authorization: 'Basic b3BlcmF0b3I6eA==' } });
      assert.equal(wrong.status, 401, `${path} with a wrong password`);
    }
  });

  it("serves the stats, the topology page, its API and stream, and each app's metrics with it", async () => {
    const as = { headers: { authorization: basic } };
    for (const path of paths) assert.equal((await get(operatorFront, path, as)).status, 200, path);
    for (const app of ['app-1', 'app-2']) {
      const m = await get(operatorFront, `/metrics/${app}`, as);
      assert.equal(m.headers['x-instance'], app);
      assert.match(m.body, new RegExp(`^http_requests_total\\{instance_id="${app}"`, 'm'));
    }
    const topo = await get(operatorFront, '/api/topology', as);
    assert.equal(topo.status, 200);
    const snapshot = JSON.parse(topo.body) as {
      haproxy: { up: boolean; error: string | null; apps: { server: string }[] };
    };
    // The apps read HAProxy's stats through the same login.
    assert.equal(snapshot.haproxy.up, true, String(snapshot.haproxy.error));
    assert.deepEqual(snapshot.haproxy.apps.map((a) => a.server).sort(), ['app-1', 'app-2']);
    const page = await get(operatorFront, '/topology', as);
    assert.match(page.body, /<script src="\/static\/topology\.js" defer>/);
    for (const asset of ['/static/topology.js', '/static/app.css'])
      assert.equal((await get(operatorFront, asset, as)).status, 200, asset);
    const stream = await openStream(operatorFront, { authorization: basic });
    assert.equal(stream.status, 200);
    assert.match(String(stream.headers['content-type']), /^text\/event-stream/);
    stream.close();
    assert.equal((await get(operatorFront, '/login', as)).status, 404, 'the site is not on this front');
  });

  it('shows no version and offers no admin action on the stats page', async () => {
    const res = await get(operatorFront, '/stats', { headers: { authorization: basic } });
    assert.equal(res.status, 200);
    const version = /HAProxy version (\S+)/.exec(execFileSync('haproxy', ['-v'], { encoding: 'utf8' }))![1]!;
    assert.ok(!res.body.includes(version), `the page shows the version ${version}`);
    assert.doesNotMatch(res.body, /name="action"|method="post"/i);
  });
});

describe('topology event streams', () => {
  it('are capped per client address and per instance (429 with Retry-After)', async () => {
    // On one app directly, from HAProxy's own source address: X-Forwarded-For is believed from it.
    const app = appUrl('app-1');
    const as = (client: string) => ({ authorization: basic, 'x-forwarded-for': client });
    const open: { close: () => void }[] = [];
    try {
      for (let i = 0; i < STREAMS_PER_ADDRESS; i++) {
        const s = await openStream(app, as('203.0.113.1'), PROXY_SOURCE_ADDRESS);
        assert.equal(s.status, 200);
        open.push(s);
      }
      const refused = await openStream(app, as('203.0.113.1'), PROXY_SOURCE_ADDRESS);
      assert.equal(refused.status, 429, 'one address over its limit');
      assert.equal(refused.headers['retry-after'], '10');
      const other = await openStream(app, as('203.0.113.2'), PROXY_SOURCE_ADDRESS);
      assert.equal(other.status, 200, 'another address still gets one');
      open.push(other);
      const full = await openStream(app, as('203.0.113.3'), PROXY_SOURCE_ADDRESS);
      assert.equal(full.status, 429, 'the instance over its limit');
    } finally {
      for (const s of open) s.close();
    }
    // Closed streams give their places back.
    await waitFor(
      'the streams to be released',
      async () => {
        const s = await openStream(app, as('203.0.113.1'), PROXY_SOURCE_ADDRESS);
        s.close();
        return s.status === 200;
      },
      { timeoutMs: 5000 },
    );
  });

  it('count the real client through the operator front', async () => {
    // Round robin over two apps: one address gets at most STREAMS_PER_ADDRESS on each.
    const open: { status: number; close: () => void }[] = [];
    try {
      for (let i = 0; i < 2 * STREAMS_PER_ADDRESS + 1; i++)
        open.push(await openStream(operatorFront, { authorization: basic }, '127.0.0.61'));
      const statuses = open.map((s) => s.status);
      assert.ok(statuses.filter((s) => s === 200).length <= 2 * STREAMS_PER_ADDRESS, statuses.join());
      assert.ok(statuses.includes(429), statuses.join());
    } finally {
      for (const s of open) s.close();
    }
  });
});

describe('request ids', () => {
  it("are made by the front, replacing the client's, and reach the app's log", async () => {
    const mine = `client-chosen-${Date.now()}`;
    const path = `/no-such-page-${Date.now()}`;
    const res = await get(front, path, { headers: { 'x-request-id': mine } });
    assert.equal(res.status, 404);
    const id = String(res.headers['x-request-id']);
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const logs = () => ['app-1', 'app-2'].map((n) => readFileSync(stack.run.log(n), 'utf8')).join('\n');
    await waitFor('the app to log the request', () => logs().includes(`"reqId":"${id}"`), {
      timeoutMs: 5000,
    });
    assert.ok(!logs().includes(mine), "the client's id reached the app");
    const again = await get(front, path, { headers: { 'x-request-id': mine } });
    assert.notEqual(again.headers['x-request-id'], id, 'each request gets an id of its own');
  });
});
