import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { nextBackoff, RESTART_BACKOFF } from '../../src/ops/supervisor/backoff.ts';
import { ReadinessTimeoutError, waitFor } from '../../src/ops/supervisor/wait.ts';
import { runningClock } from '../helpers/clock.ts';

/** The delays of `crashes` crashes in a row, each after `upMs` of uptime. */
function delays(crashes: number, upMs = 0): number[] {
  const out: number[] = [];
  let streak = 0;
  for (let i = 0; i < crashes; i++) {
    const next = nextBackoff(streak, upMs);
    out.push(next.delayMs);
    streak = next.streak;
  }
  return out;
}

describe('the restart back-off', () => {
  it('starts at 250 ms and doubles per crash in a row, up to 10 s', () => {
    assert.deepEqual(delays(9), [250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
  });

  it('counts a crash soon after a restart as one more in a row', () => {
    assert.deepEqual(delays(3, RESTART_BACKOFF.windowMs - 1), [250, 500, 1000]);
  });

  it('starts over once the process stayed up for the window', () => {
    const { streak } = nextBackoff(6, 0);
    assert.deepEqual(nextBackoff(streak, RESTART_BACKOFF.windowMs), { delayMs: 250, streak: 1 });
  });

  it('stays finite in a crash loop that never ends', () => {
    assert.equal(nextBackoff(10_000, 0).delayMs, RESTART_BACKOFF.maxMs);
  });

  it('follows another policy', () => {
    const policy = { firstMs: 10, maxMs: 35, windowMs: 1000 };
    let streak = 0;
    const out: number[] = [];
    for (let i = 0; i < 4; i++) {
      const next = nextBackoff(streak, 0, policy);
      out.push(next.delayMs);
      streak = next.streak;
    }
    assert.deepEqual(out, [10, 20, 35, 35]);
  });
});

describe('waitFor with progress', () => {
  // Its timeouts and cap are the subject: on the mocked clock they are measured exactly.
  let stopClock: () => Promise<void>;
  beforeEach(() => {
    stopClock = runningClock();
  });
  afterEach(() => stopClock());

  it('keeps waiting while the thing makes progress, up to maxMs, then gives up', async () => {
    let polls = 0;
    const t0 = Date.now();
    // Never ready, always busy: the 50 ms timeout moves on, until the 300 ms cap.
    await assert.rejects(
      waitFor('never', () => false, {
        timeoutMs: 50,
        intervalMs: 10,
        progress: () => {
          polls++;
          return true;
        },
        maxMs: 300,
      }),
      ReadinessTimeoutError,
    );
    const took = Date.now() - t0;
    assert.ok(took >= 300 && took < 320, `gave up after ${took} ms`);
    assert.ok(polls > 5);
  });

  it('without progress the timeout holds', async () => {
    const t0 = Date.now();
    await assert.rejects(
      waitFor('never', () => false, { timeoutMs: 50, intervalMs: 10, progress: () => false, maxMs: 5000 }),
      ReadinessTimeoutError,
    );
    const took = Date.now() - t0;
    assert.ok(took >= 50 && took < 70, `gave up after ${took} ms`);
  });

  it('returns as soon as the condition holds', async () => {
    let n = 0;
    await waitFor('third poll', () => ++n === 3, {
      timeoutMs: 50,
      intervalMs: 10,
      progress: () => true,
      maxMs: 5000,
    });
    assert.equal(n, 3);
  });
});
