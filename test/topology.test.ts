import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Stack } from '../src/ops/supervisor/supervisor.ts';
import { waitFor } from '../src/ops/supervisor/wait.ts';
import { Client } from './helpers/http.ts';
import { startTestStack } from './helpers/stack.ts';

// The topology page is the operator's: reached on HAProxy's operator front, with its login.
let stack: Stack;
let operator: string;
let login: Record<string, string>;

before(async () => {
  stack = await startTestStack('topology');
  operator = new URL('/', stack.statsUrl).href.replace(/\/$/, '');
  login = { authorization: `Basic ${Buffer.from(`operator:${stack.operatorPassword}`).toString('base64')}` };
});
after(async () => {
  await stack?.stop();
});

interface Snapshot {
  observer: string;
  master: { name: string } | null;
  missing: string[];
  nodes: { name: string; role: string; up: boolean; link: string | null; offset: number | null }[];
  sentinels: { name: string; master: string | null }[];
  haproxy: { configured: boolean; up: boolean; apps: { server: string; ready: boolean }[] };
}

/** An open event stream: its events as they come, and a way to hang up. */
async function openStream(url: string) {
  const controller = new AbortController();
  const res = await fetch(url, { headers: login, signal: controller.signal });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  const next = async (): Promise<{ event: string; data: string } | null> => {
    for (;;) {
      const end = buffer.indexOf('\n\n');
      if (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) return { event, data };
        continue;
      }
      const { value, done } = await reader.read();
      if (done) return null;
      buffer += value;
    }
  };
  return { res, next, close: () => controller.abort(), reader };
}

/** A gauge of one app's metrics, as the operator front shows them. */
const gauge = async (app: string, name: string) => {
  const text = (await new Client(operator).get(`/metrics/${app}`, login)).text;
  const m = new RegExp(`^${name}\\{[^}]*\\} (\\d+)$`, 'm').exec(text);
  assert.ok(m, `${name} missing from /metrics`);
  return Number(m[1]);
};

describe('topology observer', () => {
  it('polls only while someone watches, and stops after the last one leaves', async () => {
    for (const app of ['app-1', 'app-2'])
      assert.equal(await gauge(app, 'topology_observer_running'), 0, `${app} started before anyone asked`);
    // The cart, the hot path, does not start it either.
    for (let i = 0; i < 2; i++) await new Client(stack.frontUrl).get('/get');
    for (const app of ['app-1', 'app-2']) assert.equal(await gauge(app, 'topology_observer_running'), 0);

    const stream = await openStream(`${operator}/api/topology/stream`);
    assert.equal(stream.res.status, 200);
    assert.match(stream.res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const app = stream.res.headers.get('x-instance') ?? '';
    assert.match(app, /^app-[12]$/);
    const first = await stream.next();
    assert.equal(first?.event, 'snapshot');
    const s = JSON.parse(first!.data) as Snapshot;
    assert.equal(s.observer, app);
    assert.equal(await gauge(app, 'topology_observer_running'), 1);
    assert.equal(await gauge(app, 'topology_streams'), 1);

    stream.close();
    await waitFor(
      'the stream to be closed on the server',
      async () => (await gauge(app, 'topology_streams')) === 0,
      {
        timeoutMs: 5000,
      },
    );
    await waitFor('the observer to stop', async () => (await gauge(app, 'topology_observer_running')) === 0, {
      timeoutMs: 15_000,
    });
  });

  it("GET /api/topology: every node, Sentinel and HAProxy's view of the apps", async () => {
    const res = await new Client(operator).get('/api/topology', login);
    assert.equal(res.status, 200);
    const s = res.json() as unknown as Snapshot;
    assert.deepEqual(
      s.nodes.map((n) => n.name),
      ['redis-1', 'redis-2', 'redis-3'],
    );
    const masters = s.nodes.filter((n) => n.role === 'master');
    assert.equal(masters.length, 1);
    assert.equal(s.master?.name, masters[0]!.name);
    for (const n of s.nodes.filter((x) => x.role === 'replica')) {
      assert.equal(n.up, true);
      assert.equal(n.link, 'up');
      assert.ok((n.offset ?? 0) > 0);
    }
    assert.deepEqual(
      s.sentinels.map((x) => [x.name, x.master]),
      ['sentinel-1', 'sentinel-2', 'sentinel-3'].map((name) => [name, masters[0]!.name]),
    );
    // The apps read HAProxy's stats page with the operator's password.
    assert.equal(s.haproxy.configured, true);
    assert.equal(s.haproxy.up, true);
    assert.deepEqual(s.haproxy.apps.map((a) => [a.server, a.ready]).sort(), [
      ['app-1', true],
      ['app-2', true],
    ]);
    assert.deepEqual(s.missing, []);
  });

  it('the page renders the state and loads its script from the server, with no inline script', async () => {
    const c = new Client(operator);
    const page = await c.get('/topology', login);
    assert.equal(page.status, 200);
    assert.match(page.text, /<strong data-master="redis-\d">/);
    assert.match(page.text, /<script src="\/static\/topology\.js" defer><\/script>/);
    assert.equal((page.text.match(/<script/g) ?? []).length, 1);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self';/);
    const js = await c.get('/static/topology.js', login);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.match(js.text, /EventSource\('\/api\/topology\/stream\?format=html'\)/);
  });

  it('an open stream does not hold up a stopping instance', async () => {
    const stream = await openStream(`${operator}/api/topology/stream?format=html`);
    assert.equal((await stream.next())?.event, 'sections');
    const app = stream.res.headers.get('x-instance') ?? '';
    const started = Date.now();
    // SIGTERM: drain (2.5 s), then close; the process is killed only after its 15 s stop deadline.
    await stack.restart(app);
    const took = Date.now() - started;
    // Read what was sent before the end; a stream left open would hang here until the deadline.
    const ended = (async () => {
      while ((await stream.next()) !== null);
      return true;
    })();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), 5000);
    });
    const closed = await Promise.race([ended, deadline]);
    clearTimeout(timer);
    stream.close();
    assert.ok(closed, 'the stream was not ended by the server');
    assert.ok(took < 9000, `${app} took ${took} ms to stop and start again`);
  });
});
