import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TopologySnapshot } from '../../src/app/operator/topology/model.ts';
import { TopologyObserver } from '../../src/app/operator/topology/observer.ts';
import { SwitchWatcher } from '../../src/ha/switch.ts';
import { freePort } from '../../src/ops/supervisor/ports.ts';
import { waitFor } from '../../src/ops/supervisor/wait.ts';

describe('listeners and subscriptions that fail', () => {
  it('one throwing topology listener does not silence the others', async () => {
    const observer = new TopologyObserver({
      config: {
        masterName: 'mymaster',
        redisNodes: [],
        sentinels: [],
        haproxyStatsUrl: undefined,
        haproxyAppBackend: 'apps',
        pollMs: 100,
        stateFile: undefined,
      },
      instance: 'test',
      redisUsername: undefined,
      redisPassword: undefined,
      sentinelPassword: undefined,
      minReplicas: 1,
    });
    const seen: TopologySnapshot[] = [];
    let thrown = 0;
    try {
      observer.subscribe(() => {
        thrown++;
        throw new Error('a stream whose client went away');
      });
      observer.subscribe((s) => seen.push(s));
      await waitFor('a snapshot for the second listener', () => seen.length > 0, { timeoutMs: 5000 });
      assert.equal(thrown, 1, 'the first listener was called, then dropped');
      assert.equal(seen[0]!.observer, 'test');
    } finally {
      await observer.close();
    }
  });

  it('a Sentinel subscription that cannot connect is reported: each error, the first one marked', async () => {
    const port = await freePort();
    const errors: { sentinel: string; first: boolean }[] = [];
    const watcher = new SwitchWatcher(
      {
        sentinels: [{ host: '127.0.0.1', port }],
        masterName: 'mymaster',
        onError: (sentinel, _err, first) => errors.push({ sentinel, first }),
      },
      () => assert.fail('no switch without a Sentinel'),
    );
    try {
      await waitFor('three failed attempts', () => errors.length >= 3, { timeoutMs: 10_000 });
      assert.deepEqual(errors[0], { sentinel: `127.0.0.1:${port}`, first: true });
      assert.ok(
        errors.slice(1).every((e) => !e.first),
        'the retries are not first',
      );
    } finally {
      watcher.close();
    }
  });
});
