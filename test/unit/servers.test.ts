import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/ops/commands/context.ts';
import { parseUpgradeArgs } from '../../src/ops/commands/upgrade.ts';
import { serverFromEnv } from '../../src/ops/settings.ts';
import { binaries, isServerKind, parseServer, ServerChoice } from '../../src/ops/supervisor/servers.ts';

describe('the server of the local stack', () => {
  it('REDIS_SERVER: redis by default, valkey when asked, anything else refused', () => {
    assert.equal(serverFromEnv({}), 'redis');
    assert.equal(serverFromEnv({ REDIS_SERVER: 'valkey' }), 'valkey');
    assert.throws(() => serverFromEnv({ REDIS_SERVER: 'keydb' }), /REDIS_SERVER.*redis or valkey/);
  });

  it('names the programs of each server', () => {
    assert.deepEqual(binaries('redis'), {
      server: 'redis-server',
      sentinel: 'redis-sentinel',
      cli: 'redis-cli',
    });
    assert.deepEqual(binaries('valkey'), {
      server: 'valkey-server',
      sentinel: 'valkey-sentinel',
      cli: 'valkey-cli',
    });
    assert.ok(isServerKind('valkey') && !isServerKind('Valkey'));
  });

  it('every process starts on the setting until one is moved', () => {
    const c = new ServerChoice('redis');
    c.set('redis-2', 'valkey');
    assert.equal(c.of('redis-1'), 'redis');
    assert.equal(c.of('redis-2'), 'valkey');
  });

  it('reads INFO server of Valkey 8 and of Redis 7.0', () => {
    assert.equal(
      parseServer('# Server\r\nredis_version:7.2.4\r\nserver_name:valkey\r\nvalkey_version:8.0.1\r\n'),
      'valkey 8.0.1',
    );
    assert.equal(
      parseServer('# Server\r\nredis_version:7.0.15\r\nredis_mode:standalone\r\n'),
      'redis 7.0.15',
    );
  });

  it('ha-stack upgrade needs --server; the point of no return only with its flag', () => {
    assert.deepEqual(parseUpgradeArgs(['--server', 'valkey']), { server: 'valkey', pastNoReturn: false });
    assert.deepEqual(parseUpgradeArgs(['--server', 'redis', '--yes-past-no-return']), {
      server: 'redis',
      pastNoReturn: true,
    });
    assert.throws(() => parseUpgradeArgs([]), UsageError);
    assert.throws(() => parseUpgradeArgs(['--server', 'keydb']), UsageError);
    assert.throws(() => parseUpgradeArgs(['--server', 'valkey', 'now']), UsageError);
  });
});
