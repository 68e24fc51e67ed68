/**
 * A mocked clock for unit tests whose subject is time (deadlines, back-offs, pauses): setTimeout
 * and Date are node:test mocks, and a pump moves them on 1 ms at a time, letting every promise
 * callback and immediate that is due run between two steps. A test then reads as with real time
 * (`await` a deadline, measure with Date.now()) but runs as fast as the code allows, and its
 * timings do not depend on the load of the machine.
 */
import { mock } from 'node:test';

/** Lets the callbacks that are due run: promise reactions and a few rounds of immediates. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((r) => setImmediate(r));
}

/**
 * Mocks setTimeout and Date, starting at a fixed time, and moves them on until the returned
 * function is called (and awaited), which restores the real ones.
 */
export function runningClock(): () => Promise<void> {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_700_000_000_000 });
  let running = true;
  const pump = (async () => {
    while (running) {
      await settle();
      mock.timers.tick(1);
    }
  })();
  return async () => {
    running = false;
    await pump;
    mock.timers.reset();
  };
}
