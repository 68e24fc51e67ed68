import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  describeMode,
  describeSentinels,
  sentinelMode,
  sentinelsNeeded,
  serviceMode,
} from '../../src/ha/mode.ts';

describe('the service mode', () => {
  const base = { masterUp: true, replicasOfMaster: 2, minReplicas: 1, replicasUp: 2 };

  it('is healthy with a master and enough replicas', () => {
    assert.equal(serviceMode(base), 'healthy');
    assert.equal(serviceMode({ ...base, replicasOfMaster: 1, replicasUp: 1 }), 'healthy');
  });

  it('is read-only with a master short of replicas', () => {
    assert.equal(serviceMode({ ...base, replicasOfMaster: 0 }), 'read-only');
    assert.equal(serviceMode({ ...base, replicasOfMaster: 1, minReplicas: 2 }), 'read-only');
  });

  it('is no-master when only replicas answer', () => {
    assert.equal(serviceMode({ ...base, masterUp: false, replicasOfMaster: 0 }), 'no-master');
    // The replicas a master had do not count once it is down.
    assert.equal(serviceMode({ ...base, masterUp: false }), 'no-master');
  });

  it('is unavailable when no node answers', () => {
    assert.equal(
      serviceMode({ masterUp: false, replicasOfMaster: 0, minReplicas: 1, replicasUp: 0 }),
      'unavailable',
    );
    assert.equal(serviceMode({ ...base, masterUp: false, replicasUp: 0 }), 'unavailable');
  });
});

describe('the Sentinel mode', () => {
  it('is ok with a quorum and a majority out of TILT', () => {
    assert.equal(sentinelMode({ up: 3, tilt: 0, quorum: 2 }, 3), 'ok');
    assert.equal(sentinelMode({ up: 2, tilt: 0, quorum: 2 }, 3), 'ok');
    assert.equal(sentinelMode({ up: 3, tilt: 1, quorum: 2 }, 3), 'ok');
  });

  it('is no-quorum when too few Sentinels answer', () => {
    assert.equal(sentinelMode({ up: 1, tilt: 0, quorum: 2 }, 3), 'no-quorum');
    assert.equal(sentinelMode({ up: 0, tilt: 0, quorum: 2 }, 3), 'no-quorum');
    // Quorum 1 still needs a majority of all Sentinels to elect a leader.
    assert.equal(sentinelMode({ up: 2, tilt: 0, quorum: 1 }, 5), 'no-quorum');
    assert.equal(sentinelMode({ up: 1, tilt: 0, quorum: 1 }, 3), 'no-quorum');
    assert.equal(sentinelMode({ up: 2, tilt: 0, quorum: 1 }, 4), 'no-quorum');
    assert.equal(sentinelMode({ up: 2, tilt: 1, quorum: 3 }, 3), 'no-quorum');
  });

  it('is tilt when enough answer but TILT keeps too many out', () => {
    assert.equal(sentinelMode({ up: 3, tilt: 2, quorum: 2 }, 3), 'tilt');
    assert.equal(sentinelMode({ up: 2, tilt: 1, quorum: 2 }, 3), 'tilt');
  });

  it('is no-quorum, not tilt, when too few answer even counting those in TILT', () => {
    assert.equal(sentinelMode({ up: 1, tilt: 1, quorum: 2 }, 3), 'no-quorum');
    assert.equal(sentinelMode({ up: 1, tilt: 1, quorum: 1 }, 3), 'no-quorum');
  });

  it('needs the larger of the quorum and a majority', () => {
    assert.equal(sentinelsNeeded(2, 3), 2);
    assert.equal(sentinelsNeeded(1, 5), 3);
    assert.equal(sentinelsNeeded(4, 5), 4);
    assert.equal(sentinelsNeeded(1, 3), 2);
    assert.equal(sentinelsNeeded(3, 3), 3);
    assert.equal(sentinelsNeeded(1, 4), 3);
  });
});

describe('what each mode means', () => {
  it('describes each mode', () => {
    assert.equal(describeMode('healthy'), 'reads and writes served');
    assert.equal(
      describeMode('no-master'),
      'no master: reads served by a replica, writes wait for a master, then 503',
    );
    assert.equal(
      describeMode('read-only'),
      'master without enough replicas: reads served, writes answered 503 until a replica is back',
    );
    assert.equal(describeMode('unavailable'), 'no Redis node answers');
    assert.equal(describeSentinels('ok'), 'Sentinels can fail over');
    assert.equal(describeSentinels('no-quorum'), 'too few Sentinels answer: no failover can happen');
    assert.equal(describeSentinels('tilt'), 'Sentinels in TILT mode: no failover until they leave it (30 s)');
  });
});
