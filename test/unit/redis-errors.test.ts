import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  classify,
  isTransient,
  NoMasterError,
  NotConfirmedError,
  NotEnoughReplicasError,
  ReadUnavailableError,
  refusesWrites,
  StoreFullError,
  UnavailableError,
} from '../../src/ha/errors.ts';
import { TimeoutError } from '../../src/ha/timeouts.ts';

/** A Redis error reply as ioredis gives it (a ReplyError is an Error with the reply as message). */
const reply = (message: string) => new Error(message);

/** EXEC refused because a queued command was: ioredis puts the queued errors in previousErrors. */
function execAbort(...causes: string[]): Error {
  return Object.assign(reply('EXECABORT Transaction discarded because of previous errors.'), {
    previousErrors: causes.map(reply),
  });
}

const OOM = 'OOM command not allowed when used memory > maxmemory.';
const MISCONF = 'MISCONF Redis is configured to save RDB snapshots';
const NOREPLICAS = 'NOREPLICAS Not enough good replicas to write.';
const READONLY = "READONLY You can't write against a read only replica.";
const LOADING = 'LOADING Redis is loading the dataset in memory';
const WRONGTYPE = 'WRONGTYPE Operation against a key holding the wrong kind of value';

describe('classify', () => {
  it('names each refusal, also inside MULTI/EXEC', () => {
    assert.equal(classify(reply('OOM command not allowed when used memory > maxmemory.')), 'full');
    assert.equal(classify(execAbort('OOM command not allowed when used memory > maxmemory.')), 'full');
    assert.equal(classify(reply('NOREPLICAS Not enough good replicas to write.')), 'no-replicas');
    assert.equal(classify(execAbort('NOREPLICAS Not enough good replicas to write.')), 'no-replicas');
    assert.equal(classify(reply("READONLY You can't write against a read only replica.")), 'read-only');
    assert.equal(classify(reply('MISCONF Redis is configured to save RDB snapshots')), 'refused');
    assert.equal(classify(reply('LATE the write reached the master after its deadline')), 'late');
    assert.equal(classify(execAbort('WRONGTYPE Operation against a key')), 'fatal');
  });

  it('retries what a failover causes and nothing else', () => {
    for (const message of [
      'Connection is closed.',
      "Stream isn't writeable and enableOfflineQueue options is false",
      'Command aborted due to connection close',
      'Command timed out',
      'read ECONNRESET',
      'LOADING Redis is loading the dataset in memory',
    ])
      assert.equal(classify(reply(message)), 'transient', message);
    assert.equal(classify(Object.assign(new Error('x'), { name: 'AbortError' })), 'transient');
    assert.equal(classify(new TimeoutError(5)), 'transient');
    assert.equal(classify(reply('ERR wrong number of arguments')), 'fatal');
    assert.equal(classify(reply('WRONGTYPE Operation against a key')), 'fatal');
    assert.equal(classify('READONLY'), 'fatal', 'not an Error');
  });

  it('maps each Redis error code to its kind', () => {
    const cases: [string, string][] = [
      [OOM, 'full'],
      [NOREPLICAS, 'no-replicas'],
      [READONLY, 'read-only'],
      ['MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to no.', 'read-only'],
      [MISCONF, 'refused'],
      [LOADING, 'transient'],
      ['TRYAGAIN Multiple keys request during rehashing of slot', 'transient'],
      ['BUSY Redis is busy running a script.', 'transient'],
      ['CLUSTERDOWN The cluster is down', 'transient'],
      ['ERR unknown command', 'fatal'],
      [WRONGTYPE, 'fatal'],
    ];
    for (const [message, kind] of cases) assert.equal(classify(reply(message)), kind, message);
  });

  it('reads the code only as the first word of the reply, in capitals, followed by a space', () => {
    assert.equal(classify(reply('the reply said OOM later')), 'fatal');
    assert.equal(classify(reply('oom command not allowed')), 'fatal');
    assert.equal(classify(reply('OOM')), 'fatal', 'a code must be followed by its text');
    assert.equal(classify(reply('READONLYX something')), 'fatal');
  });

  it('treats the client and socket failures of a failover as transient', () => {
    for (const message of [
      'Reached the max retries per request limit (which is 20).',
      'connect ECONNREFUSED 127.0.0.1:6379',
      'write EPIPE',
      'connect ETIMEDOUT',
    ])
      assert.equal(classify(reply(message)), 'transient', message);
    assert.equal(classify(Object.assign(new Error('x'), { name: 'MaxRetriesPerRequestError' })), 'transient');
    // Only at the start of the message: a command whose text merely mentions it is not a lost connection.
    assert.equal(classify(reply('ERR Connection is closed by script')), 'fatal');
    assert.equal(classify(Object.assign(new Error('x'), { name: 'TypeError' })), 'fatal');
  });

  it('counts an unconfirmed WAIT as transient', () => {
    const err = new NotConfirmedError(2);
    assert.equal(classify(err), 'transient');
    assert.equal(err.message, 'write not confirmed by 2 replica(s)');
    assert.equal(err.name, 'NotConfirmedError');
  });

  it('takes the most serious cause of a refused transaction', () => {
    assert.equal(classify(execAbort(LOADING, READONLY, NOREPLICAS, MISCONF, OOM)), 'full');
    assert.equal(classify(execAbort(LOADING, READONLY, NOREPLICAS, MISCONF)), 'refused');
    assert.equal(classify(execAbort(LOADING, READONLY, NOREPLICAS)), 'no-replicas');
    assert.equal(classify(execAbort(LOADING, READONLY)), 'read-only');
    assert.equal(classify(execAbort(WRONGTYPE, LOADING)), 'transient');
    assert.equal(classify(execAbort(WRONGTYPE, WRONGTYPE)), 'fatal');
  });

  it('counts a refused transaction without its causes as transient', () => {
    assert.equal(classify(execAbort()), 'transient');
    assert.equal(classify(reply('EXECABORT Transaction discarded because of previous errors.')), 'transient');
    const notAnArray = Object.assign(reply('EXECABORT Transaction discarded'), { previousErrors: 'OOM' });
    assert.equal(classify(notAnArray), 'transient');
  });
});

describe('refusesWrites and isTransient', () => {
  const table: [string, boolean, boolean][] = [
    // message, refuses writes, transient
    [OOM, true, false],
    [MISCONF, true, false],
    [NOREPLICAS, true, true],
    [READONLY, true, true],
    [LOADING, false, true],
    ['Connection is closed.', false, true],
    [WRONGTYPE, false, false],
  ];
  for (const [message, refuses, transient] of table) {
    it(`${message.split(' ')[0]}: refuses writes ${refuses}, transient ${transient}`, () => {
      assert.equal(refusesWrites(reply(message)), refuses);
      assert.equal(isTransient(reply(message)), transient);
    });
  }
  it('never retries what is not an error', () => {
    assert.equal(isTransient(undefined), false);
    assert.equal(refusesWrites('READONLY'), false);
  });
});

describe('unavailability errors', () => {
  it('tell the client when to come back, each under its own name', () => {
    const cases: [UnavailableError, string, number][] = [
      [new NoMasterError('no master'), 'NoMasterError', 1],
      [new NoMasterError('no master', 4), 'NoMasterError', 4],
      [new NotEnoughReplicasError(), 'NotEnoughReplicasError', 2],
      [new ReadUnavailableError('no read'), 'ReadUnavailableError', 1],
      [new StoreFullError(), 'StoreFullError', 30],
      [new UnavailableError('down', 7), 'UnavailableError', 7],
    ];
    for (const [err, name, seconds] of cases) {
      assert.ok(err instanceof UnavailableError);
      assert.ok(err instanceof Error);
      assert.equal(err.name, name);
      assert.equal(err.retryAfterSeconds, seconds, name);
    }
    assert.equal(new NoMasterError('no master').message, 'no master');
    assert.match(new NotEnoughReplicasError().message, /no replica/);
    assert.equal(new NotEnoughReplicasError('custom', 5).message, 'custom');
    assert.match(new StoreFullError().message, /full/);
  });
});
