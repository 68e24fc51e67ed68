// The bench's bulk writer against a real redis-server on a free loopback port: the RESP it writes,
// the replies it counts, its errors and its retries.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { freePort } from '../src/ops/supervisor/ports.ts';
import { waitFor } from '../src/ops/supervisor/wait.ts';
import { fill, fillKey, RawPipe, resp } from '../src/tools/bench/fill.ts';
import { growingTables } from '../src/tools/bench/tables.ts';

const PASSWORD = 'a-password-for-this-test-only-0123456789';

describe('the bench bulk writer (RawPipe, fill)', () => {
  let proc: ChildProcess;
  let dir: string;
  let port: number;
  let r: Redis;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fill-test-'));
    port = await freePort();
    proc = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    // Connected again by the wait only from a closed state: no reconnection of ioredis's own beside it.
    r = new Redis({ host: '127.0.0.1', port, lazyConnect: true, retryStrategy: () => null });
    r.on('error', () => undefined);
    await waitFor('redis-server answers PING', async () => {
      if (['wait', 'end', 'close'].includes(r.status)) await r.connect().catch(() => undefined);
      return (await r.ping().catch(() => '')) === 'PONG';
    });
    await r.call('ACL', 'SETUSER', 'filler', 'on', `>${PASSWORD}`, '~*', '+@all');
  });

  after(async () => {
    r?.disconnect();
    proc?.kill('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('writes commands as RESP bulk strings, counting bytes rather than characters', () => {
    assert.equal(resp(['SET', 'k', 'vé']), '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nvé\r\n');
    assert.equal(resp([]), '*0\r\n');
  });

  it('logs in, counts every reply of a batch and returns the errors among them', async () => {
    const pipe = await RawPipe.open('127.0.0.1', port, 'filler', PASSWORD);
    try {
      const text =
        resp(['SET', 'a', '1']) + resp(['INCR', 'a']) + resp(['NOSUCHCOMMAND']) + resp(['GET', 'a']);
      // GET answers a bulk string: not a one-line reply, so it is left out of the batch here.
      const errors = await pipe.send(text.slice(0, text.lastIndexOf('*2')), 3);
      assert.equal(errors.length, 1);
      assert.match(errors[0]!, /^ERR unknown command/);
      assert.equal(await r.get('a'), '2');
    } finally {
      pipe.close();
    }
  });

  it('refuses a wrong password', async () => {
    await assert.rejects(RawPipe.open('127.0.0.1', port, 'filler', 'wrong'), /AUTH: WRONGPASS/);
  });

  it('fills sessions, accounts and carts in the formats the app reads, across batches', async () => {
    const client = new Redis({ host: '127.0.0.1', port, username: 'filler', password: PASSWORD });
    try {
      const spec = { tag: 't', passwordHash: 'h'.repeat(91) };
      const n = 12_345; // more than two batches, and not a multiple of one
      assert.ok((await fill(client, 'session', spec, 0, n)) > 0);
      await fill(client, 'user', spec, 0, 3);
      await fill(client, 'cart', spec, 0, 3);
      assert.equal(await r.dbsize(), n + 3 + 3 + 1);
      const session = JSON.parse((await r.get(fillKey('session', 't', n - 1)))!);
      assert.equal(session.email, 'fill-t-12344@scale.test');
      assert.ok(typeof session.gen === 'string' && session.gen.length > 10);
      const ttl = await r.ttl(fillKey('session', 't', 0));
      assert.ok(ttl > 3000 && ttl <= 3600, String(ttl));
      const user = await r.hgetall(fillKey('user', 't', 2));
      assert.equal(user['email'], 'fill-t-2@scale.test');
      assert.equal(user['password'], spec.passwordHash);
      assert.equal(Object.keys(await r.hgetall(fillKey('cart', 't', 1))).length, 6);
    } finally {
      client.disconnect();
    }
  });

  it('sends a refused batch again, and fails on an error that lasts', async () => {
    const client = new Redis({ host: '127.0.0.1', port, username: 'filler', password: PASSWORD });
    try {
      // Writes refused for want of replicas (NOREPLICAS), then allowed again 300 ms later.
      await r.config('SET', 'min-replicas-to-write', '1');
      setTimeout(() => void r.config('SET', 'min-replicas-to-write', '0'), 300);
      await fill(client, 'session', { tag: 'retry', passwordHash: 'h' }, 0, 10);
      assert.equal(await r.exists(fillKey('session', 'retry', 9)), 1);
      // It was refused first, and sent again.
      assert.match(await r.info('errorstats'), /errorstat_NOREPLICAS:count=[1-9]/);
      await r.call('ACL', 'SETUSER', 'filler', '-set');
      await assert.rejects(
        fill(client, 'session', { tag: 'denied', passwordHash: 'h' }, 0, 10),
        /^Error: NOPERM/,
      );
    } finally {
      client.disconnect();
    }
  });

  it('tells while a key table grows, and when it is done', async () => {
    await r.flushall();
    // Without Redis's timer moving the copy along, only commands do, one slot at a time.
    await r.config('SET', 'activerehashing', 'no');
    try {
      assert.equal(await growingTables(r), false, 'an empty database');
      // The 4,097th key outgrows 4,096 slots: the copy into 8,192 begins.
      await r.mset(...Array.from({ length: 4097 }, (_, i) => [`grow:${i}`, 'v']).flat());
      assert.equal(await growingTables(r), true, 'just outgrown');
      await r.config('SET', 'activerehashing', 'yes');
      await waitFor('the key table to be done growing', async () => (await growingTables(r)) === false);
      // Keys with an expiry are in a second table of their own.
      await r.config('SET', 'activerehashing', 'no');
      const p = r.pipeline();
      for (let i = 0; i < 4097; i++) p.expire(`grow:${i}`, 3600);
      await p.exec();
      assert.equal(await growingTables(r), true, 'the expiry table just outgrown');
    } finally {
      await r.config('SET', 'activerehashing', 'yes');
    }
    await waitFor('both tables done growing', async () => (await growingTables(r)) === false);
  });
});
