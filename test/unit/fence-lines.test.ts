// The guard's lines to other hosts' masters (src/ops/supervisor/fence-lines.ts): made ahead, kept
// through any number of slow answers (each command still gets in), remade on a changed login, let
// go when no replica follows that master any more; a send without a connection fails at once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FenceLines } from '../../src/ops/supervisor/fence-lines.ts';
import { RespServer, SILENT } from '../helpers/resp-server.ts';

describe('FenceLines', () => {
  let server: RespServer;
  let connections = 0;
  before(async () => {
    server = await new RespServer().start();
    server.server.on('connection', () => connections++);
  });
  after(() => server.stop());
  const login = { username: 'op', password: 'pw' };
  const until = async (ok: () => boolean) => {
    while (!ok()) await new Promise((r) => setTimeout(r, 5));
  };

  it('keeps one line through slow answers: every fence gets in', async () => {
    const lines = new FenceLines(100);
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
    await until(() => server.log.some((c) => c[0] === 'AUTH' || c[0] === 'HELLO'));
    await new Promise((r) => setTimeout(r, 50));
    for (let i = 0; i < 5; i++)
      await assert.rejects(lines.send('127.0.0.1', server.port, ['CONFIG', 'SET', 'x', '100']), /timed out/i);
    await until(() => received === 5);
    assert.equal(connections - before, 1, 'one connection all along');
    assert.equal(lines.size, 1);
    lines.close();
    assert.equal(lines.size, 0);
  });

  it('remakes a line on a changed login, and lets go of those no replica follows', async () => {
    const lines = new FenceLines(100);
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
