import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  NoMasterError,
  NotEnoughReplicasError,
  ReadUnavailableError,
  UnavailableError,
} from '../../src/ha/errors.ts';
import type { MasterLink } from '../../src/ha/links.ts';
import { FallbackReader } from '../../src/ha/reads.ts';
import { TimeoutError } from '../../src/ha/timeouts.ts';
import { DurableWriter, retryPause } from '../../src/ha/writes.ts';

const reply = (message: string) => new Error(message);
const NOREPLICAS = 'NOREPLICAS Not enough good replicas to write.';

/** A fake connection that records the WAITs it is sent (replicas and timeout). */
class Fake<C> implements MasterLink<C> {
  isReady = true;
  ep = 1;
  waits: [number, number][] = [];
  acks = 1;
  batches = 0;
  constructor(readonly client: C) {}
  ready() {
    return this.isReady;
  }
  async whenReady(deadline: number): Promise<boolean> {
    if (this.isReady) return true;
    await new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())));
    return this.isReady;
  }
  batch<T>(fn: () => T): T {
    this.batches++;
    return fn();
  }
  epoch() {
    return this.ep;
  }
  async wait(replicas: number, timeoutMs: number): Promise<number> {
    this.waits.push([replicas, timeoutMs]);
    return this.acks;
  }
}

const opts = { waitReplicas: 2, waitTimeoutMs: 70, deadlineMs: 400, noReplicaGraceMs: 100 };

describe('DurableWriter (details)', () => {
  it('sends WAIT with the replicas and the timeout configured, and accepts more acks than asked', async () => {
    const link = new Fake({});
    link.acks = 3;
    const writer = new DurableWriter(link, opts);
    assert.equal(await writer.write(async () => 'OK'), 'OK');
    assert.deepEqual(link.waits, [[2, 70]]);
  });

  it('needs every replica asked for: one ack short is not a confirmation', async () => {
    const link = new Fake({});
    link.acks = 1;
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
    const link = new Fake({});
    const writer = new DurableWriter(link, { ...opts, waitReplicas: 0 });
    assert.equal(await writer.write(async () => 5), 5);
    assert.deepEqual(link.waits, []);
  });

  it('sends one WAIT per event-loop turn, a new one for a later turn', async () => {
    const link = new Fake({});
    link.acks = 2;
    const writer = new DurableWriter(link, opts);
    await Promise.all([writer.write(async () => 1), writer.write(async () => 2)]);
    await writer.write(async () => 3);
    assert.equal(link.waits.length, 2);
  });

  it('answers a store that refuses writes (MISCONF) at once, 503 with a longer pause', async () => {
    const link = new Fake({});
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

  it('reports each retried error, and says no master was reachable when none ever was', async () => {
    const link = new Fake({});
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
    const link = new Fake({});
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
    const link = new Fake({});
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
    const link = new Fake({});
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

type Node = { name: string };

function reader(opts: { master?: Partial<Fake<Node>>; replica?: Partial<Fake<Node>> | null } = {}) {
  const m = Object.assign(new Fake<Node>({ name: 'master' }), opts.master ?? {});
  const r =
    opts.replica === null ? null : Object.assign(new Fake<Node>({ name: 'replica' }), opts.replica ?? {});
  const errors: string[] = [];
  const rd = new FallbackReader<Node>(m, r, { fallbackMs: 30, lastChanceMs: 60, renewPauseMs: 80 }, (e) =>
    errors.push(e.message),
  );
  return { m, r, rd, errors };
}

describe('FallbackReader (details)', () => {
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
