// HAProxy's front and its clients on one real stack: the client's address is the connection's
// (a forged X-Forwarded-For changes nothing, through the front or on an app's own port), slow
// senders are cut (headers and bodies), the per-address connection limit, the request log.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import type { Stack } from '../src/ops/supervisor/supervisor.ts';
import { waitFor } from '../src/ops/supervisor/wait.ts';
import { type Answer, send } from './helpers/http.ts';
import { masterClient, startTestStack } from './helpers/stack.ts';

/** Small limits, so that the tests reach them with a handful of requests and connections. */
const CONNECTIONS_PER_ADDRESS = 10;
const REGISTER_PER_ADDRESS = 3;

let stack: Stack;
let redis: Redis;
let front: { host: string; port: number };
let operatorFront: { host: string; port: number };
let n = 0;

before(async () => {
  stack = await startTestStack('security-front-clients', {
    connectionsPerAddress: CONNECTIONS_PER_ADDRESS,
    appEnv: { REGISTER_LIMIT_PER_IP: String(REGISTER_PER_ADDRESS) },
  });
  const h = stack.topology.haproxy;
  front = { host: h.host, port: h.httpPort };
  operatorFront = { host: h.host, port: h.statsPort };
  redis = await masterClient(stack);
});
after(async () => {
  redis?.disconnect();
  await stack?.stop();
});

/** Registrations from one connection address, each naming another client in X-Forwarded-For. */
async function registrations(to: { host: string; port: number }, from: string, forged: boolean) {
  const replies: Answer[] = [];
  for (let i = 0; i < REGISTER_PER_ADDRESS + 2; i++) {
    const body = JSON.stringify({ email: `who-${++n}@front.test`, password: 'front-pass-0123' });
    const headers: Record<string, string> = forged ? { 'x-forwarded-for': `203.0.113.${n}` } : {};
    replies.push(await send(to, 'POST', '/api/register', { headers, body, from }));
  }
  return replies;
}

const limited = [...Array(REGISTER_PER_ADDRESS).fill(201), 429, 429];

function assertLimited(replies: Answer[], what: string) {
  assert.deepEqual(
    replies.map((r) => r.status),
    limited,
    `${what}: ${replies.map((r) => r.body).join(' ')}`,
  );
  assert.equal(JSON.parse(replies.at(-1)!.body).error, 'too_many_registrations');
}

describe("the client's address is the connection's", () => {
  // The clients come from 127.0.0.1, the address the apps once believed X-Forwarded-For from: the
  // one where a forged header used to count.
  const LOCAL = '127.0.0.1';
  const counted = () => redis.keys('rl:register:ip:*');

  it('through the front, a forged X-Forwarded-For is replaced: the limit falls as without one', async () => {
    assertLimited(await registrations(front, '127.0.0.65', false), 'without a header');
    await redis.del(`rl:register:ip:${LOCAL}`);
    assertLimited(await registrations(front, LOCAL, true), 'each with another forged address');
    // Counted by the connection's address, which HAProxy passes on and the apps believe from it.
    assert.deepEqual((await counted()).sort(), [`rl:register:ip:${LOCAL}`, 'rl:register:ip:127.0.0.65']);
    // Another client of the front is its own: the apps do not count everyone as the proxy.
    const other = await registrations(front, '127.0.0.67', false);
    assert.equal(other[0]!.status, 201, other[0]!.body);
  });

  it("on an app's own port, X-Forwarded-For from anyone but HAProxy is ignored", async () => {
    await redis.del(`rl:register:ip:${LOCAL}`);
    for (const app of stack.topology.apps) {
      assertLimited(await registrations(app, LOCAL, true), `forged on ${app.name}'s port`);
      assert.equal(await redis.get(`rl:register:ip:${LOCAL}`), String(REGISTER_PER_ADDRESS));
      assert.deepEqual(await redis.keys('rl:register:ip:203.0.113.*'), []);
      await redis.del(`rl:register:ip:${LOCAL}`);
    }
  });
});

/** What a raw connection received until it closed (or `giveUpMs` passed: then `closed` is false). */
function untilClosed(socket: Socket, giveUpMs: number): Promise<{ answer: string; closed: boolean }> {
  let answer = '';
  socket.setEncoding('utf8');
  socket.on('data', (d) => {
    answer += d;
  });
  socket.on('error', () => undefined);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ answer, closed: false }), giveUpMs);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ answer, closed: true });
    });
  });
}

describe('slow and greedy clients', () => {
  it('closes a connection that sends its headers slowly (one line every 2 s) within 12 s', async () => {
    const started = Date.now();
    const socket = connect({ host: front.host, port: front.port, localAddress: '127.0.0.62' });
    const done = untilClosed(socket, 15_000);
    socket.write('GET /login HTTP/1.1\r\nHost: localhost\r\n');
    let i = 0;
    const drip = setInterval(() => {
      if (!socket.destroyed) socket.write(`X-Slow-${++i}: ${'x'.repeat(10)}\r\n`);
    }, 2000);
    const { answer, closed } = await done;
    const closedAfter = Date.now() - started;
    clearInterval(drip);
    socket.destroy();
    assert.ok(closed, 'still open after 15 s');
    assert.ok(closedAfter <= 12_000, `still open after ${closedAfter} ms`);
    assert.ok(closedAfter >= 9000, `closed after ${closedAfter} ms: too early for a 10 s limit`);
    assert.match(answer, /^HTTP\/1\.1 408 /);
  });

  it('cuts a request whose body comes a byte a second: 408 and the connection closed', async () => {
    const socket = connect({ host: front.host, port: front.port, localAddress: '127.0.0.69' });
    // The same limit as for headers (10 s); without it the app waited for the body for over a minute.
    const done = untilClosed(socket, 25_000);
    const body = JSON.stringify({ email: 'slow-body@front.test', password: 'front-pass-0123' });
    socket.write(
      `POST /api/register HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    let i = 0;
    const drip = setInterval(() => {
      if (!socket.destroyed && i < body.length - 1) socket.write(body[i++]!);
    }, 1000);
    const { answer, closed } = await done;
    clearInterval(drip);
    socket.destroy();
    assert.ok(closed, `the connection is still open (${i} bytes of the body sent): ${answer}`);
    assert.match(answer, /^HTTP\/1\.1 408 /, answer);
    assert.ok(i < body.length - 1, 'the whole body was sent before the cut');
  });

  it('refuses the connection over the per-address limit while the others stay open', async () => {
    const opened: Socket[] = [];
    const open = (from: string) =>
      new Promise<Socket | null>((resolve) => {
        const s = connect({ host: front.host, port: front.port, localAddress: from });
        s.once('connect', () => {
          // HAProxy accepts, then drops a connection over the limit at once: give it a moment to.
          s.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
          s.once('data', (d) => resolve(/^HTTP\/1\.1 200 /.test(String(d)) ? s : null));
        });
        s.once('error', () => resolve(null));
        s.once('close', () => resolve(null));
      });
    try {
      for (let i = 0; i < CONNECTIONS_PER_ADDRESS; i++) {
        const s = await open('127.0.0.63');
        assert.ok(s, `connection ${i + 1} of ${CONNECTIONS_PER_ADDRESS} refused`);
        opened.push(s);
      }
      assert.equal(await open('127.0.0.63'), null, `connection ${CONNECTIONS_PER_ADDRESS + 1} was served`);
      // Another address is not affected, and the N kept their connections.
      const other = await open('127.0.0.64');
      assert.ok(other, 'another address was refused');
      other.destroy();
      for (const s of opened) assert.equal(s.destroyed, false);
    } finally {
      for (const s of opened) s.destroy();
    }
    await waitFor(
      'the address to be let in again',
      async () => {
        const s = await open('127.0.0.63');
        s?.destroy();
        return s !== null;
      },
      { timeoutMs: 5000 },
    );
  });
});

describe('the request log', () => {
  it('has a line for every request of both fronts, without cookies, credentials or query strings', async () => {
    const log = () => readFileSync(stack.run.log('haproxy'), 'utf8');
    const secrets = {
      cookie: `sid-${Date.now()}-c`,
      query: `q-${Date.now()}-q`,
      auth: 'b3BlcmF0b3I6d3Jvbmc=',
    };
    const page = await send(front, 'GET', `/login?token=${secrets.query}`, {
      headers: { cookie: `sid=${secrets.cookie}`, authorization: `Basic ${secrets.auth}` },
      from: '127.0.0.70',
    });
    assert.equal(page.status, 200);
    const id = String(page.headers['x-request-id']);
    await waitFor('the page request in the log', () => log().includes(id), { timeoutMs: 5000 });
    const line = log()
      .split('\n')
      .find((l) => l.includes(id))!;
    assert.match(line, /^127\.0\.0\.70:\d+ \[[^\]]+\] http apps\/app-[12] [\d/-]+ 200 \d+ /);
    assert.match(line, / "GET" "\/login"$/);
    // A failed operator login is a line too: many of them leave a trace.
    const refused = await send(operatorFront, 'GET', '/stats', {
      headers: { authorization: `Basic ${secrets.auth}` },
      from: '127.0.0.71',
    });
    assert.equal(refused.status, 401);
    const failed =
      /^127\.0\.0\.71:\d+ \[[^\]]+\] operator operator\/<NOSRV> [\d/-]+ 401 .* "GET" "\/stats"$/m;
    await waitFor('the failed login in the log', () => failed.test(log()), { timeoutMs: 5000 });
    for (const [what, secret] of Object.entries(secrets))
      assert.ok(!log().includes(secret), `the ${what} is in HAProxy's log`);
  });
});
