// How a Redis node the supervisor starts again chooses its role (src/ops/supervisor/rejoin.ts), on
// fake Sentinel views: a replica of the master they name, or master only once no failover can come.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NoSentinelMasterError, rejoinTarget } from '../../src/ops/supervisor/rejoin.ts';
import type { RedisNode, Topology } from '../../src/ops/topology.ts';

const node: RedisNode = { name: 'redis-2', host: '127.0.0.12', port: 6381, initialRole: 'replica' };
const other = { host: '127.0.0.13', port: 6382 };
// down-after 10 ms, failover-timeout 30 ms: the deadline is 80 ms after the first look.
const t = {
  downAfterMs: 10,
  failoverTimeoutMs: 30,
  sentinels: [],
  masterName: 'mymaster',
} as unknown as Topology;

const view = (m: { host: string; port: number }, epoch: number, flags = 'master') => ({
  master: { host: m.host, port: m.port },
  configEpoch: epoch,
  flags,
});

function run(ask: () => Promise<(ReturnType<typeof view> | undefined)[]>) {
  let waits = 0;
  const started = Date.now();
  const result = rejoinTarget(t, node, {
    sentinelPassword: undefined,
    signal: new AbortController().signal,
    waiting: () => waits++,
    pollMs: 2,
    ask,
  });
  // Its pauses do not hold the process (a supervisor's stop must not wait on them): this does.
  const hold = setInterval(() => undefined, 1000);
  result.then(
    () => clearInterval(hold),
    () => clearInterval(hold),
  );
  return { result, started, waits: () => waits };
}

describe('rejoinTarget', () => {
  it('a replica of the master the Sentinels name, at the first look', async () => {
    const r = run(async () => [view(node, 3), view(other, 4), undefined]);
    assert.deepEqual(await r.result, other);
    assert.equal(r.waits(), 0);
  });

  it('master only after the deadline while they name the node itself', async () => {
    const r = run(async () => [view(node, 3), view(node, 3), view(node, 3)]);
    assert.equal(await r.result, null);
    assert.ok(Date.now() - r.started >= 80, 'not before 2 x (down-after + failover-timeout)');
    assert.ok(r.waits() > 1);
  });

  it('not as master while a Sentinel still fails it over past the deadline, nor within a failover-timeout of it', async () => {
    let lastInProgress = 0;
    const t0 = Date.now();
    const r = run(async () => {
      if (Date.now() - t0 < 150) {
        lastInProgress = Date.now();
        return [
          view(node, 3, 'master,s_down,failover_in_progress'),
          view(node, 3, 'master,s_down'),
          undefined,
        ];
      }
      return [view(node, 3, 'master,s_down,o_down'), view(node, 3), undefined];
    });
    assert.equal(await r.result, null);
    assert.ok(
      Date.now() - lastInProgress >= 30,
      `${Date.now() - lastInProgress} ms after the last failover seen`,
    );
  });

  it('a replica of the master the failover it waited for promoted', async () => {
    let looks = 0;
    const r = run(async () =>
      ++looks < 60
        ? [view(node, 3, 'master,failover_in_progress'), view(node, 3)]
        : [view(other, 4), view(node, 3)],
    );
    assert.deepEqual(await r.result, other);
  });

  it('refuses to choose when no Sentinel answers', async () => {
    const r = run(async () => [undefined, undefined, undefined]);
    await assert.rejects(r.result, NoSentinelMasterError);
  });
});
