// Who may do what on Redis and the Sentinels of a real stack: an ACL user per client with only what
// its job needs, `default` off, every Sentinel behind its password, the run directory its owner's
// alone, and a warning before a node's memory is full. Replication and failover still work.
// Over 300 lines: every ACL user and Sentinel password is checked on one stack started once.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { alarms } from '../src/app/operator/topology/snapshot.ts';
import { LIBRARY_CODE } from '../src/app/stores/functions.ts';
import { hasLibrary } from '../src/ha/functions.ts';
import { memoryAlarm } from '../src/ha/info.ts';
import { haproxyStats, nodeState, type RedisLogin, upServers, withRedis } from '../src/ha/probes.ts';
import { REDIS_USERS, type RedisUser } from '../src/ops/render/acl.ts';
import { renderRedisConf } from '../src/ops/render/redis.ts';
import { collectStatus } from '../src/ops/status.ts';
import { freePort } from '../src/ops/supervisor/ports.ts';
import { DIR_MODE, FILE_MODE, SECRET_FILES } from '../src/ops/supervisor/rundir.ts';
import { Stack } from '../src/ops/supervisor/supervisor.ts';
import { waitFor } from '../src/ops/supervisor/wait.ts';
import { defineTopology, type RedisNode } from '../src/ops/topology.ts';
import { Client } from './helpers/http.ts';
import { freePorts, killMaster, startTestStack, tempDirs } from './helpers/stack.ts';

const tempDir = tempDirs();

/** The first line of a node's reply to one command sent with no login at all. */
function rawCommand(host: string, port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, host, () => sock.write(`${command}\r\n`));
    sock.setTimeout(2000, () => sock.destroy(new Error('no reply')));
    sock.once('data', (d) => {
      resolve(d.toString().split('\r\n')[0] ?? '');
      sock.destroy();
    });
    sock.once('error', reject);
  });
}

/** Every folder and file under `dir` whose mode is not 0700 / 0600, with its mode. */
function notPrivate(dir: string): string[] {
  const wrong: string[] = [];
  const walk = (path: string) => {
    const st = lstatSync(path);
    const mode = st.mode & 0o777;
    if (st.isDirectory()) {
      if (mode !== DIR_MODE) wrong.push(`${path} ${mode.toString(8)}`);
      for (const e of readdirSync(path)) walk(join(path, e));
    } else if (mode !== FILE_MODE) wrong.push(`${path} ${mode.toString(8)}`);
  };
  walk(dir);
  return wrong;
}

let s: Stack;
let master: RedisNode;

before(async () => {
  s = await startTestStack('security-redis', { apps: 1, haproxy: true });
  master = (await s.redisMaster())!;
});

after(async () => {
  await s?.stop();
});

const as = (user: RedisUser): RedisLogin => ({ username: user, password: s.secrets.redis[user] });
const call = (user: RedisUser, command: string, ...args: (string | number)[]) =>
  withRedis(master.host, master.port, as(user), (r) => r.call(command, ...args));
const refused = (user: RedisUser, command: string, ...args: (string | number)[]) =>
  assert.rejects(call(user, command, ...args), /NOPERM/, `${user}: ${command} ${args.join(' ')}`);

describe('Redis ACL users', () => {
  it('app: its own keys and commands, nothing else', async () => {
    assert.equal(await call('app', 'SET', 'cart:{probe@example.org}', 'x'), 'OK');
    assert.equal(await call('app', 'GET', 'cart:{probe@example.org}'), 'x');
    assert.equal(await call('app', 'DEL', 'cart:{probe@example.org}'), 1);
    // The library's functions, not Lua of its own (test/security-privilege.test.ts).
    assert.equal(await call('app', 'FCALL', 'ensure_generation', 1, 'user:{probe}', 'g'), null);
    await refused('app', 'EVAL', "return redis.call('EXISTS', KEYS[1])", 1, 'user:{probe}');
    assert.match(String(await call('app', 'INFO', 'replication')), /role:master/);
    await refused('app', 'GET', 'other:key');
    await refused('app', 'SET', 'config', '1');
    // A function runs with its caller's permissions.
    await assert.rejects(call('app', 'FCALL', 'reserve_one', 1, 'other:key', 10, 60), /NOPERM|permissions/);
    await refused('app', 'CONFIG', 'GET', 'maxmemory');
    await refused('app', 'CONFIG', 'SET', 'maxmemory', '0');
    await refused('app', 'FLUSHALL');
    await refused('app', 'FLUSHDB');
    await refused('app', 'KEYS', '*');
    await refused('app', 'DEBUG', 'SLEEP', '0');
    await refused('app', 'SHUTDOWN', 'NOSAVE');
    await refused('app', 'ACL', 'LIST');
    await refused('app', 'SCRIPT', 'FLUSH');
    await refused('app', 'MODULE', 'LIST');
    await refused('app', 'REPLICAOF', 'NO', 'ONE');
    await refused('app', 'MIGRATE', '127.0.0.1', '1', 'cart:{x}', '0', '100');
  });

  it('sentinel, replication and haproxy: only what their job needs', async () => {
    await refused('sentinel', 'GET', 'cart:{probe@example.org}');
    await refused('sentinel', 'SET', 'x', '1');
    await refused('sentinel', 'FLUSHALL');
    assert.match(String(await call('sentinel', 'INFO', 'replication')), /role:master/);
    await refused('replication', 'GET', 'cart:{probe@example.org}');
    await refused('replication', 'INFO');
    assert.equal(await call('replication', 'PING'), 'PONG');
    assert.equal(await call('haproxy', 'PING'), 'PONG');
    assert.match(String(await call('haproxy', 'INFO', 'replication')), /role:master/);
    await refused('haproxy', 'GET', 'cart:{probe@example.org}');
    await refused('haproxy', 'CONFIG', 'GET', 'maxmemory');
    await refused('haproxy', 'CLIENT', 'LIST');
    // The operator may do anything.
    assert.ok(Array.isArray(await call('operator', 'ACL', 'LIST')));
  });

  it('default is off on every node and the Redis front: no password alone logs in', async () => {
    const front = s.redisFront;
    for (const n of [...s.topology.redis, front]) {
      const where = `${n.host}:${n.port}`;
      assert.match(await rawCommand(n.host, n.port, 'PING'), /^-NOAUTH/, where);
      assert.match(await rawCommand(n.host, n.port, 'GET cart:{x}'), /^-NOAUTH/, where);
      for (const pw of ['anything', s.secrets.redis.operator, s.secrets.redis.app])
        assert.match(await rawCommand(n.host, n.port, `AUTH ${pw}`), /^-WRONGPASS/, where);
      assert.match(
        await rawCommand(n.host, n.port, `HELLO 3 AUTH default ${s.secrets.redis.operator}`),
        /^-WRONGPASS/,
        where,
      );
    }
    const users = (await call('operator', 'ACL', 'LIST')) as string[];
    assert.ok(
      users.some((u) => /^user default off\b/.test(u)),
      users.find((u) => u.startsWith('user default')),
    );
  });
});

describe('Sentinels', () => {
  it('refuse SENTINEL SET, FAILOVER, MONITOR and REMOVE without the password, on every Sentinel', async () => {
    const m = s.topology.masterName;
    for (const x of s.topology.sentinels) {
      for (const command of [
        `SENTINEL SET ${m} down-after-milliseconds 1`,
        `SENTINEL FAILOVER ${m}`,
        `SENTINEL MONITOR ${m} 127.0.0.1 1 1`,
        `SENTINEL REMOVE ${m}`,
        `SENTINEL GET-MASTER-ADDR-BY-NAME ${m}`,
        'SUBSCRIBE +switch-master',
      ])
        assert.match(await rawCommand(x.host, x.port, command), /^-NOAUTH/, `${x.name}: ${command}`);
      assert.match(await rawCommand(x.host, x.port, 'AUTH wrong-password'), /^-WRONGPASS/, x.name);
    }
  });

  it('take them with the password', async () => {
    const t = s.topology;
    const scratch = await freePort();
    for (const x of t.sentinels) {
      const login = { password: s.sentinelPassword };
      const set = await withRedis(x.host, x.port, login, (r) =>
        r.call('SENTINEL', 'SET', t.masterName, 'down-after-milliseconds', String(t.downAfterMs)),
      );
      assert.equal(set, 'OK');
      // A scratch master on a closed loopback port, monitored and removed again.
      await withRedis(x.host, x.port, login, async (r) => {
        assert.equal(await r.call('SENTINEL', 'MONITOR', 'scratch', '127.0.0.1', String(scratch), '2'), 'OK');
        assert.equal(await r.call('SENTINEL', 'REMOVE', 'scratch'), 'OK');
      });
      const raw = (await withRedis(x.host, x.port, login, (r) =>
        r.call('SENTINEL', 'MASTER', t.masterName),
      )) as string[];
      // The Sentinels still find each other: they give each other the same password.
      assert.equal(raw[raw.indexOf('num-other-sentinels') + 1], String(t.sentinels.length - 1), x.name);
    }
  });
});

describe('memory', () => {
  it('every node has the default maxmemory, and status warns past 80 % of it', async () => {
    for (const n of s.topology.redis) {
      const v = await withRedis(n.host, n.port, s.login, (r) => r.call('CONFIG', 'GET', 'maxmemory'));
      assert.deepEqual(v, ['maxmemory', String(256 * 1024 * 1024)], n.name);
    }
    const before = await collectStatus(s.topology, s, s.stats, 1, s.supervisorState());
    assert.deepEqual(
      before.alarms.filter((a) => /maxmemory/.test(a)),
      [],
    );
    const used = (await nodeState(master.host, master.port, s.login)).memory!.used;
    // Just above what is in use: 90 % full (writes still pass, with room to spare).
    const max = Math.ceil(used / 0.9);
    await withRedis(master.host, master.port, s.login, (r) =>
      r.call('CONFIG', 'SET', 'maxmemory', String(max)),
    );
    try {
      const st = await collectStatus(s.topology, s, s.stats, 1, s.supervisorState());
      assert.ok(
        st.alarms.some((a) => a.startsWith(`${master.name} uses `) && /maxmemory/.test(a)),
        st.alarms.join('; '),
      );
    } finally {
      await withRedis(master.host, master.port, s.login, (r) =>
        r.call('CONFIG', 'SET', 'maxmemory', '256mb'),
      );
    }
    // The topology page's alarms come from the same rule.
    assert.equal(memoryAlarm('redis-1', { used: 79, max: 100 }), null);
    assert.equal(memoryAlarm('redis-1', { used: 1, max: 0 }), null, 'no maxmemory: no alarm');
    const row = { name: 'redis-1', role: 'master', up: true, usedMemory: 81, maxMemory: 100 };
    const out = alarms([row as Parameters<typeof alarms>[0][number]], []);
    assert.ok(
      out.alarms.some((a) => a.startsWith('redis-1 uses 81 %')),
      out.alarms.join('; '),
    );
  });
});

describe('replication and failover with ACL users', () => {
  it('nothing any user needed was refused while the app served a journey', async () => {
    const nodes = s.topology.redis;
    const log = (n: RedisNode) =>
      withRedis(n.host, n.port, s.login, (r) => r.call('ACL', 'LOG')) as Promise<unknown[]>;
    for (const n of nodes) await withRedis(n.host, n.port, s.login, (r) => r.call('ACL', 'LOG', 'RESET'));
    const c = new Client(s.frontUrl);
    const email = 'acl-journey@example.org';
    const password = 'a-long-enough-password';
    assert.equal((await c.request('POST', '/api/register', { json: { email, password } })).status, 201);
    const login = await c.request('POST', '/api/login', { json: { email, password } });
    assert.equal(login.status, 200, login.text);
    const token = String(login.json()['csrfToken']);
    assert.equal((await c.get('/api/cart')).status, 200);
    const items = { [Object.keys((await c.get('/api/cart')).json()['items'] as object)[0]!]: 2 };
    const put = await c.request('PUT', '/api/cart', { json: { items }, headers: { 'x-csrf-token': token } });
    assert.equal(put.status, 200, put.text);
    for (const n of nodes) assert.deepEqual(await log(n), [], `${n.name}: ACL LOG`);
  });

  it('kill -9 of the master: a new master is elected and the old one rejoins as a replica by itself', async () => {
    const old = master;
    await withRedis(old.host, old.port, s.login, async (r) => {
      await r.set('sess:acl-probe', 'kept');
      assert.ok(Number(await r.call('WAIT', '1', '2000')) >= 1, 'a replica holds it');
    });
    const next = await killMaster(s, old);
    await waitFor(
      `${old.name} back as a replica of the new master`,
      async () => {
        const st = await nodeState(old.host, old.port, s.login);
        return st.role === 'slave' && st.linkUp && st.masterPort === next.port;
      },
      { timeoutMs: 40_000, intervalMs: 200 },
    );
    assert.equal(await withRedis(next.host, next.port, s.login, (r) => r.get('sess:acl-probe')), 'kept');
    // HAProxy's check, as its own user, follows the new master.
    await waitFor(
      'HAProxy to route Redis to the new master',
      async () => upServers(await haproxyStats(s.stats), 'redis_master').join() === next.name,
    );
    for (const n of s.topology.redis) {
      const entries = (await withRedis(n.host, n.port, s.login, (r) => r.call('ACL', 'LOG'))) as unknown[];
      assert.deepEqual(entries, [], `${n.name}: nothing refused to the Sentinels or the replicas`);
    }
    master = next;
  });
});

describe('run directory', () => {
  it("is its owner's alone after a failover: folders 0700, files 0600, Sentinel's rewrites included", async () => {
    const dir = s.run.dir;
    // Sentinel has rewritten its config since the failover (it names the new master).
    const conf = readFileSync(join(dir, 'nodes', 'sentinel-1', 'sentinel.conf'), 'utf8');
    assert.match(
      conf,
      new RegExp(`^sentinel monitor ${s.topology.masterName} ${master.host} ${master.port} `, 'm'),
    );
    const files: string[] = [];
    const walk = (path: string) => {
      if (lstatSync(path).isDirectory()) for (const e of readdirSync(path)) walk(join(path, e));
      else files.push(path);
    };
    walk(dir);
    assert.deepEqual(notPrivate(dir), []);
    for (const name of ['redis.app.password', 'sentinel.password', 'nodes/redis-1/appendonlydir'])
      assert.ok(
        files.some((f) => f.includes(join(dir, name))),
        `${name} is among the files checked`,
      );
  });

  it('nothing in it is readable by another local user', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root to act as another user (runuser)');
    if (spawnSync('runuser', ['--help']).error) return t.skip('runuser is not installed');
    const asNobody = (...args: string[]) => spawnSync('runuser', ['-u', 'nobody', '--', ...args]);
    // The check itself works: nobody reads a file that is meant to be read.
    const open = mkdtempSync(join(tmpdir(), 'ha-stack-open-'));
    try {
      chmodSync(open, 0o755);
      writeFileSync(join(open, 'public'), 'x', { mode: 0o644 });
      assert.equal(asNobody('cat', join(open, 'public')).status, 0, 'nobody reads a public file');
    } finally {
      rmSync(open, { recursive: true, force: true });
    }
    const dir = s.run.dir;
    const all: string[] = [];
    const walk = (path: string) => {
      all.push(path);
      if (lstatSync(path).isDirectory()) for (const e of readdirSync(path)) walk(join(path, e));
    };
    walk(dir);
    const readable = all.filter((p) =>
      lstatSync(p).isDirectory() ? asNobody('ls', p).status === 0 : asNobody('cat', p).status === 0,
    );
    assert.deepEqual(readable, []);
    // Even with a way in to the run directory, every file and folder keeps nobody out by its own mode.
    chmodSync(dir, 0o711);
    try {
      const leaked = all
        .filter((p) => p !== dir)
        .filter((p) =>
          lstatSync(p).isDirectory() ? asNobody('ls', p).status === 0 : asNobody('cat', p).status === 0,
        );
      assert.deepEqual(leaked, []);
    } finally {
      chmodSync(dir, DIR_MODE);
    }
  });
});

describe('a restart from the AOF', () => {
  it('keeps what transactions and functions wrote, and the library (Redis loads the AOF as the default user)', async () => {
    const dir = tempDir('aof');
    const t = defineTopology();
    const users = Object.fromEntries(REDIS_USERS.map((u) => [u, `${u}-password`])) as Record<
      RedisUser,
      string
    >;
    const conf = join(dir, 'redis.conf');
    writeFileSync(conf, renderRedisConf(t, t.redis[0]!, { dir, users }), { mode: 0o600 });
    const sock = join(dir, 'redis.sock');
    // No TCP port, and no replica needed for a write.
    const args = [conf, '--port', '0', '--unixsocket', sock, '--min-replicas-to-write', '0'];
    const clients: Redis[] = [];
    const client = async (user: RedisUser) => {
      const r = new Redis({ path: sock, username: user, password: users[user], lazyConnect: true });
      clients.push(r);
      r.on('error', () => undefined);
      await waitFor('redis-server to answer', async () => {
        await r.connect().catch(() => undefined);
        return r.status === 'ready';
      });
      return r;
    };
    const run = async (fn: () => Promise<void>) => {
      const proc = spawn('redis-server', args, { stdio: 'ignore' });
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      try {
        await fn();
      } finally {
        for (const c of clients.splice(0)) c.disconnect();
        proc.kill('SIGTERM');
        await exited;
      }
    };
    await run(async () => {
      // The stack's functions step loads the library as the operator; the app calls it.
      await (await client('operator')).call('FUNCTION', 'LOAD', 'REPLACE', LIBRARY_CODE);
      const app = await client('app');
      await app.set('rl:n', '5');
      // As the app's stores do: functions, and a transaction.
      await app.call('FCALL', 'login_succeeded', 3, 'rl:z', 'rl:n', 'rl:k');
      await app.call('FCALL', 'reserve_one', 1, 'rl:m', 10, 60);
      await app.multi().set('sess:t', 'y').hset('cart:{t}', 'p', '1').exec();
    });
    await run(async () => {
      const op = await client('operator');
      assert.deepEqual(
        [await op.get('rl:n'), await op.get('rl:m'), await op.get('sess:t'), await op.hget('cart:{t}', 'p')],
        ['4', '1', 'y', '1'],
      );
      assert.deepEqual(await op.call('ACL', 'LOG'), [], 'nothing of the AOF was refused');
      assert.ok(await hasLibrary(op), 'the function library is kept in the AOF');
    });
  });
});

describe('a run directory of the version before the ACL users', () => {
  it('starts again: the missing passwords are made, the data stays, every mode is tightened', async () => {
    const runDir = tempDir('upgrade');
    const start = async () =>
      Stack.start({ runDir, topology: { ports: await freePorts() }, apps: 0, haproxy: false });
    const first = await start();
    try {
      const m = (await first.redisMaster())!;
      await withRedis(m.host, m.port, first.login, async (r) => {
        await r.hset('cart:{kept@example.org}', 'p', '3');
        assert.ok(Number(await r.call('WAIT', '1', '2000')) >= 1);
      });
    } finally {
      await first.stop();
    }
    // What the older version left: one password (the default user's), and everything readable.
    for (const f of [...Object.values(SECRET_FILES.redis), SECRET_FILES.sentinel]) rmSync(join(runDir, f));
    writeFileSync(join(runDir, 'redis.password'), 'an-old-password\n', { mode: 0o644 });
    const loosen = (path: string) => {
      if (lstatSync(path).isDirectory()) {
        chmodSync(path, 0o755);
        for (const e of readdirSync(path)) loosen(join(path, e));
      } else chmodSync(path, 0o644);
    };
    loosen(runDir);
    const again = await start();
    try {
      for (const f of [...Object.values(SECRET_FILES.redis), SECRET_FILES.sentinel])
        assert.match(readFileSync(join(runDir, f), 'utf8'), /^\S{32,}\n$/, `${f} made again`);
      const m = (await again.redisMaster())!;
      assert.equal(
        await withRedis(m.host, m.port, again.login, (r) => r.hget('cart:{kept@example.org}', 'p')),
        '3',
      );
      assert.match(await rawCommand(m.host, m.port, 'AUTH an-old-password'), /^-WRONGPASS/);
      assert.deepEqual(notPrivate(runDir), []);
    } finally {
      await again.stop();
    }
  });
});
