// Over 300 lines: the durable writer's and fallback reader's every path (38 cases) on one set of fakes and mock timers.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  NoMasterError,
  NotEnoughReplicasError,
  ReadUnavailableError,
  StoreFullError,
  UnavailableError,
} from '../../src/ha/errors.ts';
import { FallbackReader } from '../../src/ha/reads.ts';
import { TimeoutError } from '../../src/ha/timeouts.ts';
import { DurableWriter, retryPause } from '../../src/ha/writes.ts';
import { runningClock } from '../helpers/clock.ts';
import { FakeLink } from '../helpers/fake-redis.ts';

// Deadlines, grace periods and fallbacks are the subject here: the clock is mocked and moves on by
// itself, so the tests measure the code, not the load of the machine.
let stopClock: () => Promise<void>;
beforeEach(() => {
  stopClock = runningClock();
});
afterEach(() => stopClock());

/** A Redis error reply as ioredis gives it (a ReplyError is an Error with the reply as message). */
const reply = (message: string) => new Error(message);

/** EXEC refused because a queued command was: ioredis puts the queued errors in previousErrors. */
function execAbort(...causes: string[]): Error {
  return Object.assign(reply('EXECABORT Transaction discarded because of previous errors.'), {
    previousErrors: causes.map(reply),
  });
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
    assert.deepEqual(link.waits, [[1, 50]]);
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

  it("a master's connection that reached a replica (READONLY): its answer counts as a replica's, the renewal is tried again", async () => {
    const { reader } = links({ name: 'demoted' }, { name: 'replica' });
    const calls: Call[] = [];
    const fn = async (r: Node, readOnly: boolean) => {
      calls.push({ node: r.name, readOnly });
      if (!readOnly) throw reply("READONLY You can't write against a read only replica.");
      return `from ${r.name}`;
    };
    assert.deepEqual(await reader.read(fn), { value: 'from demoted', fromReplica: true });
    assert.equal(reader.writesSkipped, false, 'the next read finds out whether the connection moved');
    calls.length = 0;
    await reader.read(fn);
    assert.deepEqual(calls, [
      { node: 'demoted', readOnly: false },
      { node: 'demoted', readOnly: true },
    ]);
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

const NOREPLICAS = 'NOREPLICAS Not enough good replicas to write.';

const opts = { waitReplicas: 2, waitTimeoutMs: 70, deadlineMs: 400, noReplicaGraceMs: 100 };

describe('DurableWriter: WAIT, deadlines and refusals', () => {
  it('sends WAIT with the replicas and the timeout configured, and accepts more acks than asked', async () => {
    const link = new FakeLink({});
    link.acks = () => 3;
    const writer = new DurableWriter(link, opts);
    assert.equal(await writer.write(async () => 'OK'), 'OK');
    assert.deepEqual(link.waits, [[2, 70]]);
  });

  it('needs every replica asked for: one ack short is not a confirmation', async () => {
    const link = new FakeLink({});
    link.acks = () => 1;
    const writer = new DurableWriter(link, { ...opts, deadlineMs: 60 });
    await assert.rejects(
      writer.write(async () => 'OK'),
      (err: unknown) =>
        err instanceof NoMasterError &&
        err.retryAfterSeconds === 1 &&
        err.message === 'no durable write within 60 ms: write not confirmed by 2 replica(s)',
    );
  });

  it('sends no WAIT when no replica is asked for', async () => {
    const link = new FakeLink({});
    const writer = new DurableWriter(link, { ...opts, waitReplicas: 0 });
    assert.equal(await writer.write(async () => 5), 5);
    assert.deepEqual(link.waits, []);
  });

  it('sends one WAIT per event-loop turn, a new one for a later turn', async () => {
    const link = new FakeLink({});
    link.acks = () => 2;
    const writer = new DurableWriter(link, opts);
    await Promise.all([writer.write(async () => 1), writer.write(async () => 2)]);
    await writer.write(async () => 3);
    assert.equal(link.waits.length, 2);
  });

  it('answers a store that refuses writes (MISCONF) at once, 503 with a longer pause', async () => {
    const link = new FakeLink({});
    const writer = new DurableWriter(link, { ...opts, deadlineMs: 5000 });
    let runs = 0;
    const started = Date.now();
    await assert.rejects(
      writer.write(async () => {
        runs++;
        throw reply('MISCONF Redis is configured to save RDB snapshots');
      }),
      (err: unknown) =>
        err instanceof UnavailableError &&
        err.retryAfterSeconds === 5 &&
        err.message === 'the store refuses writes: MISCONF Redis is configured to save RDB snapshots',
    );
    assert.equal(runs, 1);
    assert.ok(Date.now() - started < 200);
  });

  it('never runs again a write the master refused as past its deadline (LATE): 503, one run', async () => {
    const link = new FakeLink({});
    const writer = new DurableWriter(link, { ...opts, deadlineMs: 5000 });
    let runs = 0;
    await assert.rejects(
      writer.write(async () => {
        runs++;
        throw reply('LATE the write reached the master after its deadline');
      }),
      (err: unknown) =>
        err instanceof NoMasterError &&
        err.message === 'the write was not made: LATE the write reached the master after its deadline',
    );
    assert.equal(runs, 1);
    assert.equal(link.waits.length, 0, 'no WAIT for a write that was not made');
  });

  it('reports each retried error, and says no master was reachable when none ever was', async () => {
    const link = new FakeLink({});
    const seen: string[] = [];
    const writer = new DurableWriter(link, { ...opts, waitReplicas: 0 }, (err) => seen.push(err.message));
    let runs = 0;
    const value = await writer.fastWrite(async () => {
      runs++;
      if (runs < 3) throw reply('Connection is closed.');
      return 'done';
    });
    assert.equal(value, 'done');
    assert.deepEqual(seen, ['Connection is closed.', 'Connection is closed.']);

    link.isReady = false;
    await assert.rejects(
      writer.write(async () => 'never', 30),
      (err: unknown) =>
        err instanceof NoMasterError && err.message === 'no durable write within 30 ms: no master reachable',
    );
  });

  it('keeps retrying a transient error until its deadline, not beyond', async () => {
    const link = new FakeLink({});
    const writer = new DurableWriter(link, opts);
    let runs = 0;
    const started = Date.now();
    await assert.rejects(
      writer.fastWrite(async () => {
        runs++;
        throw new TimeoutError(5);
      }, 120),
      (err: unknown) =>
        err instanceof NoMasterError && /within 120 ms: Command timed out after 5 ms/.test(err.message),
    );
    const took = Date.now() - started;
    assert.ok(took >= 115 && took < 400, `gave up after ${took} ms`);
    // 5 ms apart at first: about 20 runs in 120 ms, far more than one.
    assert.ok(runs >= 10, `${runs} runs`);
  });

  it('answers NotEnoughReplicasError at the deadline once the refusal outlasted the grace', async () => {
    const link = new FakeLink({});
    const writer = new DurableWriter(link, { ...opts, noReplicaGraceMs: 20 });
    await assert.rejects(
      writer.fastWrite(async () => {
        throw reply(NOREPLICAS);
      }, 60),
      NotEnoughReplicasError,
    );
    assert.equal(writer.refusingWrites, true);
    // A new connection (another master) starts a new refusal: not refusing yet.
    link.ep++;
    assert.equal(writer.refusingWrites, false);
  });

  it('answers NoMasterError when a refusal ends within the grace and the deadline passes', async () => {
    const link = new FakeLink({});
    const writer = new DurableWriter(link, { ...opts, noReplicaGraceMs: 10_000 });
    await assert.rejects(
      writer.fastWrite(async () => {
        throw reply(NOREPLICAS);
      }, 50),
      (err: unknown) => err instanceof NoMasterError && err.message.endsWith(NOREPLICAS),
    );
    assert.equal(writer.refusingWrites, false);
  });

  it('backs off by 10 ms a step after 20 quick retries', () => {
    assert.deepEqual([18, 19, 20, 21, 28, 29, 30].map(retryPause), [5, 5, 10, 20, 90, 100, 100]);
  });
});

function reader(opts: { master?: Partial<FakeLink<Node>>; replica?: Partial<FakeLink<Node>> | null } = {}) {
  const m = Object.assign(new FakeLink<Node>({ name: 'master' }), opts.master ?? {});
  const r =
    opts.replica === null ? null : Object.assign(new FakeLink<Node>({ name: 'replica' }), opts.replica ?? {});
  const errors: string[] = [];
  const rd = new FallbackReader<Node>(m, r, { fallbackMs: 30, lastChanceMs: 60, renewPauseMs: 80 }, (e) =>
    errors.push(e.message),
  );
  return { m, r, rd, errors };
}

describe('FallbackReader: renewals, fallbacks and the last chance', () => {
  it('renews again once the pause after a refused write is over', async () => {
    const { rd } = reader({ replica: null });
    let refuse = true;
    const modes: boolean[] = [];
    const fn = async (_: Node, readOnly: boolean) => {
      modes.push(readOnly);
      if (!readOnly && refuse) throw reply(NOREPLICAS);
      return 'v';
    };
    await rd.read(fn);
    assert.equal(rd.writesSkipped, true);
    refuse = false;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(rd.writesSkipped, false);
    modes.length = 0;
    assert.deepEqual(await rd.read(fn), { value: 'v', fromReplica: false });
    assert.deepEqual(modes, [false]);
  });

  it('goes to the replica when the master refuses the write and then fails the read', async () => {
    const { rd, errors } = reader();
    const calls: string[] = [];
    const read = await rd.read(async (n, readOnly) => {
      calls.push(`${n.name}:${readOnly}`);
      if (n.name === 'master') throw reply(readOnly ? 'Connection is closed.' : NOREPLICAS);
      return n.name;
    });
    assert.deepEqual(read, { value: 'replica', fromReplica: true });
    assert.deepEqual(calls, ['master:false', 'master:true', 'replica:true']);
    assert.deepEqual(errors, ['Connection is closed.']);
  });

  it('does not retry a read-only read on the same master when it was already read-only', async () => {
    const { rd } = reader();
    const calls: string[] = [];
    const fn = async (n: Node, readOnly: boolean) => {
      calls.push(`${n.name}:${readOnly}`);
      if (n.name === 'master' && !readOnly) throw reply(NOREPLICAS);
      if (n.name === 'master') throw reply('READONLY You cannot write against a read only replica.');
      return n.name;
    };
    await rd.read(fn);
    calls.length = 0;
    const read = await rd.read(fn);
    assert.deepEqual(read, { value: 'replica', fromReplica: true });
    assert.deepEqual(calls, ['master:true', 'replica:true']);
  });

  it('gives the replica twice the master fallback before the last chance on the master', async () => {
    const { rd, errors } = reader({ master: { isReady: false } });
    const started = Date.now();
    await assert.rejects(
      rd.read(() => new Promise<string>(() => undefined)),
      (err: unknown) => err instanceof ReadUnavailableError && err.retryAfterSeconds === 1,
    );
    const took = Date.now() - started;
    // Replica: 60 ms (2 x 30); then the master is not ready and the last chance waits 60 ms.
    assert.ok(took >= 110 && took < 400, `answered after ${took} ms`);
    assert.deepEqual(errors, ['Command timed out after 60 ms']);
  });

  it('passes a bad command from the replica or from the last chance on the master through', async () => {
    const down = { isReady: false };
    const fatal = async () => {
      throw reply('WRONGTYPE Operation against a key');
    };
    await assert.rejects(reader({ master: down }).rd.read(fatal), /WRONGTYPE/);
    // The master failed (transient), no replica: the last chance on the master gets a bad command.
    let runs = 0;
    const lastChance = reader({ replica: null });
    await assert.rejects(
      lastChance.rd.read(async () => {
        runs++;
        throw reply(runs === 1 ? 'Connection is closed.' : 'WRONGTYPE Operation against a key');
      }),
      /WRONGTYPE/,
    );
    assert.equal(runs, 2);
  });

  it('reads the master once more when it comes back, reporting the failed replica read', async () => {
    const { rd, m, errors } = reader();
    m.isReady = false;
    setTimeout(() => {
      m.isReady = true;
    }, 10);
    const read = await rd.read(async (n, readOnly) => {
      if (n.name === 'replica') throw reply('Connection is closed.');
      return `${n.name}:${readOnly}`;
    });
    assert.deepEqual(read, { value: 'master:true', fromReplica: false });
    assert.deepEqual(errors, ['Connection is closed.']);
  });

  it('treats a read function that throws at once like one that rejects', async () => {
    const { rd } = reader({ replica: null });
    await assert.rejects(
      rd.read(() => {
        throw reply('ERR syntax error');
      }),
      /ERR syntax error/,
    );
    const other = reader();
    const read = await other.rd.read((n) => {
      if (n.name === 'master') throw reply('Connection is closed.');
      return Promise.resolve(n.name);
    });
    assert.deepEqual(read, { value: 'replica', fromReplica: true });
    assert.deepEqual(other.errors, ['Connection is closed.']);
  });

  it('sends every read through the connection batch', async () => {
    const { rd, m } = reader();
    await rd.read(async () => 'x');
    assert.equal(m.batches, 1);
  });
});
