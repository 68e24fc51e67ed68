import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nodeState, sentinelsMaster, withRedis } from '../src/ha/probes.ts';
import { parseSentinelTimers, timersMissing } from '../src/ha/sentinel/timers.ts';
import { collectStatus } from '../src/ops/status.ts';
import { readState } from '../src/ops/supervisor/health.ts';
import { isPortFree } from '../src/ops/supervisor/ports.ts';
import { Stack } from '../src/ops/supervisor/supervisor.ts';
import { waitFor } from '../src/ops/supervisor/wait.ts';
import type { RedisNode } from '../src/ops/topology.ts';
import { freePorts, tempDirs } from './helpers/stack.ts';

const tempDir = tempDirs();

/** A stand-in for the web app: answers /readyz, and /env with the state file it was given. */
function standInApp(): string[] {
  const file = join(tempDir('heal-app'), 'app.mjs');
  writeFileSync(
    file,
    `import { createServer } from 'node:http';
createServer((req, res) => {
  if (req.url === '/env') return res.end(JSON.stringify({ HA_STACK_STATE_FILE: process.env.HA_STACK_STATE_FILE }));
  res.end('ok');
}).listen(Number(process.env.PORT), process.env.HOST);
`,
  );
  return [process.execPath, file];
}

/** One stack shared by every test below: each test leaves it whole again. */
describe('the supervisor heals the stack', () => {
  let s: Stack;
  const events: string[] = [];

  before(async () => {
    s = await Stack.start({
      runDir: tempDir('heal'),
      topology: { ports: await freePorts() },
      apps: 1,
      haproxy: false,
      appCommand: standInApp(),
      timeoutMs: 20_000,
      onEvent: (m) => events.push(m),
    });
  });
  after(async () => {
    await s?.stop();
  });

  const fileState = () => readState(s.stateFile);
  const sentinelMasterName = async () => {
    const m = await sentinelsMaster(s.sentinelAddrs(), s.topology.masterName, s.sentinelPassword);
    return s.topology.redis.find((r) => r.host === m?.host && r.port === m?.port)?.name;
  };

  /** Every Redis node up, one master, every replica linked to it, every Sentinel agreeing, every process running. */
  async function waitWhole(): Promise<RedisNode> {
    let master: RedisNode | undefined;
    await waitFor(
      'a whole stack',
      async () => {
        const states = await Promise.all(s.topology.redis.map((n) => nodeState(n.host, n.port, s.login)));
        const masters = s.topology.redis.filter((_, i) => states[i]!.role === 'master');
        if (masters.length !== 1 || states.some((st) => st.role === 'slave' && !st.linkUp)) return false;
        master = masters[0];
        const views = await Promise.all(
          s.topology.sentinels.map((x) =>
            withRedis(x.host, x.port, { password: s.sentinelPassword }, (r) =>
              r.call('SENTINEL', 'MASTER', s.topology.masterName),
            ).catch(() => null),
          ),
        );
        const ok = views.every((v) => {
          const f = v as string[] | null;
          if (!f) return false;
          const get = (k: string) => f[f.indexOf(k) + 1];
          return (
            get('port') === String(master!.port) &&
            get('num-slaves') === '2' &&
            !get('flags')?.includes('failover_in_progress')
          );
        });
        return ok && Object.values(s.health()).every((h) => h.status === 'running');
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    return master!;
  }

  it('gives every app the path of its state file, and writes it 0600 with every process running', async () => {
    const env = (await (await fetch(`${s.appUrls[0]}/env`)).json()) as Record<string, string>;
    assert.equal(env['HA_STACK_STATE_FILE'], s.stateFile);
    assert.equal(statSync(s.stateFile).mode & 0o777, 0o600);
    const state = fileState()!;
    assert.ok(!Number.isNaN(Date.parse(state.updated)));
    assert.deepEqual(Object.keys(state.nodes), s.names);
    for (const [name, h] of Object.entries(state.nodes)) {
      // Redis nodes also count the stale-master demotions and the write fences of the supervisor.
      const demotions = s.topology.redis.some((r) => r.name === name)
        ? { demotions: 0, fences: 0, fenced: false }
        : {};
      assert.deepEqual(h, { status: 'running', restarts: 0, lastExit: null, ...demotions });
    }
  });

  it('a replica and a Sentinel killed with -9 come back by themselves, counted', async () => {
    const m = await waitWhole();
    const replica = s.topology.redis.find((r) => r.name !== m.name)!;
    await Promise.all([s.kill(replica.name), s.kill('sentinel-1')]);
    const at = Date.now();
    assert.equal(s.health()[replica.name]!.status, 'restarting');
    await waitFor(
      `${replica.name} back as a replica with its link up`,
      async () => {
        const st = await nodeState(replica.host, replica.port, s.login);
        return st.role === 'slave' && st.linkUp && st.masterPort === m.port;
      },
      { timeoutMs: 20_000 },
    );
    await waitWhole();
    for (const name of [replica.name, 'sentinel-1']) {
      const h = fileState()!.nodes[name]!;
      assert.equal(h.status, 'running', name);
      assert.equal(h.restarts, 1, name);
      assert.equal(h.lastExit?.code, null);
      assert.equal(h.lastExit?.signal, 'SIGKILL');
      assert.ok(Math.abs(Date.parse(h.lastExit!.at) - at) < 2000, `${name} exit time ${h.lastExit!.at}`);
    }
    const status = await collectStatus(s.topology, s, s.stats, 1, s.supervisorState());
    assert.equal(status.nodes.find((n) => n.name === replica.name)?.restarts, 1);
    assert.equal(status.sentinels.find((x) => x.name === 'sentinel-1')?.restarts, 1);
    // Sentinel's timers are not in its config: the restarted one runs them again (ha/sentinel/timers.ts).
    const sentinel = s.topology.sentinels[0]!;
    const debug = await withRedis(sentinel.host, sentinel.port, { password: s.sentinelPassword }, (r) =>
      r.call('SENTINEL', 'DEBUG'),
    );
    assert.deepEqual(timersMissing(parseSentinelTimers(debug)), []);
    assert.equal(status.mode, 'healthy');
    assert.equal(status.sentinelMode, 'ok');
  });

  it('a master killed with -9 waits for the failover and rejoins as a replica of the new master', async () => {
    const old = await waitWhole();
    const before = s.health()[old.name]!.restarts;
    const seen = new Set<string>();
    const wrong: string[] = [];
    let sampling = true;
    // Sample the old master's role against the Sentinels' choice while it restarts.
    const sampler = (async () => {
      while (sampling) {
        seen.add(s.health()[old.name]!.status);
        const [st, named] = await Promise.all([
          nodeState(old.host, old.port, s.login).catch(() => null),
          sentinelMasterName(),
        ]);
        if (st?.role === 'master' && named !== undefined && named !== old.name)
          wrong.push(`${old.name} reported role:master while the Sentinels named ${named}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      await s.kill(old.name);
      await waitFor(
        `${old.name} back as a replica of another master`,
        async () => {
          const st = await nodeState(old.host, old.port, s.login);
          return st.role === 'slave' && st.linkUp && s.health()[old.name]!.status === 'running';
        },
        { timeoutMs: 40_000, intervalMs: 100 },
      );
    } finally {
      sampling = false;
      await sampler;
    }
    assert.deepEqual(wrong, []);
    assert.ok(seen.has('waiting-for-failover'), `statuses seen: ${[...seen].join(', ')}`);
    const next = await waitWhole();
    assert.notEqual(next.name, old.name);
    const st = await nodeState(old.host, old.port, s.login);
    assert.equal(st.masterPort, next.port);
    assert.equal(s.health()[old.name]!.restarts, before + 1);
  });

  it('an app crashing again and again waits longer each time', async () => {
    const from = events.length;
    for (let i = 0; i < 3; i++) {
      await s.kill('app-1');
      await waitFor('app-1 to run again', () => s.health()['app-1']!.status === 'running', {
        timeoutMs: 20_000,
      });
    }
    const delays = events
      .slice(from)
      .map((e) => /^app-1: starting it again in (\d+) ms/.exec(e)?.[1])
      .filter((d) => d !== undefined)
      .map(Number);
    assert.deepEqual(delays, [250, 500, 1000]);
    assert.equal(s.health()['app-1']!.restarts, 3);
  });

  it('stop keeps a node down until start; the status names the modes', async () => {
    const m = await waitWhole();
    const replicas = s.topology.redis.filter((r) => r.name !== m.name);
    const counts = replicas.map((r) => s.health()[r.name]!.restarts);
    await Promise.all(replicas.map((r) => s.stop(r.name)));
    // Sentinel flags a replica s_down after down-after-milliseconds: far past any back-off.
    await waitFor(
      'the Sentinels to see both replicas down',
      async () => {
        const rows = (await withRedis(
          s.sentinelAddrs()[0]!.host,
          s.sentinelAddrs()[0]!.port,
          { password: s.sentinelPassword },
          (r) => r.call('SENTINEL', 'REPLICAS', s.topology.masterName),
        )) as string[][];
        return rows.filter((f) => f[f.indexOf('flags') + 1]?.includes('s_down')).length === 2;
      },
      { timeoutMs: 20_000 },
    );
    for (const [i, r] of replicas.entries()) {
      assert.equal(s.process(r.name).running, false, r.name);
      assert.equal(fileState()!.nodes[r.name]!.status, 'stopped');
      assert.equal(s.health()[r.name]!.restarts, counts[i]);
      assert.ok(await isPortFree(r.port, r.host), `${r.name} listens`);
    }
    const readOnly = await collectStatus(s.topology, s, s.stats, 1, s.supervisorState());
    assert.equal(readOnly.mode, 'read-only');
    assert.deepEqual(
      readOnly.nodes.filter((n) => n.process === 'stopped').map((n) => n.name),
      replicas.map((r) => r.name),
    );

    await s.stop('sentinel-2');
    await s.stop('sentinel-3');
    const noQuorum = await collectStatus(s.topology, s, s.stats, 1, s.supervisorState());
    assert.equal(noQuorum.sentinelMode, 'no-quorum');
    assert.ok(
      noQuorum.alarms.some((a) => /^no quorum: 1 of 3 Sentinels/.test(a)),
      noQuorum.alarms.join('; '),
    );

    await Promise.all(['sentinel-2', 'sentinel-3', ...replicas.map((r) => r.name)].map((n) => s.start(n)));
    for (const r of replicas) {
      const st = await nodeState(r.host, r.port, s.login);
      assert.deepEqual([st.role, st.linkUp, st.masterPort], ['slave', true, m.port]);
    }
    await waitWhole();
    assert.deepEqual(
      replicas.map((r) => s.health()[r.name]!.restarts),
      counts,
      'an operator start is not an automatic restart',
    );
  });

  it('shows a Sentinel in TILT with an alarm', async () => {
    await waitWhole();
    s.pause('sentinel-3');
    // Sentinel enters TILT when its timer sees more than 2 s between two runs.
    await new Promise((r) => setTimeout(r, 2500));
    s.resume('sentinel-3');
    let alarms: string[] = [];
    await waitFor('sentinel-3 in TILT', async () => {
      const st = await collectStatus(s.topology, s, s.stats, 1, s.supervisorState());
      alarms = st.alarms;
      return st.sentinels.find((x) => x.name === 'sentinel-3')?.tilt === true && st.sentinelMode === 'ok';
    });
    assert.ok(alarms.includes('sentinel-3 in TILT: no failover until it leaves it'), alarms.join('; '));
    assert.equal(s.health()['sentinel-3']!.restarts, 0, 'a paused process did not exit');
  });

  it("shows a Sentinel running without the stack's timers with an alarm that names the fix", async () => {
    await waitWhole();
    const sentinel = s.topology.sentinels[1]!;
    const set = (ms: string) =>
      withRedis(sentinel.host, sentinel.port, { password: s.sentinelPassword }, (r) =>
        r.call('SENTINEL', 'DEBUG', 'info-period', ms),
      );
    await set('10000');
    try {
      const st = await collectStatus(s.topology, s, s.stats, 1, s.supervisorState());
      assert.deepEqual(st.sentinels.find((x) => x.name === sentinel.name)?.timersOff, [
        'info-period 10000 (want 1000)',
      ]);
      assert.deepEqual(
        st.sentinels.filter((x) => x.name !== sentinel.name).map((x) => x.timersOff),
        [[], []],
      );
      const alarm = st.alarms.find((a) => a.startsWith(`${sentinel.name} runs without the stack's timers`));
      assert.ok(alarm, st.alarms.join('; '));
      assert.match(alarm, /SENTINEL DEBUG info-period 1000 ping-period 400\)/);
    } finally {
      await set('1000');
    }
    const after = await collectStatus(s.topology, s, s.stats, 1, s.supervisorState());
    assert.deepEqual(
      after.alarms.filter((a) => /timers/.test(a)),
      [],
    );
  });

  it('stop() of the whole stack cancels pending restarts and leaves no process', async () => {
    const m = await waitWhole();
    const replica = s.topology.redis.find((r) => r.name !== m.name)!;
    await s.kill(m.name);
    await waitFor(
      `${m.name} to wait for the failover`,
      () => s.health()[m.name]!.status === 'waiting-for-failover',
    );
    await s.kill(replica.name);
    assert.equal(s.health()[replica.name]!.status, 'restarting');
    const pids = s.names.map((n) => s.process(n).pid).filter((p): p is number => p !== undefined);
    await s.stop();
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), `pid ${pid} still alive`);
    const t = s.topology;
    for (const n of [...t.redis, ...t.sentinels, t.apps[0]!])
      assert.ok(await isPortFree(n.port, n.host), `${n.name} ${n.host}:${n.port} still in use`);
    for (const name of s.names) assert.equal(s.process(name).running, false, name);
    const state = JSON.parse(readFileSync(s.stateFile, 'utf8')) as {
      nodes: Record<string, { status: string }>;
    };
    for (const [name, h] of Object.entries(state.nodes))
      assert.ok(h.status === 'stopped' || h.status === 'exited', `${name}: ${h.status}`);
    await assert.rejects(s.start(replica.name), /stopping/);
  });
});
