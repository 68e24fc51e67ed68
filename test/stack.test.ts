import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { haproxyStats, nodeState, sentinelView, upServers, withRedis } from '../src/ha/probes.ts';
import { parseSentinelTimers, timersMissing } from '../src/ha/sentinel/timers.ts';
import { renderHaproxyCfg } from '../src/ops/render/haproxy.ts';
import { serverFromEnv } from '../src/ops/settings.ts';
import { isSameProcess, pidRecord, processStartTime } from '../src/ops/supervisor/managed.ts';
import { isPortFree, PortInUseError } from '../src/ops/supervisor/ports.ts';
import { AlreadyRunningError, RunDir } from '../src/ops/supervisor/rundir.ts';
import { serverOf } from '../src/ops/supervisor/servers.ts';
import { Stack, type StackOptions, StackStartError } from '../src/ops/supervisor/supervisor.ts';
import { waitFor } from '../src/ops/supervisor/wait.ts';
import { defineTopology, localAddress, PROXY_SOURCE_ADDRESS } from '../src/ops/topology.ts';
import { freePorts, tempDirs } from './helpers/stack.ts';

const run = promisify(execFile);
const tempDir = tempDirs();

/** A stand-in for the web app: answers /readyz, and /env with the variables the contract names. */
function standInApp(): string[] {
  const file = join(tempDir('app'), 'app.mjs');
  writeFileSync(
    file,
    `import { createServer } from 'node:http';
const names = ['HOST', 'PORT', 'INSTANCE_ID', 'REDIS_SENTINELS', 'REDIS_MASTER_NAME', 'REDIS_USERNAME', 'REDIS_PASSWORD', 'REDIS_SENTINEL_USERNAME', 'REDIS_SENTINEL_PASSWORD', 'TRUST_PROXY', 'SESSION_SECRET', 'HA_STACK_STATE_FILE'];
createServer((req, res) => {
  res.setHeader('x-instance', process.env.INSTANCE_ID);
  if (req.url === '/env') return res.end(JSON.stringify(Object.fromEntries(names.map((n) => [n, process.env[n]]))));
  res.end('ok');
}).listen(Number(process.env.PORT), process.env.HOST);
`,
  );
  return [process.execPath, file];
}

/** One command over a bare socket: the first reply line, as Redis sent it. */
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

async function testStack(tag: string, opts: Partial<StackOptions>): Promise<Stack> {
  return Stack.start({
    runDir: tempDir(tag),
    topology: { ports: await freePorts() },
    timeoutMs: 20_000,
    ...opts,
  });
}

/** Stops the stack and checks that no process and no listening port of it is left. */
async function stopAndCheck(s: Stack, withProxyAndApps: boolean): Promise<void> {
  const pids = s.names.map((n) => s.process(n).pid).filter((p): p is number => p !== undefined);
  const t = s.topology;
  const ports = [...t.redis, ...t.sentinels].map((n) => [n.port, n.host] as const);
  if (withProxyAndApps) {
    const h = t.haproxy.host;
    ports.push(...t.apps.map((n) => [n.port, n.host] as const));
    ports.push([t.haproxy.httpPort, h], [t.haproxy.statsPort, h], [t.haproxy.redisPort, h]);
  }
  await s.stop();
  await s.stop();
  for (const pid of pids) assert.throws(() => process.kill(pid, 0), `pid ${pid} still alive`);
  for (const [port, host] of ports) assert.ok(await isPortFree(port, host), `${host}:${port} still in use`);
  for (const name of s.names) assert.equal(s.process(name).status, 'stopped', name);
}

describe('haproxy.cfg', () => {
  it('passes haproxy -c, locally and for compose', async () => {
    const dir = tempDir('cfg');
    for (const target of ['local', 'compose'] as const) {
      const file = join(dir, `${target}.cfg`);
      const t = defineTopology(target === 'local' ? {} : { host: 'app' });
      writeFileSync(file, renderHaproxyCfg(t, { target, password: 'p"w' }));
      const { stdout, stderr } = await run('/usr/sbin/haproxy', ['-c', '-f', file]);
      assert.match(stdout + stderr, /Configuration file is valid/);
    }
  });
});

describe('run directory', () => {
  it('kills leftovers that are provably ours and ignores stale pid files', async () => {
    const run = new RunDir(tempDir('stale'));
    const ours = spawn('sleep', ['60'], { stdio: 'ignore' });
    const stranger = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      writeFileSync(run.pid('ours'), JSON.stringify(pidRecord(ours.pid!, 'sleep')));
      // Same pid, other start time: the pid was reused by an unrelated process.
      writeFileSync(run.pid('reused'), JSON.stringify({ ...pidRecord(stranger.pid!, 'sleep'), start: '1' }));
      // Same pid and start time, but a record without the program file (as older versions wrote).
      const { exe: _, ...old } = pidRecord(stranger.pid!, 'sleep');
      writeFileSync(run.pid('old'), JSON.stringify({ ...old, comm: 'sleep' }));
      writeFileSync(run.lockFile, JSON.stringify({ pid: 999_999_999, start: '1', command: 'launcher' }));
      assert.deepEqual(await run.acquire(), ['ours']);
      await waitFor('the leftover to die', () => processStartTime(ours.pid!) === undefined, {
        timeoutMs: 5000,
      });
      assert.ok(isSameProcess(pidRecord(stranger.pid!, 'sleep')), 'an unrelated process is left alone');
      await assert.rejects(new RunDir(run.dir).acquire(), AlreadyRunningError);
      run.release();
    } finally {
      ours.kill('SIGKILL');
      stranger.kill('SIGKILL');
    }
  });
});

describe('the supervisor', () => {
  it('names a port in use and the variable that moves it', async () => {
    const ports = await freePorts();
    const blocker = createServer().listen(ports['sentinel-2'], localAddress('sentinel-2'));
    try {
      await assert.rejects(Stack.start({ runDir: tempDir('port'), topology: { ports } }), (err: unknown) => {
        assert.ok(err instanceof PortInUseError);
        assert.match(err.message, new RegExp(`port ${ports['sentinel-2']}\\b.*SENTINEL_2_PORT`));
        return true;
      });
    } finally {
      blocker.close();
    }
  });

  it('brings up Redis and Sentinels with every readiness condition true, and stops without leftovers', async () => {
    const s = await testStack('redis', { apps: 0, haproxy: false });
    try {
      const t = s.topology;
      const [master, ...replicas] = t.redis;
      assert.equal((await nodeState(master!.host, master!.port, s.login)).role, 'master');
      for (const r of replicas) {
        const st = await nodeState(r.host, r.port, s.login);
        assert.deepEqual([st.role, st.linkUp, st.masterPort], ['slave', true, master!.port]);
      }
      for (const sn of t.sentinels) {
        const v = await sentinelView(sn.host, sn.port, t.masterName, s.sentinelPassword);
        assert.deepEqual(v.master, { host: master!.host, port: master!.port });
        assert.deepEqual([v.replicas, v.otherSentinels], [2, 2]);
        // The stack's timers, which no config file holds (ha/sentinel/timers.ts), on Redis and Valkey.
        const debug = await withRedis(sn.host, sn.port, { password: s.sentinelPassword }, (r) =>
          r.call('SENTINEL', 'DEBUG'),
        );
        assert.deepEqual(timersMissing(parseSentinelTimers(debug)), [], sn.name);
      }
      assert.equal((await s.redisMaster())?.name, 'redis-1');
      // REDIS_SERVER (the Valkey entry of npm run test:all) picks what every node and Sentinel runs.
      const kind = serverFromEnv();
      for (const n of [...t.redis, ...t.sentinels]) {
        const login = t.redis.includes(n as (typeof t.redis)[number])
          ? s.login
          : { password: s.sentinelPassword };
        assert.equal((await serverOf(n.host, n.port, login))?.split(' ')[0], kind, `${n.name} runs ${kind}`);
      }
      assert.deepEqual(s.names, ['redis-1', 'redis-2', 'redis-3', 'sentinel-1', 'sentinel-2', 'sentinel-3']);
      for (const n of s.names) assert.equal(s.process(n).status, 'running');
      assert.match(
        await rawCommand(master!.host, master!.port, 'PING'),
        /^-NOAUTH/,
        'the password is required',
      );
    } finally {
      await stopAndCheck(s, false);
    }
  });

  it('reports the step that failed with the end of its log, and stops what it started', async () => {
    const ports = await freePorts();
    const runDir = tempDir('fail');
    const crash = [process.execPath, '-e', 'console.error("boom: no config"); process.exit(3)'];
    const opts: StackOptions = { runDir, topology: { ports }, apps: 1, haproxy: false, appCommand: crash };
    await assert.rejects(Stack.start(opts), (err: unknown) => {
      assert.ok(err instanceof StackStartError);
      assert.equal(err.processName, 'app-1');
      assert.match(err.message, /readyz/);
      assert.match(err.logTail, /boom: no config/);
      return true;
    });
    for (const name of ['redis-1', 'redis-2', 'redis-3', 'sentinel-1', 'sentinel-2', 'sentinel-3'] as const)
      assert.ok(await isPortFree(ports[name]!, localAddress(name)), `${name} still listens`);
    assert.equal(new RunDir(runDir).launcher(), undefined, 'the lock is released');
  });

  it('runs apps and HAProxy, survives a master kill, and `restart` brings the old master back as a replica', async () => {
    const s = await testStack('full', { apps: 2, haproxy: true, appCommand: standInApp() });
    try {
      const rows = await haproxyStats(s.stats);
      assert.deepEqual(upServers(rows, 'apps').sort(), ['app-1', 'app-2']);
      assert.deepEqual(upServers(rows, 'redis_master'), ['redis-1']);

      const env = (await (await fetch(`${s.appUrls[0]}/env`)).json()) as Record<string, string>;
      const sentinels = s.sentinelAddrs().map((a) => `${a.host}:${a.port}`);
      assert.deepEqual(
        [env['INSTANCE_ID'], env['REDIS_SENTINELS'], env['REDIS_MASTER_NAME']],
        ['app-1', sentinels.join(','), 'mymaster'],
      );
      // The app logs in as its own ACL user, and to the Sentinels as their read-only user.
      assert.deepEqual(
        [
          env['REDIS_USERNAME'],
          env['REDIS_PASSWORD'],
          env['REDIS_SENTINEL_USERNAME'],
          env['REDIS_SENTINEL_PASSWORD'],
        ],
        ['app', s.secrets.redis.app, 'reader', s.secrets.sentinelReader],
      );
      // X-Forwarded-For is believed from HAProxy's own source address only.
      assert.equal(env['TRUST_PROXY'], PROXY_SOURCE_ADDRESS);
      assert.equal(env['HA_STACK_STATE_FILE'], s.stateFile);
      const seen = new Set<string | null>();
      for (let i = 0; i < 4; i++) seen.add((await fetch(s.frontUrl)).headers.get('x-instance'));
      assert.deepEqual([...seen].sort(), ['app-1', 'app-2']);

      const { host, port } = s.redisFront;
      assert.match(await withRedis(host, port, s.login, (r) => r.info('replication')), /role:master/);

      await assert.rejects(
        Stack.start({ runDir: s.run.dir, topology: { ports: await freePorts() } }),
        AlreadyRunningError,
      );
      assert.equal(s.process('redis-1').status, 'running', 'a refused start touches nothing');

      const old = (await s.redisMaster())!;
      await s.kill(old.name);
      assert.equal(s.process(old.name).status, 'exited');
      let next: { host: string; port: number } | undefined;
      await waitFor(
        'the Sentinels to elect a new master',
        async () => {
          const addr = (await withRedis(
            s.sentinelAddrs()[0]!.host,
            s.sentinelAddrs()[0]!.port,
            { password: s.sentinelPassword },
            (r) => r.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', 'mymaster'),
          )) as [string, string];
          next = { host: addr[0], port: Number(addr[1]) };
          return next.port !== old.port;
        },
        { timeoutMs: 20_000, intervalMs: 200 },
      );
      // The supervisor is already bringing it back: an operator's restart takes over from it.
      await s.restart(old.name);
      const state = await nodeState(old.host, old.port, s.login);
      assert.deepEqual([state.role, state.masterHost, state.masterPort], ['slave', next!.host, next!.port]);
      await waitFor('HAProxy to route Redis to the new master', async () => {
        const info = await withRedis(host, port, s.login, (r) => r.info('server'));
        return info.includes(`tcp_port:${next!.port}`);
      });
    } finally {
      await stopAndCheck(s, true);
    }
  });
});
