import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fieldsOf } from '../../src/ha/fields.ts';
import {
  MEMORY_ALARM_SHARE,
  memoryAlarm,
  parseInfo,
  parseMemory,
  parseNodeInfo,
  parseReplication,
} from '../../src/ha/info.ts';
import { newestMaster } from '../../src/ha/sentinel/belief.ts';
import { parseSentinelMaster } from '../../src/ha/sentinel/replies.ts';
import { whyDown } from '../../src/ha/watch.ts';

describe('parseInfo', () => {
  it('keeps fields, values with colons, and leaves out headers, blank lines and names that are empty', () => {
    const info = parseInfo(
      '# Replication\r\nrole:master\r\n\r\nmaster_host:fe80::1\r\n:nokey\r\n#x:y\r\nplain\r\n',
    );
    assert.deepEqual(info, { role: 'master', master_host: 'fe80::1' });
  });

  it('splits on CRLF only', () => {
    assert.deepEqual(parseInfo('a:1\nb:2'), { a: '1\nb:2' });
  });
});

describe('fieldsOf', () => {
  it('reads a flat list of names and values; a lone last name and anything but a list give nothing', () => {
    assert.deepEqual(fieldsOf(['ip', '127.0.0.1', 'port', 6379, 'flags']), { ip: '127.0.0.1', port: '6379' });
    assert.deepEqual(fieldsOf(null), {});
    assert.deepEqual(fieldsOf('OK'), {});
  });
});

describe('parseSentinelMaster', () => {
  it('reads the fields it needs from the flat list', () => {
    const f = parseSentinelMaster([
      'name',
      'mymaster',
      'ip',
      '10.0.0.1',
      'port',
      '6379',
      'quorum',
      '2',
      'flags',
      'master,s_down',
      'config-epoch',
      '7',
      'num-slaves',
      '2',
      'num-other-sentinels',
      '2',
      'failover-state',
      'wait_promotion',
    ]);
    assert.deepEqual(f, {
      master: { host: '10.0.0.1', port: 6379 },
      quorum: 2,
      flags: 'master,s_down',
      configEpoch: 7,
      replicas: 2,
      otherSentinels: 2,
      failoverState: 'wait_promotion',
    });
  });

  it('gives zeros and no master when fields are missing, and ignores a name without value', () => {
    assert.deepEqual(parseSentinelMaster(['ip', '10.0.0.1', 'port']), {
      master: null,
      quorum: 0,
      flags: '',
      configEpoch: 0,
      replicas: 0,
      otherSentinels: 0,
      failoverState: '',
    });
    assert.equal(parseSentinelMaster(['port', '1']).master, null);
  });
});

describe('newestMaster', () => {
  it('counts each Sentinel naming a master and keeps the highest epoch of them', () => {
    const a = { master: { host: 'a', port: 1 }, configEpoch: 5 };
    const a0 = { master: { host: 'a', port: 1 }, configEpoch: 3 };
    assert.deepEqual(newestMaster([a0, a]), { host: 'a', port: 1, epoch: 5, votes: 2 });
    assert.deepEqual(newestMaster([a, a0]), { host: 'a', port: 1, epoch: 5, votes: 2 });
    const b = { master: { host: 'a', port: 2 }, configEpoch: 5 };
    assert.deepEqual(newestMaster([b, a, a0]), { host: 'a', port: 1, epoch: 5, votes: 2 });
  });
});

describe('parseReplication', () => {
  it('reads a master with its replicas', () => {
    const r = parseReplication(
      'role:master\r\nconnected_slaves:2\r\nslave0:ip=10.0.0.2,port=6380,state=online,offset=100,lag=0\r\nslave1:ip=10.0.0.3,port=6381,state=online,offset=90,lag=1\r\nslaves:x\r\nmaster_repl_offset:120\r\n',
    );
    assert.deepEqual(r, {
      role: 'master',
      offset: 120,
      connectedReplicas: 2,
      linkUp: false,
      masterHost: undefined,
      masterPort: undefined,
      replicas: [
        { ip: '10.0.0.2', port: 6380, offset: 100, lag: 0 },
        { ip: '10.0.0.3', port: 6381, offset: 90, lag: 1 },
      ],
    });
  });

  it('reads a replica: link, master address, its own offset', () => {
    const r = parseReplication(
      'role:slave\r\nmaster_host:10.0.0.1\r\nmaster_port:6379\r\nmaster_link_status:up\r\nslave_repl_offset:77\r\n',
    );
    assert.equal(r.role, 'slave');
    assert.equal(r.linkUp, true);
    assert.equal(r.masterHost, '10.0.0.1');
    assert.equal(r.masterPort, 6379);
    assert.equal(r.offset, 77);
    assert.equal(r.connectedReplicas, 0);
    assert.equal(parseReplication('master_link_status:down\r\n').linkUp, false);
  });

  it('calls any other role unknown, with zero offset and no replicas', () => {
    const r = parseReplication('role:sentinel\r\n');
    assert.equal(r.role, 'unknown');
    assert.equal(r.offset, 0);
    assert.deepEqual(r.replicas, []);
    assert.equal(parseReplication('').role, 'unknown');
  });

  it('reads a replica line without ip as an empty address', () => {
    const [rep] = parseReplication('slave0:port=1,offset=2,lag=3\r\n').replicas;
    assert.deepEqual(rep, { ip: '', port: 1, offset: 2, lag: 3 });
  });
});

describe('memory', () => {
  it('reads used and max memory, 0 when maxmemory is absent, null without used_memory', () => {
    assert.deepEqual(parseMemory('used_memory:10\r\nmaxmemory:100\r\n'), { used: 10, max: 100 });
    assert.deepEqual(parseMemory('used_memory:10\r\n'), { used: 10, max: 0 });
    assert.equal(parseMemory('maxmemory:100\r\n'), null);
    const n = parseNodeInfo('role:master\r\nused_memory:5\r\nmaxmemory:10\r\n');
    assert.equal(n.role, 'master');
    assert.deepEqual(n.memory, { used: 5, max: 10 });
  });

  it('raises the alarm from 80 % of maxmemory, never without a limit', () => {
    assert.equal(MEMORY_ALARM_SHARE, 0.8);
    assert.equal(memoryAlarm('r1', { used: 799, max: 1000 }), null);
    assert.equal(
      memoryAlarm('r1', { used: 800, max: 1000 }),
      'r1 uses 80 % of its maxmemory (800 of 1000 bytes): writes are refused once it is full',
    );
    assert.match(memoryAlarm('r1', { used: 1006, max: 1000 })!, /^r1 uses 101 % /);
    assert.equal(memoryAlarm('r1', { used: 10, max: 0 }), null);
    assert.equal(memoryAlarm('r1', { used: 10, max: -1 }), null);
    assert.equal(memoryAlarm('r1', null), null);
    assert.equal(memoryAlarm('r1', undefined), null);
  });
});

describe('whyDown', () => {
  it('names refused and reset connections, timeouts and lost connections', () => {
    assert.equal(whyDown({ code: 'ECONNREFUSED', message: 'x' }), 'connection refused');
    assert.equal(whyDown({ code: 'ECONNRESET', message: 'x' }), 'connection reset');
    assert.equal(whyDown(new Error('Command timed out')), 'no reply in time');
    assert.equal(whyDown(new Error('connect ETIMEDOUT')), 'no reply in time');
    assert.equal(whyDown(new Error('TIMEOUT waiting')), 'no reply in time');
    assert.equal(whyDown(new Error('time out')), 'no reply in time');
    assert.equal(whyDown(new Error("Stream isn't writeable")), 'connection lost');
    assert.equal(whyDown(new Error('Connection is closed.')), 'connection lost');
    assert.equal(whyDown(new Error('Socket not connected')), 'connection lost');
    assert.equal(whyDown(new Error('Reached the max retries per request limit')), 'connection lost');
  });

  it('keeps the first 80 characters of another message, and strings of what is no error', () => {
    assert.equal(whyDown(new Error('y'.repeat(100))), 'y'.repeat(80));
    assert.equal(whyDown(new Error('NOAUTH Authentication required.')), 'NOAUTH Authentication required.');
    assert.equal(whyDown('plain'), 'plain');
    assert.equal(whyDown(null), 'null');
    assert.equal(whyDown(undefined), 'undefined');
  });
});
