import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dbTables, tablesGrowing } from '../../src/tools/bench/tables.ts';

describe('bench: whether Redis is growing a key table', () => {
  // Figures of a real redis-server 7.0: 1,200,000 keys (40 bytes each) in 2^21 slots, 1,000,000
  // with an expiry (24 bytes each) in 2^20 slots.
  const settled = {
    db: 'db0',
    keys: 1_200_000,
    expires: 1_000_000,
    mainBytes: 64_777_216,
    expiresBytes: 32_388_608,
  };

  it('reads the slots of both tables from their overhead', () => {
    assert.deepEqual(tablesGrowing(settled), { mainSlots: 2 ** 21, expiresSlots: 2 ** 20, growing: false });
  });

  it('says growing while a table has the slots of two (old and new)', () => {
    const main = { ...settled, mainBytes: settled.mainBytes + 2 ** 20 * 8 };
    assert.equal(tablesGrowing(main)?.growing, true);
    const expires = { ...settled, expiresBytes: settled.expiresBytes + 2 ** 19 * 8 };
    assert.equal(tablesGrowing(expires)?.growing, true);
  });

  it('says it cannot tell when the figures do not fit that layout', () => {
    assert.equal(tablesGrowing({ ...settled, mainBytes: settled.mainBytes + 3 }), null);
    assert.equal(tablesGrowing({ ...settled, expiresBytes: 100 }), null);
    // An empty database has no slots yet.
    assert.deepEqual(tablesGrowing({ db: 'db0', keys: 0, expires: 0, mainBytes: 0, expiresBytes: 0 }), {
      mainSlots: 0,
      expiresSlots: 0,
      growing: false,
    });
  });

  it('pairs MEMORY STATS per database with the counts of INFO keyspace', () => {
    const stats = [
      'peak.allocated',
      123,
      'db.0',
      ['overhead.hashtable.main', 64_777_216, 'overhead.hashtable.expires', 32_388_608],
      'db.3',
      ['overhead.hashtable.main', 72, 'overhead.hashtable.expires', 0],
      'keys.count',
      1_200_001,
    ];
    const keyspace =
      '# Keyspace\r\ndb0:keys=1200000,expires=1000000,avg_ttl=0\r\ndb3:keys=1,expires=0,avg_ttl=0\r\n';
    assert.deepEqual(dbTables(stats, keyspace), [
      settled,
      { db: 'db3', keys: 1, expires: 0, mainBytes: 72, expiresBytes: 0 },
    ]);
  });
});
