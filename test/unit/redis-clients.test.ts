// Over 300 lines: the client factory's options, retries and links (16 cases) with shared fakes.
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import type { RedisConfig } from '../../src/config/index.ts';
import {
  createClient,
  drop,
  linkOf,
  masterLinkOf,
  remoteOf,
  retryDelay,
  together,
} from '../../src/ha/clients.ts';
import { pauseUntil, TimeoutError, withTimeout } from '../../src/ha/timeouts.ts';
import { FakeClient } from '../helpers/fake-redis.ts';
import { RespServer } from '../helpers/resp-server.ts';
import { until } from '../helpers/until.ts';

const config = (target: RedisConfig['target']): RedisConfig => ({
  target,
  username: 'app',
  password: 'pw',
  sentinelPassword: 'spw',
  waitReplicas: 1,
  waitTimeoutMs: 250,
  writeDeadlineMs: 3000,
  readFallbackMs: 100,
  noReplicaGraceMs: 1000,
  connectTimeoutMs: 700,
});

describe('retryDelay', () => {
  it('waits 10 to 25 ms whatever the attempt', () => {
    const random = mock.method(Math, 'random');
    try {
      random.mock.mockImplementation(() => 0);
      assert.equal(retryDelay(1), 10);
      random.mock.mockImplementation(() => 1);
      assert.equal(retryDelay(50), 25);
      random.mock.mockImplementation(() => 0.5);
      assert.equal(retryDelay(3), 18);
    } finally {
      random.mock.restore();
    }
  });
});

describe('createClient', () => {
  it('builds a URL client that never queues offline and reconnects on READONLY/MASTERDOWN', () => {
    const c = createClient(config({ kind: 'url', url: 'redis://127.0.0.1:1/0' }), 'master', 'app:master');
    c.on('error', () => undefined);
    try {
      const o = c.options;
      assert.equal(o.port, 1);
      assert.equal(o.host, '127.0.0.1');
      assert.equal(o.username, 'app');
      assert.equal(o.password, 'pw');
      assert.equal(o.connectionName, 'app:master');
      assert.equal(o.enableOfflineQueue, false);
      assert.equal(o.maxRetriesPerRequest, 0);
      assert.equal(o.connectTimeout, 700);
      assert.equal(o.commandTimeout, 1250);
      assert.equal(o.keepAlive, 1000);
      assert.equal(o.noDelay, true);
      assert.equal(o.lazyConnect, false);
      assert.equal(o.retryStrategy, retryDelay);
      const again = o.reconnectOnError!;
      assert.equal(again(new Error('READONLY You cannot write against a read only replica.')), 1);
      assert.equal(again(new Error('MASTERDOWN Link with MASTER is down')), 1);
      assert.equal(again(new Error('ERR READONLY later in the text')), false);
      assert.equal(again(new Error('NOREPLICAS Not enough good replicas')), false);
      assert.equal(o.sentinels, null);
    } finally {
      c.disconnect();
    }
  });

  it('builds a Sentinel client for the master or a replica, without ioredis failover detection', async () => {
    // A Sentinel that refuses every command: the clients never reach a master, and close quickly.
    const server = await new RespServer().start();
    server.handle = (cmd) => (cmd[0] === 'QUIT' ? undefined : new Error('ERR not a sentinel'));
    const sentinels = [{ host: '127.0.0.1', port: server.port }];
    const cfg = config({ kind: 'sentinel', sentinels, masterName: 'mymaster' });
    const master = createClient(cfg, 'master', 'app:master');
    const replica = createClient(cfg, 'replica', 'app:replica');
    for (const c of [master, replica]) c.on('error', () => undefined);
    try {
      const o = master.options;
      assert.deepEqual(o.sentinels, sentinels);
      assert.equal(o.name, 'mymaster');
      assert.equal(o.role, 'master');
      assert.equal(replica.options.role, 'slave');
      assert.equal(replica.options.connectionName, 'app:replica');
      assert.equal(o.sentinelPassword, 'spw');
      assert.equal(o.password, 'pw');
      assert.equal(o.username, 'app');
      assert.equal(o.sentinelCommandTimeout, 700);
      assert.equal(o.failoverDetector, false);
      assert.equal(o.enableTLSForSentinelMode, false);
      assert.equal(o.enableOfflineQueue, false);
      assert.equal(o.commandTimeout, 1250);
      const random = mock.method(Math, 'random', () => 1);
      try {
        assert.equal(o.sentinelRetryStrategy!(7), 25);
      } finally {
        random.mock.restore();
      }
    } finally {
      master.disconnect();
      replica.disconnect();
      // Their Sentinel connections end politely (a destroyed one would leave ioredis a 2 s timer).
      await until(() => server.sockets.size === 0);
      await server.stop();
    }
  });
});

describe('together', () => {
  const turnEnds = () => new Promise((r) => setImmediate(r));

  it("corks a ready client's socket for the rest of the turn: every call of the turn, one write", async () => {
    const c = new FakeClient();
    c.status = 'ready';
    const out = together(c.asRedis(), () => {
      c.stream!.log.push('send');
      return 7;
    });
    assert.equal(out, 7);
    together(c.asRedis(), () => c.stream!.log.push('send again'));
    assert.deepEqual(c.stream!.log, ['cork', 'send', 'send again']);
    await turnEnds();
    assert.deepEqual(c.stream!.log, ['cork', 'send', 'send again', 'uncork']);
    // The next turn corks again.
    together(c.asRedis(), () => undefined);
    await turnEnds();
    assert.deepEqual(c.stream!.log.slice(4), ['cork', 'uncork']);
  });

  it('uncorks at the end of the turn also when the function throws', async () => {
    const c = new FakeClient();
    c.status = 'ready';
    assert.throws(
      () =>
        together(c.asRedis(), () => {
          throw new Error('boom');
        }),
      /boom/,
    );
    await turnEnds();
    assert.deepEqual(c.stream!.log, ['cork', 'uncork']);
  });

  it('leaves the socket alone while not ready, and runs without a socket', () => {
    const c = new FakeClient();
    assert.equal(
      together(c.asRedis(), () => 'x'),
      'x',
    );
    assert.deepEqual(c.stream!.log, []);
    c.status = 'ready';
    c.stream = undefined;
    assert.equal(
      together(c.asRedis(), () => 'y'),
      'y',
    );
  });
});

describe('remoteOf and drop', () => {
  it('reads the peer of the socket, undefined without one', () => {
    const c = new FakeClient();
    assert.deepEqual(remoteOf(c.asRedis()), { host: '10.0.0.5', port: 6380 });
    const log = c.stream!.log;
    drop(c.asRedis());
    assert.deepEqual(log, ['destroy']);
    c.stream = undefined;
    assert.deepEqual(remoteOf(c.asRedis()), { host: undefined, port: undefined });
    drop(c.asRedis());
  });
});

describe('linkOf', () => {
  it('is ready when the client is, and batches through the corked socket', async () => {
    const c = new FakeClient();
    const link = linkOf(c.asRedis(), () => false);
    assert.equal(link.client, c.asRedis());
    assert.equal(link.ready(), false);
    c.status = 'ready';
    assert.equal(link.ready(), true);
    assert.equal(
      link.batch(() => 3),
      3,
    );
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(c.stream!.log, ['cork', 'uncork']);
  });

  it('whenReady: true at once when ready, false at once past the deadline or when closed', async () => {
    const c = new FakeClient();
    let closed = false;
    const link = linkOf(c.asRedis(), () => closed);
    assert.equal(await link.whenReady(Date.now() - 1), false);
    assert.equal(await link.whenReady(Date.now()), false);
    closed = true;
    assert.equal(await link.whenReady(Date.now() + 60_000), false);
    assert.equal(c.listenerCount('ready'), 0);
    c.status = 'ready';
    assert.equal(await link.whenReady(Date.now() - 1), true);
  });

  it('whenReady waits for the ready event and stops listening after it', async () => {
    const c = new FakeClient();
    const link = linkOf(c.asRedis(), () => false);
    const p = link.whenReady(Date.now() + 60_000);
    assert.equal(c.listenerCount('ready'), 1);
    c.emit('ready');
    assert.equal(await p, true);
    assert.equal(c.listenerCount('ready'), 0);
  });

  it('whenReady gives up at the deadline and stops listening', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const c = new FakeClient();
      const link = linkOf(c.asRedis(), () => false);
      let settled: boolean | undefined;
      const p = link.whenReady(Date.now() + 500).then((v) => {
        settled = v;
        return v;
      });
      mock.timers.tick(400);
      await Promise.resolve();
      assert.equal(settled, undefined);
      mock.timers.tick(200);
      assert.equal(await p, false);
      assert.equal(c.listenerCount('ready'), 0);
    } finally {
      mock.timers.reset();
    }
  });
});

describe('masterLinkOf', () => {
  it('changes its epoch on every close and ready, and sends WAIT with string arguments', async () => {
    const c = new FakeClient();
    const link = masterLinkOf(c.asRedis(), () => false);
    assert.equal(link.epoch(), 0);
    c.emit('close');
    assert.equal(link.epoch(), 1);
    c.emit('ready');
    assert.equal(link.epoch(), 2);
    assert.equal(await link.wait(2, 150), 2);
    assert.deepEqual(c.calls, [['WAIT', '2', '150']]);
    assert.equal(link.ready(), false);
    c.status = 'ready';
    assert.equal(link.ready(), true);
    assert.equal(
      link.batch(() => 'b'),
      'b',
    );
  });
});

describe('withTimeout', () => {
  it('resolves with the value and rejects with the error of the promise', async () => {
    assert.equal(await withTimeout(Promise.resolve(4), 1000), 4);
    await assert.rejects(withTimeout(Promise.reject(new Error('nope')), 1000), /nope/);
  });

  it('rejects with a TimeoutError naming the time once it passed, not before', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      let state = 'pending';
      const p = withTimeout(new Promise(() => undefined), 300).catch((err: unknown) => {
        state = 'rejected';
        throw err;
      });
      mock.timers.tick(299);
      await Promise.resolve();
      assert.equal(state, 'pending');
      mock.timers.tick(1);
      await assert.rejects(
        p,
        (err: unknown) =>
          err instanceof TimeoutError &&
          err.name === 'TimeoutError' &&
          err.message === 'Command timed out after 300 ms',
      );
    } finally {
      mock.timers.reset();
    }
  });

  it('clears its timer once the promise settled', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    const set = mock.method(globalThis, 'setTimeout');
    const clear = mock.method(globalThis, 'clearTimeout');
    try {
      // An unusual time tells its timers apart from those of any other code running meanwhile.
      await withTimeout(Promise.resolve(1), 4321);
      await withTimeout(Promise.reject(new Error('x')), 4321).catch(() => undefined);
      const ours = set.mock.calls.filter((c) => c.arguments[1] === 4321).map((c) => c.result);
      assert.equal(ours.length, 2);
      const cleared = clear.mock.calls.filter((c) => ours.includes(c.arguments[0] as never));
      assert.equal(cleared.length, 2);
    } finally {
      clear.mock.restore();
      set.mock.restore();
      mock.timers.reset();
    }
  });
});

describe('pauseUntil', () => {
  it('waits the pause, cut to the deadline, never less than 0', async () => {
    const set = mock.method(globalThis, 'setTimeout', (fn: () => void) => {
      fn();
      return 0;
    });
    try {
      const now = Date.now();
      await pauseUntil(50, now + 60_000);
      await pauseUntil(50_000, now + 20_000);
      await pauseUntil(50, now - 1000);
      const waits = set.mock.calls.map((c) => c.arguments[1] as number);
      assert.equal(waits[0], 50);
      assert.ok(waits[1]! <= 20_000 && waits[1]! > 19_000, String(waits[1]));
      assert.equal(waits[2], 0);
    } finally {
      set.mock.restore();
    }
  });
});
