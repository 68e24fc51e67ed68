import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { Healer, type HealerDeps, type StartStep } from '../../src/ops/supervisor/healer.ts';
import { waitFor } from '../../src/ops/supervisor/wait.ts';
import { settle } from '../helpers/clock.ts';

/** A healer over fake processes: `outcomes` decides each start (true: ready, false: fails, 'hang': until aborted). */
function fixture(outcomes: (boolean | 'hang')[]) {
  const running = new Set<string>();
  const log: string[] = [];
  let active = 0;
  let maxActive = 0;
  let starts = 0;
  const deps: HealerDeps = {
    async start(name: string, signal: AbortSignal, step: (s: StartStep) => void) {
      starts++;
      active++;
      maxActive = Math.max(maxActive, active);
      try {
        const outcome = outcomes.shift() ?? true;
        step('launching');
        running.add(name);
        if (outcome === 'hang') {
          await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
        }
        await new Promise((r) => setTimeout(r, 5));
        if (!outcome) throw new Error('not ready');
      } finally {
        active--;
      }
    },
    running: (name) => running.has(name),
    async stopProcess(name) {
      running.delete(name);
    },
    changed: () => undefined,
    log: (m) => log.push(m),
    policy: { firstMs: 5, maxMs: 40, windowMs: 60_000 },
  };
  const healer = new Healer(deps);
  return {
    healer,
    log,
    running,
    stats: () => ({ starts, maxActive }),
    crash: (name: string) => {
      running.delete(name);
      healer.crashed(name);
    },
  };
}

describe('the healer', () => {
  it('retries a failing start with a growing back-off, one start at a time, until one succeeds', async () => {
    const f = fixture([false, false, true]);
    f.crash('redis-2');
    f.crash('redis-2');
    await waitFor('redis-2 running', () => f.running.has('redis-2') && !f.healer.state('redis-2').phase);
    assert.deepEqual(f.stats(), { starts: 3, maxActive: 1 });
    const delays = f.log.map((m) => /again in (\d+) ms/.exec(m)?.[1]).filter(Boolean);
    assert.deepEqual(delays, ['5', '10', '20']);
    assert.equal(f.healer.state('redis-2').restarts, 3);
  });

  it('never restarts a node the operator stopped, and starts it when told', async () => {
    const f = fixture(['hang', true]);
    f.crash('app-1');
    await waitFor('a start in progress', () => f.stats().starts === 1);
    await f.healer.hold('app-1', async () => {
      f.running.delete('app-1');
    });
    assert.equal(f.running.has('app-1'), false);
    f.crash('app-1');
    assert.deepEqual(f.healer.state('app-1'), { phase: undefined, restarts: 1, held: true });
    await f.healer.start('app-1');
    assert.equal(f.running.has('app-1'), true);
    assert.deepEqual(f.healer.state('app-1'), { phase: undefined, restarts: 1, held: false });
  });

  it('close() cancels back-offs and starts in progress; nothing starts afterwards', async () => {
    const f = fixture(['hang', 'hang']);
    f.crash('a');
    f.crash('b');
    await waitFor('both starts in progress', () => f.stats().starts === 2);
    await f.healer.close();
    const { starts } = f.stats();
    // From here on the clock is mocked: a timer left behind by close() or set after it would fire.
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      f.crash('c');
      await assert.rejects(f.healer.start('d'), /stopping/);
      // Past any back-off of the policy (40 ms at most) and its window.
      mock.timers.tick(120_000);
      await settle();
      assert.equal(f.stats().starts, starts);
      for (const n of ['a', 'b', 'c']) assert.equal(f.healer.state(n).phase, undefined, n);
    } finally {
      mock.timers.reset();
    }
  });
});
