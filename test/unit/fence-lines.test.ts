// The guard's lines to other hosts' masters (src/ops/supervisor/fence-lines.ts): made ahead, kept
// through any number of slow answers (each command still gets in), remade on a changed login, let
// go when no replica follows that master any more; a send without a connection fails at once.
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { FenceLines } from '../../src/ops/supervisor/fence-lines.ts';
import { RespServer, SILENT } from '../helpers/resp-server.ts';
import { until } from '../helpers/until.ts';

describe('FenceLines', () => {
  let server: RespServer;
  let connections = 0;
  before(async () => {
    server = await new RespServer().start();
    server.server.on('connection', () => connections++);
  });
  after(() => server.stop());
  const login = { username: 'op', password: 'pw' };
  // Closed after each test, also a failed one: a line left open reconnects and keeps the process alive.
  const made: FenceLines[] = [];
  const fresh = () => {
    const l = new FenceLines(100);
    made.push(l);
    return l;
  };
  afterEach(() => {
    for (const l of made.splice(0)) l.close();
  });
  /** Polls with a PING (not counted as a fence) until the line takes commands; fails after 5 s. */
  const connected = async (lines: FenceLines) => {
    const end = Date.now() + 5000;
    for (;;) {
      const err = await lines.send('127.0.0.1', server.port, ['PING']).then(
        () => null,
        (e: Error) => e,
      );
      if (!err || !/no connection/.test(err.message)) return;
      assert.ok(Date.now() < end, `the line never connected: ${err.message}`);
      await new Promise((r) => setTimeout(r, 5)); // the poll's interval, as until() has
    }
  };

  it('keeps one line through slow answers: every fence gets in', async () => {
    const lines = fresh();
    let received = 0;
    server.handle = (cmd) => {
      if (cmd[0] !== 'CONFIG') return undefined;
      received++;
      return SILENT;
    };
    const before = connections;
    await assert.rejects(lines.send('127.0.0.1', server.port, ['CONFIG', 'SET', 'x', '1']), /none made/);
    lines.keep('127.0.0.1', server.port, login);
    lines.keep('127.0.0.1', server.port, login);
    await assert.rejects(lines.send('127.0.0.1', server.port, ['CONFIG', 'SET', 'x', '1']), /no connection/);
    await connected(lines);
    // Each look asks for the line again: the one made is kept.
    lines.keep('127.0.0.1', server.port, login);
    for (let i = 0; i < 5; i++)
      await assert.rejects(lines.send('127.0.0.1', server.port, ['CONFIG', 'SET', 'x', '100']), /timed out/i);
    await until(() => received === 5);
    assert.equal(connections - before, 1, 'one connection all along');
    assert.equal(lines.size, 1);
    lines.close();
    assert.equal(lines.size, 0);
  });

  it('remakes a line on a changed login, and lets go of those no replica follows', async () => {
    const lines = fresh();
    server.handle = () => undefined;
    const before = connections;
    lines.keep('127.0.0.1', server.port, login);
    await until(() => connections - before === 1);
    lines.keep('127.0.0.1', server.port, login);
    lines.keep('127.0.0.1', server.port, { ...login, password: 'rotated' });
    await until(() => connections - before === 2);
    lines.keep('127.0.0.2', server.port, login);
    assert.equal(lines.size, 2);
    lines.only(new Set([`127.0.0.2:${server.port}`]));
    assert.equal(lines.size, 1);
    await assert.rejects(lines.send('127.0.0.1', server.port, ['PING']), /none made/);
    lines.close();
  });
});
