// Over 300 lines: every attack on the app (24 cases) runs against one app and Redis started once.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { type AddressInfo, connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { buildApp } from '../src/app/app.ts';
import { readOperatorConfig } from '../src/app/operator/config.ts';
import { PRODUCTS } from '../src/app/products.ts';
import { Tokens } from '../src/app/security/tokens.ts';
import { loadConfig } from '../src/config/index.ts';
import type { Stack } from '../src/ops/supervisor/supervisor.ts';
import { waitFor } from '../src/ops/supervisor/wait.ts';
import { Client, type Reply } from './helpers/http.ts';
import { masterClient, startTestStack } from './helpers/stack.ts';

const OLD_SECRET = 'the-stack-secret-0123456789-abcdefghijklmnop';
const NEW_SECRET = 'the-rotated-secret-9876543210-qrstuvwxyzABCD';
const PASSWORD = 'owner-pass-0123';
const PER_PAIR = 5;
const SLOWDOWN_AFTER = 8;
const SLOWDOWN_MAX_S = 2;
const REGISTER_PER_ADDRESS = 3;
const PER_ADDRESS = 40;

let stack: Stack;
let redis: Redis;
let urls: string[];
let n = 0;
const email = (tag: string) => `${tag}-${++n}@security.test`;
/** A client address of its own for each caller, sent as the trusted proxy's X-Forwarded-For. */
const address = () => `10.${(++n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
const from = (ip: string) => ({ 'x-forwarded-for': ip });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const statuses = (replies: Reply[]) => {
  const out: Record<number, number> = {};
  for (const r of replies) out[r.status] = (out[r.status] ?? 0) + 1;
  return out;
};

before(async () => {
  stack = await startTestStack('security-app', {
    haproxy: false,
    apps: 2,
    appEnv: {
      SESSION_SECRET: OLD_SECRET,
      // The cost of production, so that hashing dominates a login as it does there.
      SCRYPT_COST: '16384',
      LOGIN_LIMIT_PER_EMAIL: String(PER_PAIR),
      LOGIN_LIMIT_PER_IP: String(PER_ADDRESS),
      LOGIN_SLOWDOWN_AFTER: String(SLOWDOWN_AFTER),
      LOGIN_SLOWDOWN_MAX_SECONDS: String(SLOWDOWN_MAX_S),
      REGISTER_LIMIT_PER_IP: String(REGISTER_PER_ADDRESS),
      // No HAProxy here: the tests play the proxy, from 127.0.0.1, to give each caller an address.
      TRUST_PROXY: '127.0.0.1',
    },
  });
  urls = stack.appUrls;
  redis = await masterClient(stack);
});

after(async () => {
  redis?.disconnect();
  await stack?.stop();
});

/** An app instance in this process on the stack's Redis, with other settings than the stack's. */
async function appWith(env: Record<string, string>) {
  const all = { ...stack.appEnv('app-1'), INSTANCE_ID: 'in-process', LOG_LEVEL: 'silent', ...env };
  const config = loadConfig(all);
  const built = await buildApp(config, { operator: readOperatorConfig(all, config.env) });
  await built.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = built.app.server.address() as AddressInfo;
  return { ...built, url: `http://127.0.0.1:${port}`, close: () => built.app.close() };
}

async function registered(tag: string, base = urls[0]!, password = PASSWORD) {
  const address_ = email(tag);
  const reg = await new Client(base).request('POST', '/api/register', {
    json: { email: address_, password },
    headers: from(address()),
  });
  assert.equal(reg.status, 201, reg.text);
  return address_;
}

async function loggedIn(who: string, base = urls[0]!, password = PASSWORD) {
  const c = new Client(base);
  const res = await c.request('POST', '/api/login', {
    json: { email: who, password },
    headers: from(address()),
  });
  assert.equal(res.status, 200, res.text);
  return { c, token: String(res.json()['csrfToken']) };
}

/**
 * The status of a request sent on a socket of its own. A body too large is refused on its
 * Content-Length, before it is read; the body is sent only if no answer came by then (once the
 * server has answered and closed, writing it would reset the connection and lose the answer).
 */
function rawStatus(base: string, path: string, contentType: string, body: string): Promise<number> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let data = '';
    const later = setTimeout(() => socket.end(body), 2000);
    socket.on('data', (d: Buffer) => {
      data += d.toString();
      const status = /^HTTP\/1\.1 (\d{3})/.exec(data);
      if (status) {
        clearTimeout(later);
        resolve(Number(status[1]));
        socket.destroy();
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(later);
      reject(new Error(`closed without an answer: ${data.slice(0, 100)}`));
    });
    socket.write(
      `POST ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: ${contentType}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`,
    );
  });
}

const attempt = (who: string, password: string, ip: string, base = urls[0]!) =>
  new Client(base).request('POST', '/api/login', { json: { email: who, password }, headers: from(ip) });

describe('login limits that hold under concurrency', () => {
  it('checks at most the limit of 50 simultaneous wrong passwords; the right one then waits an exact Retry-After', async () => {
    const who = await registered('burst');
    const ip = address();
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, i) => attempt(who, `wrong-${i}`, ip, urls[i % 2]!)),
    );
    assert.deepEqual(statuses(replies), { 401: PER_PAIR, 429: 50 - PER_PAIR });
    const pair = `rl:login:pair:{${who}}:${ip}`;
    assert.equal(await redis.get(pair), String(PER_PAIR), 'attempts counted = passwords checked');

    const right = await attempt(who, PASSWORD, ip);
    const ttl = Math.ceil((await redis.pttl(pair)) / 1000);
    assert.equal(right.status, 429, 'the right password waits too');
    assert.deepEqual(right.headers.getSetCookie(), []);
    const retry = Number(right.headers.get('retry-after'));
    assert.ok(retry >= ttl && retry <= ttl + 1, `Retry-After ${retry}, counter expires in ${ttl} s`);
    assert.match(String(right.json()['message']), new RegExp(`wait ${retry} s and try again`));
    assert.equal(await redis.get(pair), String(PER_PAIR), 'a refused attempt is not counted');

    // The right password among 50: it passes only if it was among the attempts checked.
    const other = await registered('burst-right');
    const ip2 = address();
    const mixed = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        attempt(other, i === 25 ? PASSWORD : `wrong-${i}`, ip2, urls[i % 2]!),
      ),
    );
    const s = statuses(mixed);
    assert.ok((s[401] ?? 0) + (s[200] ?? 0) <= PER_PAIR, JSON.stringify(s));
    assert.equal((s[401] ?? 0) + (s[200] ?? 0) + (s[429] ?? 0), 50, JSON.stringify(s));
  });

  it('an attacker elsewhere does not lock the owner out; many addresses only slow the email down', async () => {
    const who = await registered('owner');
    const attacker = address();
    for (let i = 0; i < PER_PAIR; i++) assert.equal((await attempt(who, 'guess', attacker)).status, 401);
    assert.equal((await attempt(who, 'guess', attacker)).status, 429);
    const owner = address();
    assert.equal((await attempt(who, PASSWORD, owner)).status, 200, 'the owner logs in from elsewhere');

    // From many addresses: past the threshold, each attempt for the email waits a growing while.
    // The attacker's refused attempt above counted for the email too.
    for (let i = PER_PAIR + 1; i <= SLOWDOWN_AFTER; i++) {
      assert.equal((await attempt(who, 'guess', address())).status, 401, `attempt ${i + 1}`);
    }
    const slowed = await attempt(who, PASSWORD, owner);
    assert.equal(slowed.status, 429);
    const retry = Number(slowed.headers.get('retry-after'));
    assert.ok(retry >= 1 && retry <= SLOWDOWN_MAX_S, `Retry-After ${retry}`);
    assert.match(
      String(slowed.json()['message']),
      /many failed logins from elsewhere.*wait \d+ s and try again/,
    );
    // The owner gets through once the wait has passed (refused attempts meanwhile are not counted).
    const started = Date.now();
    await waitFor('the owner to log in', async () => (await attempt(who, PASSWORD, owner)).status === 200, {
      timeoutMs: (SLOWDOWN_MAX_S + 2) * 1000,
      intervalMs: 200,
    });
    assert.ok(Date.now() - started <= (retry + 1) * 1000);
  });

  it('a successful login clears its own counter', async () => {
    const who = await registered('clears');
    const ip = address();
    for (let i = 0; i < PER_PAIR - 1; i++) assert.equal((await attempt(who, 'guess', ip)).status, 401);
    assert.equal((await attempt(who, PASSWORD, ip)).status, 200);
    assert.equal(await redis.exists(`rl:login:pair:{${who}}:${ip}`), 0);
    for (let i = 0; i < PER_PAIR - 1; i++) assert.equal((await attempt(who, 'guess', ip)).status, 401);
  });
});

describe('login limits a stranger cannot hold', () => {
  it('refused attempts cost the address: polling a locked email spends its budget', async () => {
    const ip = address();
    const who = await registered('poll');
    const replies: number[] = [];
    for (let i = 0; i < PER_ADDRESS; i++) replies.push((await attempt(who, 'guess', ip)).status);
    assert.deepEqual(replies, [...Array(PER_PAIR).fill(401), ...Array(PER_ADDRESS - PER_PAIR).fill(429)]);
    assert.equal(await redis.get(`rl:login:ip:${ip}`), String(PER_ADDRESS));
    const next = await attempt(email('poll-other'), 'guess', ip);
    assert.equal(next.status, 429, 'another email from that address');
    assert.match(String(next.json()['message']), /too many failed logins from your address/);
  });

  it('a flood from several addresses leaves the owner, with the device cookie of an earlier login, able to log in; a stranger waits', async () => {
    const who = await registered('held');
    const owner = new Client(urls[0]!);
    const ownerIp = address();
    const first = await owner.request('POST', '/api/login', {
      json: { email: who, password: PASSWORD },
      headers: from(ownerIp),
    });
    assert.equal(first.status, 200, first.text);
    const device = first.headers.getSetCookie().find((c) => c.startsWith('dev='));
    assert.ok(device, first.headers.getSetCookie().join(' | '));
    assert.match(device, /; HttpOnly; SameSite=Lax; Max-Age=15552000$/);

    // Six addresses guessing without pause, each taken over by a fresh one when it is refused for itself.
    const gate = `rl:login:gate:{${who}}`;
    let stop = false;
    const seen: Record<string, number> = {};
    const workers = Array.from({ length: 6 }, async (_, w) => {
      let ip = address();
      while (!stop) {
        const res = await attempt(who, `guess-${w}`, ip, urls[w % 2]!);
        const key = res.status === 429 ? String(res.json()['message']).slice(0, 30) : String(res.status);
        seen[key] = (seen[key] ?? 0) + 1;
        if (res.status === 429 && !/from elsewhere/.test(String(res.json()['message']))) ip = address();
      }
    });
    try {
      await waitFor('the flood to close the email gate', async () => (await redis.pttl(gate)) > 0);
      const owned: number[] = [];
      for (let i = 0; i < 10; i++) {
        const res = await owner.request('POST', '/api/login', {
          json: { email: who, password: PASSWORD },
          headers: from(i % 2 ? ownerIp : address()),
        });
        owned.push(res.status);
      }
      assert.deepEqual(owned, Array(10).fill(200), JSON.stringify(seen));
      assert.equal((await owner.get('/api/cart')).status, 200);
      // A stranger with the right password but no device cookie is judged with the flood.
      const stranger: Reply[] = [];
      for (let i = 0; i < 5; i++) stranger.push(await attempt(who, PASSWORD, address()));
      const refused = stranger.filter((r) => r.status === 429);
      assert.ok(refused.length >= 4, JSON.stringify(statuses(stranger)));
      for (const r of refused) assert.match(String(r.json()['message']), /many failed logins from elsewhere/);
      // The device cookie of this account names it alone: for another email it is a stranger's.
      const other = await registered('held-other');
      await redis.set(`rl:login:gate:{${other}}`, 'x', 'PX', 60_000);
      const elsewhere = await owner.request('POST', '/api/login', {
        json: { email: other, password: PASSWORD },
        headers: from(ownerIp),
      });
      assert.equal(elsewhere.status, 429, elsewhere.text);
    } finally {
      stop = true;
      await Promise.all(workers);
    }
    assert.ok((seen['401'] ?? 0) > 0 && Object.keys(seen).length > 1, JSON.stringify(seen));
  });

  it("a device cookie of an earlier life of the account is a stranger's", async () => {
    const who = await registered('device-reborn');
    const { c } = await loggedIn(who);
    assert.ok(c.cookies.get('dev'));
    await redis.del(`user:{${who}}`);
    const reg = await new Client(urls[1]!).request('POST', '/api/register', {
      json: { email: who, password: PASSWORD },
      headers: from(address()),
    });
    assert.equal(reg.status, 201);
    await redis.set(`rl:login:gate:{${who}}`, 'x', 'PX', 60_000);
    const res = await c.request('POST', '/api/login', {
      json: { email: who, password: PASSWORD },
      headers: from(address()),
    });
    assert.equal(res.status, 429, res.text);
    assert.match(String(res.json()['message']), /from elsewhere/);
  });

  it('an attempt answered 503 busy (no hashing slot) is given back', async () => {
    const app = await appWith({ HASH_CONCURRENCY: '2' });
    try {
      const tries = Array.from({ length: 200 }, (_, i) => ({ who: email(`busy-${i}`), ip: address() }));
      const replies = await Promise.all(tries.map((t) => attempt(t.who, 'guess', t.ip, app.url)));
      const busy = tries.filter((_, i) => replies[i]!.status === 503);
      assert.ok(busy.length > 0, JSON.stringify(statuses(replies)));
      assert.deepEqual(
        Object.keys(statuses(replies)).sort(),
        ['401', '503'],
        JSON.stringify(statuses(replies)),
      );
      for (const t of busy) {
        assert.equal(Number(await redis.get(`rl:login:ip:${t.ip}`)), 0, t.ip);
        assert.equal(Number(await redis.get(`rl:login:email:{${t.who}}`)), 0, t.who);
        assert.equal(Number(await redis.get(`rl:login:pair:{${t.who}}:${t.ip}`)), 0, t.who);
      }
      const checked = tries.find((_, i) => replies[i]!.status === 401)!;
      assert.equal(await redis.get(`rl:login:ip:${checked.ip}`), '1', 'a checked attempt stays counted');
    } finally {
      await app.close();
    }
  });

  it('an account keeps at most SESSIONS_PER_ACCOUNT sessions: a login beyond ends the oldest', async () => {
    const app = await appWith({ SESSIONS_PER_ACCOUNT: '2' });
    try {
      const who = await registered('capped');
      const browsers = [];
      for (let i = 0; i < 3; i++) browsers.push((await loggedIn(who, app.url)).c);
      const carts = await Promise.all(browsers.map(async (b) => (await b.get('/api/cart')).status));
      assert.deepEqual(carts, [401, 200, 200]);
      assert.equal(await redis.hlen(`sess:of:{${who}}`), 2);
      // A session that ended by itself makes room without ending another.
      await redis.del(`sess:${browsers[1]!.cookies.get('sid')!.split('.')[0]}`);
      const fourth = (await loggedIn(who, app.url)).c;
      assert.equal((await browsers[2]!.get('/api/cart')).status, 200);
      assert.equal((await fourth.get('/api/cart')).status, 200);
    } finally {
      await app.close();
    }
  });
});

describe('registration under a flood', () => {
  it('limits registrations per address, counted before the hash', async () => {
    const ip = address();
    const replies: Reply[] = [];
    for (let i = 0; i < REGISTER_PER_ADDRESS + 2; i++) {
      replies.push(
        await new Client(urls[i % 2]!).request('POST', '/api/register', {
          json: { email: email('per-address'), password: PASSWORD },
          headers: from(ip),
        }),
      );
    }
    assert.deepEqual(
      replies.map((r) => r.status),
      [...Array(REGISTER_PER_ADDRESS).fill(201), 429, 429],
    );
    const retry = Number(replies.at(-1)!.headers.get('retry-after'));
    const ttl = Math.ceil((await redis.pttl(`rl:register:ip:${ip}`)) / 1000);
    assert.ok(retry >= ttl && retry <= ttl + 1 && retry > 3500, `Retry-After ${retry}, ${ttl} s left`);
    assert.match(String(replies.at(-1)!.json()['message']), /wait \d+ s and try again/);
    // Another address is not affected.
    await registered('other-address', urls[1]!);
  });

  it('64 registrations at once from 64 addresses leave a login answered within 2x its idle time', async (t) => {
    const base = urls[0]!;
    const who = await registered('flood-owner', base);
    const ip = address();
    const timedLogin = async () => {
      const started = performance.now();
      const res = await attempt(who, PASSWORD, ip, base);
      assert.equal(res.status, 200, res.text);
      return performance.now() - started;
    };
    await timedLogin();
    // Rounds of idle and flooded logins in turn, so that the load of the machine itself weighs on both.
    const idle: number[] = [];
    const loaded: number[] = [];
    const floods: FloodReport[] = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 5; i++) idle.push(await timedLogin());
      const flood = startFlood(base, round);
      await flood.started;
      for (let i = 0; i < 5; i++) loaded.push(await timedLogin());
      floods.push(await flood.stop());
    }
    const figures = `login median ${median(loaded).toFixed(1)} ms under the flood, ${median(idle).toFixed(1)} ms idle`;
    t.diagnostic(`${figures}; ${JSON.stringify(floods.map((f) => f.seen))}`);
    assert.ok(median(loaded) <= 2 * median(idle), figures);
    for (const f of floods) {
      assert.deepEqual(
        Object.keys(f.seen).filter((s) => !['201', '429', '503'].includes(s)),
        [],
        JSON.stringify(f),
      );
      assert.ok((f.seen['503'] ?? 0) >= 64 && f.withoutRetryAfter === 0, JSON.stringify(f));
      // Refused at once, not after a wait for a hash as the accounts made were.
      assert.ok(f.refusedMs < f.createdMs / 2, JSON.stringify(f));
    }
  });
});

interface FloodReport {
  seen: Record<string, number>;
  withoutRetryAfter: number;
  refusedMs: number;
  createdMs: number;
}

/**
 * 64 clients at 64 addresses, each keeping a registration in flight, in a process of their own
 * (so that they do not share the event loop that times the logins). After a refusal a client
 * waits what Retry-After says (at most a second, to keep the pressure on): the answer is there to
 * push back, and a client that ignores it is a plain request flood, which the proxy's per-address
 * limits are for.
 */
const FLOOD = `
import http from 'node:http';
const base = process.env.FLOOD_URL, round = process.env.FLOOD_ROUND;
const agent = new http.Agent({ keepAlive: true });
let stop = false;
process.stdin.on('data', () => { stop = true; });
const seen = {}, times = { 201: [], 503: [] };
let withoutRetryAfter = 0, announced = false;
const send = (body, ip) => new Promise((resolve) => {
  const req = http.request(base + '/api/register', { method: 'POST', agent, headers: {
    'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-forwarded-for': ip } },
    (res) => { res.resume(); res.on('end', () => resolve(res)); });
  req.on('error', () => resolve({ statusCode: 0, headers: {} }));
  req.end(body);
});
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
await Promise.all(Array.from({ length: 64 }, async (_, i) => {
  for (let k = 0; !stop; k++) {
    const started = performance.now();
    const body = JSON.stringify({ email: 'flood-' + round + '-' + i + '-' + k + '@security.test', password: 'flood-pass-123' });
    const res = await send(body, '10.25' + round + '.0.' + (i + 1));
    const s = res.statusCode;
    seen[s] = (seen[s] ?? 0) + 1;
    times[s]?.push(performance.now() - started);
    const retry = res.headers['retry-after'];
    if (s === 503 && !/^[0-9]+$/.test(retry ?? '')) withoutRetryAfter++;
    if (!announced && seen[201] >= 1 && seen[503] >= 64) { announced = true; process.stdout.write('flooding\\n'); }
    if ((s === 503 || s === 429) && !stop) await new Promise((r) => setTimeout(r, Math.min(Number(retry) || 1, 1) * 1000));
  }
}));
agent.destroy();
process.stdout.write(JSON.stringify({ seen, withoutRetryAfter, refusedMs: median(times[503]), createdMs: median(times[201]) }) + '\\n');
`;

const floods = new Set<ChildProcess>();
after(() => {
  for (const child of floods) child.kill('SIGKILL');
});

function startFlood(base: string, round: number) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', FLOOD], {
    env: { ...process.env, FLOOD_URL: base, FLOOD_ROUND: String(round) },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  floods.add(child);
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exited = once(child, 'exit');
  return {
    started: waitFor('the flood to hash and to be refused', () => out.includes('flooding'), {
      abort: () => (child.exitCode !== null ? `the flood exited (${child.exitCode})` : undefined),
    }),
    stop: async (): Promise<FloodReport> => {
      child.stdin.end('stop\n');
      await exited;
      floods.delete(child);
      return JSON.parse(out.trim().split('\n').at(-1)!) as FloodReport;
    },
  };
}

describe('JSON means JSON, and no cross-site writes', () => {
  it('refuses a form-encoded or cross-site login: no session, no cookie', async () => {
    const who = await registered('csrf-login');
    const evil = { origin: 'https://evil.example' };
    const cases: [Parameters<Client['request']>[2], number][] = [
      [{ form: { email: who, password: PASSWORD }, headers: { ...evil, ...from(address()) } }, 403],
      [{ form: { email: who, password: PASSWORD }, headers: from(address()) }, 415],
      [
        {
          raw: JSON.stringify({ email: who, password: PASSWORD }),
          headers: { 'content-type': 'text/plain' },
        },
        415,
      ],
      [{ json: { email: who, password: PASSWORD }, headers: { ...evil, ...from(address()) } }, 403],
      [{ json: { email: who, password: PASSWORD }, headers: { 'sec-fetch-site': 'cross-site' } }, 403],
      [{ json: { email: who, password: PASSWORD }, headers: { origin: 'null' } }, 403],
    ];
    for (const [opts, status] of cases) {
      const res = await new Client(urls[0]!).request('POST', '/api/login', opts);
      assert.equal(res.status, status, `${JSON.stringify(opts)}: ${res.text}`);
      assert.deepEqual(res.headers.getSetCookie(), [], JSON.stringify(opts));
    }
    // However the path is spelled: the check reads the route (`/%61pi/login` is /api/login).
    const spelled = await new Client(urls[0]!).request('POST', '/%61pi/login', {
      raw: JSON.stringify({ email: who, password: PASSWORD }),
      headers: { 'content-type': 'text/plain', ...from(address()) },
    });
    assert.equal(spelled.status, 415, spelled.text);
    assert.equal(spelled.json()['error'], 'unsupported_media_type');
    const own = new URL(urls[0]!).origin;
    const ok = await new Client(urls[0]!).request('POST', '/api/login', {
      json: { email: who, password: PASSWORD },
      headers: { origin: own, 'sec-fetch-site': 'same-origin', ...from(address()) },
    });
    assert.equal(ok.status, 200);
  });

  it('refuses every cross-site write, pages and API, with a valid token or not', async () => {
    const who = await registered('csrf-writes');
    const { c, token } = await loggedIn(who);
    const cross = { origin: 'https://evil.example' };
    const p = PRODUCTS[0]!.id;
    const reg = email('cross-register');
    const writes: [string, string, Parameters<Client['request']>[2]][] = [
      ['POST', '/api/register', { json: { email: reg, password: PASSWORD }, headers: cross }],
      ['PUT', '/api/cart', { json: { items: { [p]: 3 } }, headers: { ...cross, 'x-csrf-token': token } }],
      ['DELETE', '/api/cart', { headers: { ...cross, 'x-csrf-token': token } }],
      ['POST', '/api/logout', { headers: { 'sec-fetch-site': 'cross-site', 'x-csrf-token': token } }],
      ['POST', '/add', { form: { _csrf: token, [`qty_${p}`]: '3' }, headers: cross }],
      ['POST', '/delete', { form: { _csrf: token }, headers: { 'sec-fetch-site': 'cross-site' } }],
      ['POST', '/logout', { form: { _csrf: token }, headers: cross }],
      ['POST', '/register', { form: { _csrf: token, email: reg, password: PASSWORD }, headers: cross }],
      ['POST', '/login', { form: { _csrf: token, email: who, password: PASSWORD }, headers: cross }],
    ];
    for (const [method, path, opts] of writes) {
      const res = await c.request(method, path, opts);
      assert.equal(res.status, 403, `${method} ${path}: ${res.text.slice(0, 200)}`);
    }
    assert.equal(await redis.exists(`user:{${reg}}`), 0);
    const cart = await c.get('/api/cart');
    assert.equal(cart.status, 200, 'the session lives on');
    assert.equal((cart.json()['items'] as Record<string, number>)[p], 0);
  });
});

describe('CSRF tokens and cookies', () => {
  it('on a logged-in browser, only its session token counts: an anonymous token is refused', async () => {
    const who = await registered('anon-token');
    const victim = new Client(urls[0]!);
    const login = await victim.request('POST', '/login', {
      form: { _csrf: await victim.formToken('/login'), email: who, password: PASSWORD },
      headers: from(address()),
    });
    assert.equal(login.status, 303);
    const p = PRODUCTS[1]!.id;
    assert.equal(
      (
        await victim.request('POST', '/add', {
          form: { _csrf: await victim.formToken('/add'), [`qty_${p}`]: '2' },
        })
      ).status,
      303,
    );
    // Someone else's anonymous cookie and token, planted beside the victim's session cookie.
    const attacker = new Client(urls[0]!);
    const anonToken = await attacker.formToken('/login');
    const planted = new Client(urls[0]!);
    planted.cookies.set('sid', victim.cookies.get('sid')!);
    planted.cookies.set('csrf', attacker.cookies.get('csrf')!);
    for (const [path, form] of [
      ['/add', { _csrf: anonToken, [`qty_${p}`]: '9' }],
      ['/delete', { _csrf: anonToken }],
      ['/logout', { _csrf: anonToken }],
    ] as const) {
      assert.equal((await planted.request('POST', path, { form })).status, 403, path);
    }
    const cart = await victim.get('/api/cart');
    assert.equal(cart.status, 200);
    assert.equal((cart.json()['items'] as Record<string, number>)[p], 2);
  });

  it('a page shown with an ended session gives a token its form accepts', async () => {
    const who = await registered('stale');
    const c = new Client(urls[0]!);
    assert.equal(
      (
        await c.request('POST', '/login', {
          form: { _csrf: await c.formToken('/login'), email: who, password: PASSWORD },
          headers: from(address()),
        })
      ).status,
      303,
    );
    await redis.del(`sess:${c.cookies.get('sid')!.split('.')[0]}`);
    const again = await c.request('POST', '/login', {
      form: { _csrf: await c.formToken('/login'), email: who, password: PASSWORD },
      headers: from(address()),
    });
    assert.equal(again.status, 303, again.text.slice(0, 200));
    assert.equal((await c.get('/get')).status, 200);
  });

  it('with COOKIE_SECURE the cookies are __Host- prefixed, written and read under that name only', async () => {
    const app = await appWith({ COOKIE_SECURE: 'true' });
    try {
      const who = await registered('host-prefix');
      const c = new Client(app.url);
      const page = await c.get('/login');
      const anon = page.headers.getSetCookie().find((s) => s.startsWith('__Host-csrf='));
      assert.ok(anon, page.headers.getSetCookie().join(' | '));
      const login = await c.request('POST', '/login', {
        form: { _csrf: /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!, email: who, password: PASSWORD },
        headers: from(address()),
      });
      assert.equal(login.status, 303, login.text.slice(0, 200));
      const sid = login.headers.getSetCookie().find((s) => s.startsWith('__Host-sid='));
      assert.ok(sid);
      for (const cookie of [anon, sid]) {
        assert.match(cookie, /; Secure/);
        assert.match(cookie, /; Path=\/(;|$)/);
        assert.doesNotMatch(cookie, /Domain=/i);
      }
      assert.equal((await c.get('/api/cart')).status, 200);
      const unprefixed = new Client(app.url);
      unprefixed.cookies.set('sid', c.cookies.get('__Host-sid')!);
      assert.equal((await unprefixed.get('/api/cart')).status, 401, 'the plain name is not read');
      const logout = await c.request('POST', '/logout', { form: { _csrf: await c.formToken('/get') } });
      assert.match(logout.headers.getSetCookie().join(), /__Host-sid=; .*Max-Age=0/);
    } finally {
      await app.close();
    }
  });
});

describe('sessions bound to their account', () => {
  it('a deleted account ends its sessions; the same email registered again does not revive them', async () => {
    const who = await registered('reborn');
    const { c: old, token } = await loggedIn(who);
    const p = PRODUCTS[2]!.id;
    await old.request('PUT', '/api/cart', {
      json: { items: { [p]: 1 } },
      headers: { 'x-csrf-token': token },
    });
    const oldCookies = old.cookieHeader();
    await redis.del(`user:{${who}}`, `cart:{${who}}`);
    assert.equal((await old.get('/api/cart', { cookie: oldCookies })).status, 401);
    const page = await new Client(urls[1]!).get('/get', { cookie: oldCookies });
    assert.equal(page.headers.get('location'), '/login?m=expired');

    const reg = await new Client(urls[1]!).request('POST', '/api/register', {
      json: { email: who, password: 'new-owner-pass-1' },
      headers: from(address()),
    });
    assert.equal(reg.status, 201);
    const { c: owner, token: ownerToken } = await loggedIn(who, urls[1]!, 'new-owner-pass-1');
    await owner.request('PUT', '/api/cart', {
      json: { items: { [p]: 7 } },
      headers: { 'x-csrf-token': ownerToken },
    });
    for (const base of urls) {
      const stale = new Client(base);
      assert.equal((await stale.get('/api/cart', { cookie: oldCookies })).status, 401, base);
      const view = await stale.get('/get', { cookie: oldCookies });
      assert.equal(view.status, 303, base);
      assert.doesNotMatch(view.text, />7</);
    }
    assert.equal((await owner.get('/api/cart')).status, 200);
  });

  it('a session ends at its absolute lifetime however often it is used; one without a generation is refused', async () => {
    const who = await registered('lifetime');
    const { c } = await loggedIn(who);
    const key = `sess:${c.cookies.get('sid')!.split('.')[0]}`;
    const stored = JSON.parse((await redis.get(key))!) as { created: number };
    assert.equal((await c.get('/get')).status, 200);
    // Made 12 h ago (the default lifetime) and used a minute ago: over.
    await redis.set(key, JSON.stringify({ ...stored, created: Date.now() - 43_200_000 }), 'KEEPTTL');
    assert.equal((await c.get('/get')).headers.get('location'), '/login?m=expired');

    const sid = new Tokens(OLD_SECRET).newId();
    await redis.set(`sess:${sid}`, JSON.stringify({ email: who, created: Date.now() }), 'EX', 600);
    const legacy = new Client(urls[0]!);
    legacy.cookies.set('sid', new Tokens(OLD_SECRET).sessionCookie(sid, who));
    assert.equal((await legacy.get('/api/cart')).status, 401, 'a session from before generations');
  });

  it('with a small SESSION_MAX_AGE_SECONDS, a session used all along ends on time', async () => {
    const app = await appWith({ SESSION_MAX_AGE_SECONDS: '2' });
    try {
      const who = await registered('short-life');
      const { c } = await loggedIn(who, app.url);
      const started = Date.now();
      const key = `sess:${c.cookies.get('sid')!.split('.')[0]}`;
      assert.ok((await redis.ttl(key)) <= 2, 'the key itself lives no longer than the lifetime');
      let lastOk = 0;
      await waitFor(
        'the session to end',
        async () => {
          const res = await c.get('/api/cart');
          if (res.status === 200) lastOk = Date.now() - started;
          return res.status === 401;
        },
        { timeoutMs: 5000, intervalMs: 200 },
      );
      const ended = Date.now() - started;
      assert.ok(lastOk >= 1000, `renewed until ${lastOk} ms`);
      assert.ok(ended >= 1800 && ended <= 3500, `ended after ${ended} ms`);
    } finally {
      await app.close();
    }
  });

  it('GET /get stays one write to Redis with the account check', async () => {
    const app = await appWith({});
    try {
      const who = await registered('one-trip');
      const { c } = await loggedIn(who, app.url);
      assert.equal((await c.get('/get')).status, 200);
      const socket = app.deps.redis.master.stream as Socket & { _write: unknown; _writev: unknown };
      let writes = 0;
      for (const name of ['_write', '_writev'] as const) {
        const original = socket[name] as (...args: unknown[]) => unknown;
        socket[name] = (...args: unknown[]) => {
          writes++;
          return original.apply(socket, args);
        };
      }
      const res = await app.app.inject({ method: 'GET', url: '/get', headers: { cookie: c.cookieHeader() } });
      assert.equal(res.statusCode, 200);
      assert.equal(writes, 1, 'session, generation and cart left in one write');
    } finally {
      await app.close();
    }
  });
});

describe('request ids and secret rotation', () => {
  it('keeps a short plain X-Request-Id and replaces any other', async () => {
    const log = stack.run.log('app-1');
    const idOf404 = async (id: string) => {
      const offset = (await readFile(log, 'utf8')).length;
      assert.equal((await new Client(urls[0]!).get('/no-such-page', { 'x-request-id': id })).status, 404);
      let found = '';
      await waitFor('the request log line', async () => {
        const line = (await readFile(log, 'utf8'))
          .slice(offset)
          .split('\n')
          .find((l) => l.includes('"status":404'));
        if (line) found = String((JSON.parse(line) as { reqId: string }).reqId);
        return line !== undefined;
      });
      return found;
    };
    assert.equal(await idOf404('trace-0123_ABC'), 'trace-0123_ABC');
    assert.equal(await idOf404('x'.repeat(64)), 'x'.repeat(64));
    for (const bad of ['x'.repeat(65), 'y'.repeat(6000), 'a b', '<script>', 'id;drop']) {
      const id = await idOf404(bad);
      assert.notEqual(id, bad);
      assert.match(id, /^[A-Za-z0-9_-]{1,64}$/);
    }
  });

  it('a cookie and token signed with the old secret work while it is SESSION_SECRET_PREVIOUS, not after', async () => {
    const who = await registered('rotation');
    const { c, token } = await loggedIn(who);
    const rotated = await appWith({ SESSION_SECRET: NEW_SECRET, SESSION_SECRET_PREVIOUS: OLD_SECRET });
    const after = await appWith({ SESSION_SECRET: NEW_SECRET });
    try {
      const p = PRODUCTS[3]!.id;
      c.base = rotated.url;
      assert.equal((await c.get('/api/cart')).status, 200);
      const put = await c.request('PUT', '/api/cart', {
        json: { items: { [p]: 4 } },
        headers: { 'x-csrf-token': token },
      });
      assert.equal(put.status, 200, 'the token of the old secret');
      // A form shown by an instance with the old secret, sent to the rotated one.
      const anon = new Client(urls[1]!);
      const formToken = await anon.formToken('/login');
      anon.base = rotated.url;
      const login = await anon.request('POST', '/login', {
        form: { _csrf: formToken, email: who, password: PASSWORD },
        headers: from(address()),
      });
      assert.equal(login.status, 303, login.text.slice(0, 200));
      // New cookies are signed with the new secret only.
      anon.base = urls[0]!;
      assert.equal(
        (await anon.get('/api/cart')).status,
        401,
        'the old secret does not verify the new cookie',
      );
      anon.base = after.url;
      assert.equal((await anon.get('/api/cart')).status, 200);
      c.base = after.url;
      assert.equal(
        (await c.get('/api/cart')).status,
        401,
        'once the old secret is dropped, its cookies are not',
      );
    } finally {
      await rotated.close();
      await after.close();
    }
  });
});

describe('what held before', () => {
  it('refuses every mutated session cookie without a 5xx', async () => {
    const who = await registered('mutated');
    const { c } = await loggedIn(who);
    const value = c.cookies.get('sid')!;
    const [sid, mail, sig] = value.split('.') as [string, string, string];
    const mutations = new Set<string>([
      '',
      '.',
      '..',
      value.slice(0, -1),
      `${value}.`,
      `${value}x`,
      `.${value}`,
    ]);
    for (let len = 0; len < sig.length; len++) mutations.add(`${sid}.${mail}.${sig.slice(0, len)}`);
    for (let i = 0; i < value.length; i++) {
      if (value[i] === '.') continue;
      mutations.add(`${value.slice(0, i)}${value[i] === 'A' ? 'B' : 'A'}${value.slice(i + 1)}`);
    }
    for (const other of ['eve@security.test', who.toUpperCase(), `${who} `])
      mutations.add(`${sid}.${Buffer.from(other).toString('base64url')}.${sig}`);
    mutations.delete(value);
    const forged = new Client(urls[0]!);
    for (const m of mutations) {
      forged.cookies.set('sid', m);
      const api = await forged.get('/api/cart');
      assert.equal(api.status, 401, m);
      const page = await forged.get('/get');
      assert.equal(page.status, 303, m);
    }
    assert.ok(mutations.size > 100, `${mutations.size} mutations`);
    assert.equal((await c.get('/api/cart')).status, 200);
  });

  it('a new session id at every login, the old one deleted; logout ends the session server-side', async () => {
    const who = await registered('rotate-id');
    const { c } = await loggedIn(who);
    const first = c.cookies.get('sid')!.split('.')[0]!;
    const again = await c.request('POST', '/api/login', {
      json: { email: who, password: PASSWORD },
      headers: from(address()),
    });
    assert.equal(again.status, 200);
    const second = c.cookies.get('sid')!.split('.')[0]!;
    assert.notEqual(second, first);
    assert.equal(await redis.exists(`sess:${first}`), 0);
    const saved = c.cookieHeader();
    assert.equal(
      (await c.request('POST', '/logout', { form: { _csrf: await c.formToken('/get') } })).status,
      303,
    );
    assert.equal(await redis.exists(`sess:${second}`), 0);
    const replay = await new Client(urls[1]!).get('/get', { cookie: saved });
    assert.equal(replay.headers.get('location'), '/login?m=expired');
  });

  it('escapes what a visitor typed, and answers hostile bodies with a 4xx', async () => {
    const payloads = [
      '<script>alert(1)</script>',
      '"><img src=x onerror=alert(1)>',
      "'><svg onload=alert(1)>",
      '</textarea><script>alert(1)</script>',
      'javascript:alert(1)',
      '{{constructor.constructor("alert(1)")()}}',
      '<iframe src="https://evil.example">',
      '&lt;b&gt;',
      '\u003cscript\u003e',
    ];
    for (const payload of payloads) {
      const c = new Client(urls[0]!);
      const res = await c.request('POST', '/login', {
        form: { _csrf: await c.formToken('/login'), email: payload, password: 'x' },
      });
      assert.equal(res.status, 400, payload);
      assert.ok(!res.text.includes(payload) || !/[<>"']/.test(payload), `unescaped: ${payload}`);
    }
    const c = new Client(urls[0]!);
    const hostile: [string, string, number][] = [
      ['/api/login', `{"__proto__":{"admin":true},"email":"a@b.co","password":"x"}`, 400],
      ['/api/login', `{"constructor":{"prototype":{"admin":true}},"email":"a@b.co","password":"x"}`, 400],
      ['/api/login', `${'['.repeat(5000)}${']'.repeat(5000)}`, 400],
    ];
    for (const [path, raw, status] of hostile) {
      const res = await c.request('POST', path, { raw, headers: { 'content-type': 'application/json' } });
      assert.equal(res.status, status, raw.slice(0, 60));
    }
    const mb = 'a'.repeat(1_000_000);
    assert.equal(
      await rawStatus(urls[0]!, '/api/login', 'application/json', JSON.stringify({ email: mb })),
      413,
    );
    assert.equal(
      await rawStatus(urls[0]!, '/login', 'application/x-www-form-urlencoded', `email=${mb}`),
      413,
    );
  });
});
