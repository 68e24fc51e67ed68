import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTransient } from '../../src/redis/errors.ts';

describe('isTransient', () => {
  it('retries what a failover causes', () => {
    for (const message of [
      "READONLY You can't write against a read only replica.",
      'NOREPLICAS Not enough good replicas to write.',
      'Connection is closed.',
      'Command aborted due to connection close',
      'Command timed out',
      'write not confirmed by 1 replica(s)',
      'read ECONNRESET',
    ])
      assert.equal(isTransient(new Error(message)), true, message);
  });

  it('does not retry a bad command or a full store', () => {
    for (const message of [
      'ERR wrong number of arguments',
      'WRONGTYPE Operation against a key',
      'OOM command not allowed',
    ])
      assert.equal(isTransient(new Error(message)), false, message);
    assert.equal(isTransient('READONLY'), false, 'not an Error');
  });
});
