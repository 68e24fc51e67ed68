// Whether a master would take a write (src/tools/chaos/faults.ts acceptsWrites), as the chaos
// runs judge "two masters taking writes": from CONFIG GET min-replicas-to-write and INFO replication.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { acceptsWrites } from '../../src/tools/chaos/faults.ts';

const info = (good: number | undefined, connected = 2) =>
  [
    '# Replication',
    'role:master',
    `connected_slaves:${connected}`,
    ...(good === undefined ? [] : [`min_slaves_good_slaves:${good}`]),
    'master_repl_offset:100',
    '',
  ].join('\r\n');

describe('acceptsWrites', () => {
  it('a master with as many good replicas as it needs takes writes', () => {
    assert.equal(acceptsWrites(['min-replicas-to-write', '1'], info(1)), true);
    assert.equal(acceptsWrites(['min-replicas-to-write', '1'], info(2)), true);
  });

  it('a master whose replicas all left it (or lag too far) takes none', () => {
    assert.equal(acceptsWrites(['min-replicas-to-write', '1'], info(0, 0)), false);
    // Still connected, but beyond min-replicas-max-lag: Redis counts it out.
    assert.equal(acceptsWrites(['min-replicas-to-write', '1'], info(0, 1)), false);
  });

  it('a fenced master takes none, whatever its replicas', () => {
    assert.equal(acceptsWrites(['min-replicas-to-write', '100'], info(2)), false);
  });

  it('a master without the setting (or a reply it cannot read) takes writes', () => {
    assert.equal(acceptsWrites(['min-replicas-to-write', '0'], info(undefined, 0)), true);
    assert.equal(acceptsWrites(null, info(undefined, 0)), true);
  });
});
