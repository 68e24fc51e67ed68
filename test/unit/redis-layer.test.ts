// Over 300 lines: the Redis layer's clients and watchers (15 cases) on one fake Redis and Sentinel.
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import type { RedisConfig } from '../../src/config/index.ts';
import { type LayerEvents, RedisLayer } from '../../src/ha/index.ts';
import { SwitchWatcher } from '../../src/ha/switch.ts';
import { NodeWatch, SentinelWatch } from '../../src/ha/watch.ts';
import { freePort } from '../../src/ops/supervisor/ports.ts';
import { settle } from '../helpers/clock.ts';
import { type Answer, RespServer, SILENT } from '../helpers/resp-server.ts';
import { until } from '../helpers/until.ts';

const info = (fields: Record<string, string | number>) =>
  `# Replication\r\n${Object.entries(fields)
    .map(([k, v]) => `${k}:${v}`)
    .join('\r\n')}\r\n`;

/** A master: INFO with its role and good replicas, WAIT answered with `acks`. */
function masterHandler(state: { role: string; good?: number; connected?: number; acks?: number }) {
  return (cmd: string[]): Answer => {
    switch (cmd[0]) {
      case 'INFO': {
        const f: Record<string, string | number> = { role: state.role };
        if (state.connected !== undefined) f['connected_slaves'] = state.connected;
        if (state.good !== undefined) f['min_slaves_good_slaves'] = state.good;
        return info(f);
      }
      case 'PING':
        return { status: 'PONG' };
      case 'WAIT':
        return state.acks ?? 0;
      case 'SET':
        return { status: 'OK' };
      case 'GET':
        return 'v';
      default:
        return undefined;
    }
  };
}

const urlConfig = (port: number, over: Partial<RedisConfig> = {}): RedisConfig => ({
  target: { kind: 'url', url: `redis://127.0.0.1:${port}` },
  username: undefined,
  password: undefined,
  sentinelPassword: undefined,
  waitReplicas: 1,
  waitTimeoutMs: 100,
  writeDeadlineMs: 1000,
  readFallbackMs: 200,
  noReplicaGraceMs: 200,
  connectTimeoutMs: 500,
  ...over,
});

const nodes: RespServer[] = [];
const layers: RedisLayer[] = [];
const node = async () => {
  const n = await new RespServer().start();
  nodes.push(n);
  return n;
};
const layer = (config: RedisConfig, events?: LayerEvents) => {
  const l = new RedisLayer(config, 'test', events);
  layers.push(l);
  return l;
};

after(async () => {
  await Promise.all(layers.map((l) => l.close()));
  await Promise.all(nodes.map((n) => n.stop()));
});

describe('RedisLayer on a URL', () => {
  it('names its connection, reports the master it reached, writes with WAIT and reads', async () => {
    const n = await node();
    const state = { role: 'master', good: 1, acks: 1 };
    n.handle = masterHandler(state);
    const changes: string[] = [];
    const l = layer(urlConfig(n.port), { onMasterChange: (a) => changes.push(a) });
    assert.equal(l.replica, null);
    await until(() => l.master.status === 'ready');
    assert.deepEqual(changes, [`127.0.0.1:${n.port}`]);
    assert.ok(
      n.log.some((c) => c[0] === 'CLIENT' && c[1]?.toUpperCase() === 'SETNAME' && c[2] === 'test:master'),
    );
    assert.equal(await l.write((r) => r.set('k', 'v')), 'OK');
    assert.deepEqual(n.named('WAIT').at(-1), ['WAIT', '1', '100']);
    assert.equal(await l.fastWrite((r) => r.set('k', 'v')), 'OK');
    assert.equal(n.named('WAIT').length, 1);
    assert.deepEqual(await l.read((r) => r.get('k')), { value: 'v', fromReplica: false });
  });

  it('is healthy with enough good replicas, read-only without, and counts connected ones', async () => {
    const n = await node();
    const state: { role: string; good?: number; connected?: number } = { role: 'master', good: 1 };
    n.handle = masterHandler(state);
    const l = layer(urlConfig(n.port));
    await until(() => l.master.status === 'ready');
    assert.deepEqual(await l.health(2000), { mode: 'healthy', serving: 'master', replicasOfMaster: 1 });
    assert.deepEqual(n.named('INFO').at(-1), ['INFO', 'replication']);
    state.good = 0;
    state.connected = 3;
    assert.deepEqual(await l.health(2000), { mode: 'read-only', serving: 'master', replicasOfMaster: 0 });
    delete state.good;
    assert.deepEqual(await l.health(2000), { mode: 'healthy', serving: 'master', replicasOfMaster: 3 });
    delete state.connected;
    assert.deepEqual(await l.health(2000), { mode: 'read-only', serving: 'master', replicasOfMaster: 0 });
  });

  it('sees no master in a node answering as a replica, or one that does not answer in time', async () => {
    const n = await node();
    const state = { role: 'slave', connected: 0 };
    n.handle = masterHandler(state);
    const l = layer(urlConfig(n.port));
    await until(() => l.master.status === 'ready');
    assert.deepEqual(await l.health(2000), { mode: 'no-master', serving: 'none', replicasOfMaster: null });
    n.handle = (cmd) => (cmd[0] === 'INFO' ? SILENT : masterHandler(state)(cmd));
    const started = Date.now();
    assert.deepEqual(await l.health(60), { mode: 'unavailable', serving: 'none', replicasOfMaster: null });
    assert.ok(Date.now() - started < 3000);
  });

  it('reports errors of the master connection and closes once, quitting politely', async () => {
    const n = await node();
    n.handle = masterHandler({ role: 'master', good: 1 });
    const errors: string[] = [];
    const l = layer(urlConfig(n.port), { onError: (where) => errors.push(where) });
    await until(() => l.master.status === 'ready');
    l.master.emit('error', new Error('boom'));
    assert.deepEqual(errors, ['master']);
    await l.close();
    await l.close();
    assert.equal(n.named('QUIT').length, 1);
    await until(() => l.master.status === 'end');
    assert.deepEqual(await l.health(2000), { mode: 'unavailable', serving: 'none', replicasOfMaster: null });
  });

  it('disconnects a master that does not answer QUIT', async () => {
    const n = await node();
    const base = masterHandler({ role: 'master', good: 1 });
    n.handle = (cmd) => base(cmd);
    const l = layer(urlConfig(n.port));
    await until(() => l.master.status === 'ready');
    n.handle = (cmd) => (cmd[0] === 'QUIT' ? SILENT : base(cmd));
    const started = Date.now();
    await l.close();
    assert.ok(Date.now() - started < 5000);
    await until(() => l.master.status === 'end');
  });

  it('starts a client again when it gave up while open, never once closed', async () => {
    const n = await node();
    n.handle = masterHandler({ role: 'master', good: 1 });
    const l = layer(urlConfig(n.port));
    await until(() => l.master.status === 'ready');
    const seen: string[] = [];
    l.master.once('end', () => seen.push('end'));
    l.master.disconnect();
    await until(() => seen.length === 1 && l.master.status === 'ready');
    await l.close();
    await until(() => l.master.status === 'end');
    const connections = n.named('HELLO').length;
    l.master.emit('end');
    // A restart would be asked for on the next turn of the loop (setImmediate): let a few pass.
    await settle();
    assert.equal(l.master.status, 'end');
    assert.equal(n.named('HELLO').length, connections);
  });
});

describe('RedisLayer with Sentinel', () => {
  /** One Sentinel naming `master` and listing `replica`, which it can also push +switch-master on. */
  async function stack() {
    const master = await node();
    const replica = await node();
    const sentinel = await node();
    master.handle = masterHandler({ role: 'master', good: 1, acks: 1 });
    replica.handle = masterHandler({ role: 'slave', connected: 0 });
    const subscribers: Socket[] = [];
    sentinel.handle = (cmd, socket) => {
      const sub = cmd[1]?.toLowerCase();
      if (cmd[0] === 'SENTINEL' && sub === 'get-master-addr-by-name')
        return ['127.0.0.1', String(master.port)];
      if (cmd[0] === 'SENTINEL' && (sub === 'slaves' || sub === 'replicas'))
        return [['ip', '127.0.0.1', 'port', String(replica.port), 'flags', 'slave']];
      if (cmd[0] === 'SENTINEL' && sub === 'sentinels') return [];
      if (cmd[0] === 'SUBSCRIBE') {
        subscribers.push(socket);
        return ['subscribe', cmd[1]!, 1];
      }
      return undefined;
    };
    return { master, replica, sentinel, subscribers };
  }

  const sentinelConfig = (port: number): RedisConfig => ({
    ...urlConfig(0),
    target: { kind: 'sentinel', sentinels: [{ host: '127.0.0.1', port }], masterName: 'mymaster' },
  });

  it('drops a master connection to the old master on +switch-master, and a replica on the new one', async () => {
    const s = await stack();
    const l = layer(sentinelConfig(s.sentinel.port));
    await until(
      () => l.master.status === 'ready' && l.replica?.status === 'ready' && s.subscribers.length > 0,
    );
    assert.ok(s.master.log.some((c) => c[0] === 'CLIENT' && c[2] === 'test:master'));
    assert.ok(s.replica.log.some((c) => c[0] === 'CLIENT' && c[2] === 'test:replica'));
    assert.deepEqual(await l.health(2000), { mode: 'healthy', serving: 'master', replicasOfMaster: 1 });
    const masterSockets = s.master.sockets.size;
    const replicaSockets = s.replica.sockets.size;
    // A switch to where the master already is: nothing dropped.
    s.sentinel.push(s.subscribers[0]!, [
      'message',
      '+switch-master',
      `mymaster 127.0.0.1 1 127.0.0.1 ${s.master.port}`,
    ]);
    // Another master's name: ignored.
    s.sentinel.push(s.subscribers[0]!, [
      'message',
      '+switch-master',
      `other 127.0.0.1 ${s.master.port} 127.0.0.1 ${s.replica.port}`,
    ]);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(l.master.status, 'ready');
    assert.equal(l.replica?.status, 'ready');
    const closes: string[] = [];
    l.master.once('close', () => closes.push('master'));
    l.replica?.once('close', () => closes.push('replica'));
    s.sentinel.push(s.subscribers[0]!, [
      'message',
      '+switch-master',
      `mymaster 127.0.0.1 ${s.master.port} 127.0.0.1 ${s.replica.port}`,
    ]);
    await until(() => closes.length === 2);
    assert.deepEqual(closes.sort(), ['master', 'replica']);
    assert.ok(masterSockets > 0 && replicaSockets > 0);
    await l.close();
  });

  it('asks first, when it reconnects, the Sentinel that announced the switch (not one of a lost host)', async () => {
    const s = await stack();
    const lost = await freePort();
    const config = sentinelConfig(s.sentinel.port);
    if (config.target.kind === 'sentinel')
      config.target.sentinels = [{ host: '127.0.0.1', port: lost }, ...config.target.sentinels];
    const l = layer(config);
    await until(() => l.master.status === 'ready' && s.subscribers.length > 0);
    type Iterator = { sentinels: { port: number }[] };
    const order = () =>
      (
        l.master as unknown as { connector: { sentinelIterator: Iterator } }
      ).connector.sentinelIterator.sentinels.map((x) => x.port);
    assert.deepEqual(order(), [lost, s.sentinel.port]);
    s.sentinel.push(s.subscribers[0]!, [
      'message',
      '+switch-master',
      `mymaster 127.0.0.1 ${s.master.port} 127.0.0.1 ${s.replica.port}`,
    ]);
    await until(() => order()[0] === s.sentinel.port);
    assert.deepEqual(order(), [s.sentinel.port, lost]);
    await l.close();
  });

  it('warns once when the +switch-master subscription fails, reporting each error', async () => {
    const s = await stack();
    s.sentinel.handle = (cmd) => {
      if (cmd[0] === 'SUBSCRIBE') return new Error('NOPERM no subscribe for you');
      return undefined;
    };
    const where: string[] = [];
    const warnings: string[] = [];
    const l = layer(sentinelConfig(s.sentinel.port), {
      onError: (w) => where.push(w),
      onWarn: (m) => warnings.push(m),
    });
    await until(() => where.includes('sentinel-watch'));
    assert.deepEqual(warnings, [
      `the +switch-master subscription on Sentinel 127.0.0.1:${s.sentinel.port} failed; retrying`,
    ]);
    await l.close();
  });
});

describe('SwitchWatcher', () => {
  it('reports the first failure of a subscription as first, the next ones not, until it works again', async () => {
    const s = await node();
    let subscribes = 0;
    s.handle = (cmd) => {
      if (cmd[0] === 'SUBSCRIBE') {
        subscribes++;
        return ['subscribe', cmd[1]!, 1];
      }
      return undefined;
    };
    const errors: boolean[] = [];
    const w = new SwitchWatcher(
      {
        sentinels: [{ host: '127.0.0.1', port: s.port }],
        masterName: 'm',
        onError: (_w, _e, first) => errors.push(first),
      },
      () => undefined,
    );
    try {
      await until(() => subscribes === 1);
      const sub = (w as unknown as { subscribers: { emit(e: string, err?: Error): void }[] }).subscribers[0]!;
      sub.emit('error', new Error('a'));
      sub.emit('error', new Error('b'));
      sub.emit('ready');
      sub.emit('error', new Error('c'));
      assert.deepEqual(errors, [true, false, true]);
      assert.ok(s.log.some((c) => c[0] === 'CLIENT' && c[2] === 'switch-watcher'));
      assert.deepEqual(s.named('SUBSCRIBE')[0], ['SUBSCRIBE', '+switch-master']);
    } finally {
      w.close();
    }
  });

  it('watches nothing without Sentinel', () => {
    const w = SwitchWatcher.forConfig(urlConfig(1), () => undefined);
    assert.equal((w as unknown as { subscribers: unknown[] }).subscribers.length, 0);
    w.close();
  });
});

describe('NodeWatch and SentinelWatch', () => {
  it('reads replication and memory of a node with one INFO, on a named connection', async () => {
    const n = await node();
    n.handle = (cmd) =>
      cmd[0] === 'INFO'
        ? `${info({ role: 'master', connected_slaves: 1, master_repl_offset: 42 })}# Memory\r\nused_memory:100\r\nmaxmemory:1000\r\n`
        : undefined;
    const w = new NodeWatch('127.0.0.1', n.port, { username: 'u', password: 'p' }, 2000);
    try {
      const r = await w.replication();
      assert.equal(r.role, 'master');
      assert.equal(r.offset, 42);
      assert.equal(r.connectedReplicas, 1);
      assert.deepEqual(r.memory, { used: 100, max: 1000 });
      assert.deepEqual(n.named('INFO').at(-1), ['INFO', 'replication', 'memory']);
      assert.ok(n.log.some((c) => c[0] === 'AUTH' && c[1] === 'u' && c[2] === 'p'));
      assert.ok(n.log.some((c) => c[0] === 'CLIENT' && c[2] === 'topology-watch'));
    } finally {
      w.close();
    }
  });

  it('turns a failed command into a short reason, and calls onLost when the connection drops', async () => {
    const n = await node();
    n.handle = (cmd) => (cmd[0] === 'INFO' ? new Error('ERR Connection timed out somewhere') : undefined);
    const w = new NodeWatch('127.0.0.1', n.port, { password: undefined }, 2000);
    let lost = 0;
    w.onLost(() => lost++);
    try {
      await assert.rejects(w.replication(), (err: Error) => err.message === 'no reply in time');
      for (const s of n.sockets) s.destroy();
      await until(() => lost > 0);
    } finally {
      w.close();
    }
  });

  it('names why a node cannot be reached, or that it is not connected', async () => {
    const n = await node();
    const port = n.port;
    await n.stop();
    const w = new NodeWatch('127.0.0.1', port, { password: undefined }, 2000);
    try {
      await assert.rejects(w.replication(), (err: Error) => err.message === 'connection refused');
    } finally {
      w.close();
    }
  });

  it('reads a Sentinel belief (TILT from its INFO) and passes on events, not its own channels', async () => {
    const s = await node();
    const psubs: Socket[] = [];
    let tilt = '1';
    s.handle = (cmd, socket) => {
      if (cmd[0] === 'SENTINEL')
        return ['ip', '10.0.0.1', 'port', '6379', 'quorum', '2', 'flags', 'master', 'config-epoch', '3'];
      if (cmd[0] === 'INFO') return `# Sentinel\r\nsentinel_tilt:${tilt}\r\n`;
      if (cmd[0] === 'PSUBSCRIBE') {
        psubs.push(socket);
        return ['psubscribe', cmd[1]!, 1];
      }
      return undefined;
    };
    const events: string[] = [];
    const w = new SentinelWatch('127.0.0.1', s.port, { password: 'spw' }, 2000, (t, m) =>
      events.push(`${t} ${m}`),
    );
    try {
      const b = await w.belief('mymaster');
      assert.equal(b.tilt, true);
      assert.deepEqual(b.master, { host: '10.0.0.1', port: 6379 });
      assert.equal(b.quorum, 2);
      assert.equal(b.configEpoch, 3);
      assert.ok(s.log.some((c) => c[0] === 'SENTINEL' && c[1] === 'MASTER' && c[2] === 'mymaster'));
      assert.ok(s.named('INFO').some((c) => c.length === 2 && c[1] === 'sentinel'));
      tilt = '0';
      assert.equal((await w.belief('mymaster')).tilt, false);
      await until(() => psubs.length > 0);
      assert.deepEqual(s.named('PSUBSCRIBE')[0], ['PSUBSCRIBE', '*']);
      s.push(psubs[0]!, ['pmessage', '*', '__sentinel__:hello', 'x']);
      s.push(psubs[0]!, ['pmessage', '*', '+sdown', 'master mymaster 10.0.0.1 6379']);
      await until(() => events.length > 0);
      assert.deepEqual(events, ['+sdown master mymaster 10.0.0.1 6379']);
      assert.ok(s.log.some((c) => c[0] === 'AUTH' && c[1] === 'spw'));
    } finally {
      w.close();
    }
  });
});
