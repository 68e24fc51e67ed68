// A write interrupted by a failover is run again until its deadline, but not once its client has
// gone (src/ha/client-scope.ts): a retry landing after the client sent the request again elsewhere
// and wrote since would overwrite that newer write.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { clientOf } from '../../src/ha/client-scope.ts';
import { NoMasterError } from '../../src/ha/errors.ts';
import { DurableWriter } from '../../src/ha/writes.ts';
import { runningClock } from '../helpers/clock.ts';
import { FakeLink } from '../helpers/fake-redis.ts';

let stopClock: () => Promise<void>;
beforeEach(() => {
  stopClock = runningClock();
});
afterEach(() => stopClock());

const writeOpts = { waitReplicas: 1, waitTimeoutMs: 50, deadlineMs: 2000, noReplicaGraceMs: 150 };

/** A write whose first run fails as on a connection lost under it; the master back later. */
async function interrupted(gone: () => boolean): Promise<{ runs: number; error?: unknown }> {
  const link = new FakeLink({});
  const writer = new DurableWriter(link, writeOpts);
  let runs = 0;
  try {
    await writer.write(
      async () => {
        runs++;
        if (runs === 1) {
          link.isReady = false;
          setTimeout(() => link.becomeReady(), 500);
          throw new Error('Connection is closed.');
        }
      },
      undefined,
      gone,
    );
    return { runs };
  } catch (error) {
    return { runs, error };
  }
}

describe('a write for a client that has gone', () => {
  it('is run again after a failover while its client waits', async () => {
    const r = await interrupted(() => false);
    assert.equal(r.error, undefined);
    assert.equal(r.runs, 2);
  });

  it('is not run again once its client left, and says why', async () => {
    let left = false;
    setTimeout(() => {
      left = true;
    }, 100);
    const r = await interrupted(() => left);
    assert.equal(r.runs, 1, 'the first run only');
    assert.ok(r.error instanceof NoMasterError, String(r.error));
    assert.match((r.error as Error).message, /not run again: its client left \(Connection is closed\.\)/);
  });

  it("knows a request's client has gone by its connection", () => {
    const socket = { destroyed: false };
    const gone = clientOf({ socket } as never);
    assert.equal(gone(), false);
    socket.destroyed = true;
    assert.equal(gone(), true);
  });
});
