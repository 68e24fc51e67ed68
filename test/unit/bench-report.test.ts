import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CaseResult } from '../../src/bench/cases.ts';
import { judgeTargets, medianOf } from '../../src/bench/report.ts';

function row(id: string, requestsPerS: number, p99 = 10, non2xx = 0): CaseResult {
  return {
    case: id,
    route: 'GET /get',
    via: 'app',
    connections: 32,
    durationS: 15,
    requests: requestsPerS * 15,
    requestsPerS,
    latencyMs: { p50: 2, p90: 5, p99, max: 30, mean: 3 },
    errors: 0,
    timeouts: 0,
    non2xx,
    redis: {
      commandsPerRequest: 2,
      byCommand: {},
      connectionsOpened: 0,
      newClientConnections: [],
      redisCpuS: 0,
    },
    cpuS: 1,
    cpuUsPerRequest: 70,
    haproxyCpuS: null,
  };
}

const holds = (t: ReturnType<typeof judgeTargets>, what: string) =>
  t.checks.find((c) => c.what.startsWith(what))?.holds;

describe('bench targets', () => {
  it('takes the median of the ratios measured within each run', () => {
    // Run 2 is slow for both; its ratio is what counts, not a ratio across runs.
    const runs = [
      [row('get-ceiling-haproxy', 10_000), row('get-haproxy', 7_000, 25)],
      [row('get-ceiling-haproxy', 6_000), row('get-haproxy', 5_100, 12)],
      [row('get-ceiling-haproxy', 9_000), row('get-haproxy', 8_100, 14)],
    ];
    const t = judgeTargets(runs, null);
    assert.deepEqual(
      t.perRun.map((r) => r.getVsCeiling),
      [0.7, 0.85, 0.9],
    );
    assert.equal(t.ratios.getVsCeiling, 0.85);
    assert.equal(holds(t, 'GET /get via HAProxy >= 0.8'), true);
    assert.equal(t.getP99Ms, 14);
    assert.equal(holds(t, 'p99'), true);
  });

  it('misses a target below its bound and counts a failure in any run', () => {
    const runs = [
      [row('get-ceiling-haproxy', 10_000), row('get-haproxy', 7_000, 25)],
      [row('get-ceiling-haproxy', 10_000), row('get-haproxy', 7_900, 22, 3)],
    ];
    const t = judgeTargets(runs, null);
    assert.equal(t.ratios.getVsCeiling, 0.7);
    assert.equal(holds(t, 'GET /get via HAProxy >= 0.8'), false);
    assert.equal(holds(t, 'p99'), false);
    assert.equal(holds(t, 'no request failed'), false);
    assert.match(t.checks.find((c) => c.what === 'no request failed')!.value, /get-haproxy/);
  });

  it('medianOf skips missing values', () => {
    assert.equal(medianOf([3, null, 1, 2]), 2);
    assert.equal(medianOf([4, 1]), 1);
    assert.equal(medianOf([null, undefined]), null);
  });
});
