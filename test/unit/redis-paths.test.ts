import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  classify,
  NoMasterError,
  NotEnoughReplicasError,
  ReadUnavailableError,
  StoreFullError,
} from '../../src/ha/errors.ts';
import type { MasterLink } from '../../src/ha/links.ts';
import { FallbackReader } from '../../src/ha/reads.ts';
import { TimeoutError } from '../../src/ha/timeouts.ts';
import { DurableWriter, retryPause } from '../../src/ha/writes.ts';

/** A Redis error reply as ioredis gives it (a ReplyError is an Error with the reply as message). */
const reply = (message: string) => new Error(message);

/** EXEC refused because a queued command was: ioredis puts the queued errors in previousErrors. */
function execAbort(...causes: string[]): Error {
  return Object.assign(reply('EXECABORT Transaction discarded because of previous errors.'), {
    previousErrors: causes.map(reply),
  });
}

describe('classify', () => {
  it('names each refusal, also inside MULTI/EXEC', () => {
    assert.equal(classify(reply('OOM command not allowed when used memory > maxmemory.')), 'full');
    assert.equal(classify(execAbort('OOM command not allowed when used memory > maxmemory.')), 'full');
    assert.equal(classify(reply('NOREPLICAS Not enough good replicas to write.')), 'no-replicas');
    assert.equal(classify(execAbort('NOREPLICAS Not enough good replicas to write.')), 'no-replicas');
    assert.equal(classify(reply("READONLY You can't write against a read only replica.")), 'read-only');
    assert.equal(classify(reply('MISCONF Redis is configured to save RDB snapshots')), 'refused');
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
});

/** A fake connection: commands are functions of the fake client, readiness is a flag. */
class FakeLink<C> implements MasterLink<C> {
  isReady = true;
  ep = 1;
  waits: number[] = [];
  acks: () => number = () => 1;
  private readyWaiters: (() => void)[] = [];
  constructor(readonly client: C) {}
  ready() {
    return this.isReady;
  }
  whenReady(deadline: number): Promise<boolean> {
    if (this.isReady) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
      this.readyWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
  becomeReady() {
    this.isReady = true;
    this.ep++;
    for (const w of this.readyWaiters.splice(0)) w();
  }
  batch<T>(fn: () => T): T {
    return fn();
  }
  epoch() {
    return this.ep;
  }
  async wait(replicas: number): Promise<number> {
    this.waits.push(replicas);
    return this.acks();
  }
}

const writeOpts = { waitReplicas: 1, waitTimeoutMs: 50, deadlineMs: 600, noReplicaGraceMs: 150 };

describe('DurableWriter', () => {
  it('acknowledges a write only after a WAIT that a replica confirmed', async () => {
    const link = new FakeLink({ name: 'master' });
    const writer = new DurableWriter(link, writeOpts);
    const order: string[] = [];
    link.acks = () => {
      order.push('wait');
      return 1;
    };
    const value = await writer.write(async () => {
      order.push('write');
      return 'OK';
    });
    assert.equal(value, 'OK');
    assert.deepEqual(order, ['write', 'wait']);
    assert.deepEqual(link.waits, [1]);
  });

  it('never acknowledges a write no replica confirmed: 503 at the deadline', async () => {
    const link = new FakeLink({});
    link.acks = () => 0;
    const writer = new DurableWriter(link, { ...writeOpts, deadlineMs: 200 });
    let runs = 0;
    const started = Date.now();
    await assert.rejects(
      writer.write(async () => {
        runs++;
      }),
      (err: unknown) => err instanceof NoMasterError && /not confirmed/.test(err.message),
    );
    assert.ok(Date.now() - started >= 190, 'kept trying until the deadline');
    assert.ok(runs > 1, `retried (${runs} runs)`);
  });

  it('shares one WAIT among the writes of one event-loop turn', async () => {
    const link = new FakeLink({});
    const writer = new DurableWriter(link, writeOpts);
    await Promise.all([1, 2, 3].map(() => writer.write(async () => 'OK')));
    assert.equal(link.waits.length, 1);
  });

  it('does not take a WAIT of a later connection as confirmation of an earlier write', async () => {
    const link = new FakeLink({});
    const writer = new DurableWriter(link, writeOpts);
    let runs = 0;
    await writer.write(async () => {
      runs++;
      // The connection closes and opens again between the first write and its WAIT.
      if (runs === 1) link.ep++;
    });
    assert.equal(runs, 2, 'the write ran again on the new connection');
  });

  it('answers a full store at once, also when Redis says so inside MULTI', async () => {
    const link = new FakeLink({});
    const writer = new DurableWriter(link, { ...writeOpts, deadlineMs: 5000 });
    for (const err of [reply('OOM command not allowed'), execAbort('OOM command not allowed')]) {
      let runs = 0;
      const started = Date.now();
      await assert.rejects(
        writer.write(async () => {
          runs++;
          throw err;
        }),
        StoreFullError,
      );
      assert.equal(runs, 1);
      assert.ok(Date.now() - started < 100, 'not retried until the deadline');
    }
  });

  it('retries a new master that refuses writes for a moment, and answers at once once the refusal lasts', async () => {
    const link = new FakeLink({});
    const writer = new DurableWriter(link, { ...writeOpts, deadlineMs: 5000 });
    // Replicas attach 60 ms into the refusal: within the grace, the write succeeds.
    const until = Date.now() + 60;
    const value = await writer.write(async () => {
      if (Date.now() < until) throw execAbort('NOREPLICAS Not enough good replicas to write.');
      return 'OK';
    });
    assert.equal(value, 'OK');
    assert.equal(writer.refusingWrites, false);

    // No replica comes back: past the grace (150 ms) the write is answered 503 long before its deadline.
    const started = Date.now();
    await assert.rejects(
      writer.write(async () => {
        throw reply('NOREPLICAS Not enough good replicas to write.');
      }),
      NotEnoughReplicasError,
    );
    const took = Date.now() - started;
    assert.ok(took >= 140 && took < 1000, `answered after ${took} ms`);
    assert.equal(writer.refusingWrites, true);
    // The next write still tries once (so a returning replica is noticed), and is answered at once.
    const next = Date.now();
    let runs = 0;
    await assert.rejects(
      writer.write(async () => {
        runs++;
        throw reply('NOREPLICAS Not enough good replicas to write.');
      }),
      NotEnoughReplicasError,
    );
    assert.equal(runs, 1);
    assert.ok(Date.now() - next < 50);
    // A replica is back: the first write succeeds and the mode ends.
    assert.equal(await writer.write(async () => 'back'), 'back');
    assert.equal(writer.refusingWrites, false);
  });

  it('waits for a master that is not connected, up to the deadline', async () => {
    const link = new FakeLink({});
    link.isReady = false;
    const writer = new DurableWriter(link, writeOpts);
    setTimeout(() => link.becomeReady(), 50);
    assert.equal(await writer.write(async () => 'OK'), 'OK');
    link.isReady = false;
    await assert.rejects(
      writer.write(async () => 'never', 80),
      (err: unknown) => err instanceof NoMasterError && /within 80 ms/.test(err.message),
    );
  });

  it('retries quickly at first, then backs off to at most 100 ms', () => {
    assert.equal(retryPause(0), 5);
    assert.equal(retryPause(19), 5);
    assert.equal(retryPause(20), 10);
    assert.equal(retryPause(25), 60);
    assert.equal(retryPause(500), 100);
  });

  it('a fast write needs no WAIT', async () => {
    const link = new FakeLink({});
    const writer = new DurableWriter(link, writeOpts);
    assert.equal(await writer.fastWrite(async () => 7), 7);
    assert.deepEqual(link.waits, []);
  });

  it('passes a bad command through unchanged, without retrying it', async () => {
    const link = new FakeLink({});
    const writer = new DurableWriter(link, writeOpts);
    let runs = 0;
    await assert.rejects(
      writer.write(async () => {
        runs++;
        throw reply('WRONGTYPE Operation against a key');
      }),
      /WRONGTYPE/,
    );
    assert.equal(runs, 1);
  });
});

type Node = { name: string; refuseWrites?: boolean; hang?: boolean; down?: boolean };
type Call = { node: string; readOnly: boolean };

/** A session read as the app does it: the renewal is a write, which some nodes refuse. */
function sessionRead(calls: Call[]) {
  return async (r: Node, readOnly: boolean) => {
    calls.push({ node: r.name, readOnly });
    if (r.down) throw reply('Connection is closed.');
    if (r.hang) return new Promise<string>(() => undefined);
    if (!readOnly && r.refuseWrites) throw execAbort('NOREPLICAS Not enough good replicas to write.');
    return `from ${r.name}`;
  };
}

const readOpts = { fallbackMs: 40, lastChanceMs: 300, renewPauseMs: 1000 };

function links(master: Node, replica: Node | null) {
  const m = new FakeLink<Node>(master);
  const r = replica ? new FakeLink<Node>(replica) : null;
  return { m, r, reader: new FallbackReader<Node>(m, r, readOpts) };
}

describe('FallbackReader', () => {
  it('reads from the master with its write part when all is well', async () => {
    const { reader } = links({ name: 'master' }, { name: 'replica' });
    const calls: Call[] = [];
    const read = await reader.read(sessionRead(calls));
    assert.deepEqual(read, { value: 'from master', fromReplica: false });
    assert.deepEqual(calls, [{ node: 'master', readOnly: false }]);
  });

  it('serves a read from a master that refuses the renewal, and skips the renewal for a while', async () => {
    // The master left without replicas: it answers reads but refuses writes (NOREPLICAS).
    const { reader } = links({ name: 'master', refuseWrites: true }, null);
    const calls: Call[] = [];
    const first = await reader.read(sessionRead(calls));
    assert.deepEqual(first, { value: 'from master', fromReplica: false });
    assert.deepEqual(calls, [
      { node: 'master', readOnly: false },
      { node: 'master', readOnly: true },
    ]);
    assert.equal(reader.writesSkipped, true);
    calls.length = 0;
    await reader.read(sessionRead(calls));
    assert.deepEqual(calls, [{ node: 'master', readOnly: true }], 'one command, no refused renewal');
  });

  it('serves a read when the new master refuses writes and the replica connection is moving', async () => {
    // Right after a promotion: the replica connection was dropped off the promoted node, and the
    // new master has no replica attached yet.
    const { reader, r } = links({ name: 'new-master', refuseWrites: true }, { name: 'replica' });
    r!.isReady = false;
    const calls: Call[] = [];
    const read = await reader.read(sessionRead(calls));
    assert.equal(read.value, 'from new-master');
  });

  it('goes to a replica when the master does not answer in time', async () => {
    const { reader } = links({ name: 'master', hang: true }, { name: 'replica' });
    const calls: Call[] = [];
    const started = Date.now();
    const read = await reader.read(sessionRead(calls));
    const took = Date.now() - started;
    assert.deepEqual(read, { value: 'from replica', fromReplica: true });
    assert.deepEqual(calls.at(-1), { node: 'replica', readOnly: true });
    assert.ok(took >= 35 && took < 40 + 60, `served after ${took} ms (fallback 40 ms)`);
  });

  it('counts each read a replica served, and only those', async () => {
    let counted = 0;
    const opts = { ...readOpts, onReplicaRead: () => counted++ };
    const healthy = new FallbackReader<Node>(
      new FakeLink({ name: 'master' }),
      new FakeLink({ name: 'replica' }),
      opts,
    );
    await healthy.read(sessionRead([]));
    assert.equal(counted, 0, 'a master read is not counted');
    const m = new FakeLink<Node>({ name: 'master' });
    m.isReady = false;
    const degraded = new FallbackReader<Node>(m, new FakeLink({ name: 'replica' }), opts);
    assert.equal((await degraded.read(sessionRead([]))).fromReplica, true);
    await degraded.read(sessionRead([]));
    assert.equal(counted, 2);
  });

  it('goes to a replica when the master connection is lost', async () => {
    const { reader, m } = links({ name: 'master' }, { name: 'replica' });
    m.isReady = false;
    const calls: Call[] = [];
    const read = await reader.read(sessionRead(calls));
    assert.deepEqual(read, { value: 'from replica', fromReplica: true });
    assert.deepEqual(calls, [{ node: 'replica', readOnly: true }]);
  });

  it('waits for a master when no node is connected, and reads it without renewal', async () => {
    const { reader, m, r } = links({ name: 'master' }, { name: 'replica' });
    m.isReady = false;
    r!.isReady = false;
    setTimeout(() => m.becomeReady(), 30);
    const calls: Call[] = [];
    const read = await reader.read(sessionRead(calls));
    assert.equal(read.value, 'from master');
    assert.deepEqual(calls, [{ node: 'master', readOnly: true }]);
  });

  it('tries the master again until the last chance ends, with a timeout that grows to its end', async () => {
    // The master fails for 120 ms (a failover moving the connection), then answers slowly (90 ms,
    // more than the 40 ms fallback); the replica connection is not there.
    const { reader, m } = links({ name: 'master' }, null);
    const started = Date.now();
    let runs = 0;
    const read = await reader.read(async (r, readOnly) => {
      runs++;
      if (Date.now() - started < 120) throw reply('Connection is closed.');
      await new Promise((resolve) => setTimeout(resolve, 90));
      return `${r.name} ${readOnly}`;
    });
    assert.deepEqual(read, { value: 'master true', fromReplica: false });
    assert.ok(runs >= 3, `${runs} runs`);
    assert.ok(m.isReady);
    // And gives up once the last chance (300 ms) is over.
    const t0 = Date.now();
    await assert.rejects(
      reader.read(async () => {
        throw reply('Connection is closed.');
      }),
      ReadUnavailableError,
    );
    const took = Date.now() - t0;
    assert.ok(took >= 280 && took < 1000, `gave up after ${took} ms`);
  });

  it('answers ReadUnavailableError only when no node answers', async () => {
    const { reader } = links({ name: 'master', down: true }, { name: 'replica', down: true });
    await assert.rejects(reader.read(sessionRead([])), ReadUnavailableError);
  });

  it('passes a bad command through', async () => {
    const { reader } = links({ name: 'master' }, { name: 'replica' });
    await assert.rejects(
      reader.read(async () => {
        throw reply('WRONGTYPE Operation against a key');
      }),
      /WRONGTYPE/,
    );
  });
});
