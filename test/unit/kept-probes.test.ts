// The stale-master guard's kept connections (src/ha/kept-probes.ts): one per address while looks
// succeed or come late, a fresh one after an error, three timeouts in a row or a changed login,
// none after close.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { KeptProbes } from '../../src/ha/kept-probes.ts';
import { RespServer, SILENT } from '../helpers/resp-server.ts';

describe('KeptProbes', () => {
  let server: RespServer;
  let connections = 0;
  before(async () => {
    server = await new RespServer().start();
    server.server.on('connection', () => connections++);
  });
  after(() => server.stop());

  const ping = (p: KeptProbes, password = 'pw') =>
    p.use('127.0.0.1', server.port, { username: 'op', password }, (r) => r.call('PING'));

  it('keeps one connection per address from one look to the next', async () => {
    const p = new KeptProbes(500);
    const before = connections;
    server.handle = (cmd) => (cmd[0] === 'PING' ? { status: 'PONG' } : undefined);
    for (let i = 0; i < 5; i++) assert.equal(await ping(p), 'PONG');
    assert.equal(connections - before, 1);
    assert.equal(p.size, 1);
    // Logged in once, on the one connection.
    assert.equal(server.log.filter((c) => c[0] === 'AUTH').length >= 1, true);
    p.close();
    assert.equal(p.size, 0);
    await assert.rejects(ping(p), /closed/);
  });

  it('keeps the connection through late answers (they come, in order), drops it at the third timeout in a row', async () => {
    const p = new KeptProbes(200);
    let lateMs = 0;
    let written = 0;
    server.handle = (cmd, socket) => {
      if (cmd[0] !== 'PING') return undefined;
      if (!lateMs) return { status: 'PONG' };
      setTimeout(() => {
        socket.write('+PONG\r\n');
        written++;
      }, lateMs);
      return SILENT;
    };
    await ping(p);
    const before = connections;
    // Answers a second late against a look's 200 ms: late even on a busy machine.
    lateMs = 1000;
    await assert.rejects(ping(p), /timed out/i);
    await assert.rejects(ping(p), /timed out/i);
    assert.equal(p.size, 1, 'kept through two late looks');
    while (written < 2) await new Promise((r) => setImmediate(r));
    lateMs = 0;
    assert.equal(await ping(p), 'PONG', 'the late answers went to their own looks');
    assert.equal(connections - before, 0, 'the same connection all along');
    lateMs = 1000;
    for (let i = 0; i < 3; i++) await assert.rejects(ping(p), /timed out/i);
    assert.equal(p.size, 0, 'let go after three timeouts in a row');
    lateMs = 0;
    assert.equal(await ping(p), 'PONG');
    assert.equal(connections - before, 1, 'a new connection after them');
    p.close();
  });

  it('a refused command drops it too, and a changed login makes a new one', async () => {
    const p = new KeptProbes(500);
    server.handle = (cmd) =>
      cmd[0] === 'PING' ? { status: 'PONG' } : cmd[0] === 'INFO' ? new Error('NOPERM no') : undefined;
    await ping(p);
    const before = connections;
    await assert.rejects(
      p.use('127.0.0.1', server.port, { username: 'op', password: 'pw' }, (r) => r.call('INFO')),
      /NOPERM/,
    );
    await ping(p);
    await ping(p, 'rotated');
    assert.equal(connections - before, 2);
    const auths = server.log.filter((c) => c[0] === 'AUTH' || c[0] === 'HELLO').map((c) => c.join(' '));
    assert.ok(
      auths.some((a) => a.includes('rotated')),
      auths.join('; '),
    );
    p.close();
  });

  it('prepares each connection it makes once, before its first look; a failed preparation leaves the look alone', async () => {
    const p = new KeptProbes(500);
    server.handle = (cmd) =>
      cmd[0] === 'PING'
        ? { status: 'PONG' }
        : cmd[0] === 'SENTINEL'
          ? cmd[1] === 'DEBUG' && cmd.length > 2
            ? { status: 'OK' }
            : new Error('ERR no')
          : undefined;
    const seen: string[] = [];
    const prepare = async (r: { call(...a: string[]): Promise<unknown> }) => {
      seen.push(String(await r.call('SENTINEL', 'DEBUG', 'info-period', '1000')));
    };
    const look = (password = 'pw') =>
      p.use('127.0.0.1', server.port, { username: 'op', password }, (r) => r.call('PING'), prepare);
    const before = server.log.length;
    for (let i = 0; i < 3; i++) assert.equal(await look(), 'PONG');
    assert.deepEqual(seen, ['OK'], 'once for the connection, however many looks');
    const sent = server.log.slice(before).map((c) => c[0]);
    assert.ok(
      sent.indexOf('SENTINEL') < sent.indexOf('PING'),
      `prepared before the first look: ${sent.join(' ')}`,
    );
    await look('rotated');
    assert.deepEqual(seen, ['OK', 'OK'], 'and again on the next connection made');
    const failing = (r: { call(...a: string[]): Promise<unknown> }) =>
      r.call('SENTINEL', 'DEBUG').then(() => undefined);
    assert.equal(
      await p.use(
        '127.0.0.1',
        server.port,
        { username: 'op', password: 'again' },
        (r) => r.call('PING'),
        failing,
      ),
      'PONG',
    );
    p.close();
  });
});
