import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pairedCost } from '../../src/tools/bench/alternate.ts';
import { type CaseResult, failedAnswers } from '../../src/tools/bench/cases.ts';
import { latencyOf, mergeSlices } from '../../src/tools/bench/merge.ts';
import { judgeTargets, medianOf } from '../../src/tools/bench/report.ts';

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
      commandUsPerRequest: 0,
      expireCycleMs: 0,
    },
    cpuS: 1,
    cpuUsPerRequest: 70,
    haproxyCpuS: null,
    slices: 1,
  };
}

/** Each case over all slices, as the bench merges them (p99: the worst slice's, enough here). */
const overall = (runs: CaseResult[][]) =>
  runs[0]!.map((r) => ({
    ...r,
    latencyMs: {
      ...r.latencyMs,
      p99: Math.max(...runs.map((x) => x.find((y) => y.case === r.case)!.latencyMs.p99)),
    },
  }));

const holds = (t: ReturnType<typeof judgeTargets>, what: string) =>
  t.checks.find((c) => c.what.startsWith(what))?.holds;

describe('bench targets', () => {
  it('takes the median of the ratios measured within each run', () => {
    // Run 2 is slow for both; its ratio is what counts, not a ratio across runs.
    const runs = [
      [row('get-ceiling-haproxy', 10_000), row('get-haproxy', 7_000, 25)],
      [row('get-ceiling-haproxy', 6_000), row('get-haproxy', 5_760, 12)],
      [row('get-ceiling-haproxy', 9_000), row('get-haproxy', 8_730, 14)],
    ];
    const t = judgeTargets(runs, overall(runs), null);
    assert.deepEqual(
      t.perSlice.map((r) => r.getVsCeiling),
      [0.7, 0.96, 0.97],
    );
    assert.equal(t.ratios.getVsCeiling, 0.96);
    assert.equal(holds(t, 'GET /get via HAProxy >= 0.95'), true);
    assert.equal(t.getP99Ms, 25);
    assert.equal(holds(t, 'p99'), false);
  });

  it('misses a target below its bound and counts a failure in any run', () => {
    const runs = [
      [row('get-ceiling-haproxy', 10_000), row('get-haproxy', 7_000, 25)],
      [row('get-ceiling-haproxy', 10_000), row('get-haproxy', 7_900, 22, 3)],
    ];
    const t = judgeTargets(runs, overall(runs), null);
    assert.equal(t.ratios.getVsCeiling, 0.7);
    assert.equal(holds(t, 'GET /get via HAProxy >= 0.95'), false);
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

describe('bench slices', () => {
  it('adds up the slices of a case and takes percentiles over all their responses', () => {
    const a = { ...row('get-app', 1000), durationS: 3, requests: 3000, cpuS: 0.3 };
    const b = { ...row('get-app', 2000), durationS: 3, requests: 6000, cpuS: 0.6, non2xx: 2 };
    a.redis = { ...a.redis, commandsPerRequest: 2, byCommand: { getex: 1, hgetall: 1 } };
    b.redis = {
      ...b.redis,
      commandsPerRequest: 3,
      byCommand: { getex: 1, hgetall: 2 },
      connectionsOpened: 3,
    };
    const samples = Array.from({ length: 1000 }, (_, i) => i + 1);
    const m = mergeSlices([a, b], samples);
    assert.equal(m.requests, 9000);
    assert.equal(m.durationS, 6);
    assert.equal(m.requestsPerS, 1500);
    assert.equal(m.non2xx, 2);
    assert.equal(m.slices, 2);
    assert.equal(m.cpuS, 0.9);
    assert.equal(m.cpuUsPerRequest, 100);
    assert.equal(m.redis.connectionsOpened, 3);
    assert.equal(m.redis.commandsPerRequest, 2.667);
    assert.deepEqual(m.redis.byCommand, { getex: 1, hgetall: 1.667 });
    assert.deepEqual(m.latencyMs, { p50: 500, p90: 900, p99: 990, max: 1000, mean: 500.5 });
  });

  it('latencyOf is not fooled by the order of the samples', () => {
    assert.deepEqual(latencyOf([5, 1, 3]), { p50: 3, p90: 5, p99: 5, max: 5, mean: 3 });
    assert.deepEqual(latencyOf([]), { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 });
  });
});

describe('bench targets: durable writes against their ceiling', () => {
  const writes = (put: number, add: number, ceiling: number, noWait: number, p99 = 10) => [
    { ...row('put-ceiling-haproxy', ceiling), route: 'PUT /api/cart' as const },
    { ...row('put-haproxy', put, p99), route: 'PUT /api/cart' as const },
    { ...row('put-nowait-ceiling-haproxy', noWait), route: 'PUT /api/cart' as const },
    { ...row('add-haproxy', add, p99), route: 'POST /add' as const },
  ];

  it('judges PUT /api/cart and POST /add against the write ceiling, and shows the price of WAIT', () => {
    const runs = [
      writes(1900, 1850, 2000, 4000),
      writes(1700, 1900, 2000, 4000),
      writes(1960, 1990, 2000, 3000),
    ];
    const t = judgeTargets(runs, overall(runs), null);
    assert.deepEqual(
      t.perSlice.map((r) => r.putVsCeiling),
      [0.95, 0.85, 0.98],
    );
    assert.equal(t.ratios.putVsCeiling, 0.95);
    assert.equal(t.ratios.addVsCeiling, 0.95);
    assert.equal(t.ratios.ceilingWaitVsNoWait, 0.5);
    assert.equal(holds(t, 'PUT /api/cart via HAProxy >= 0.9'), true);
    assert.equal(holds(t, 'POST /add via HAProxy >= 0.9'), true);
    assert.equal(holds(t, 'p99 of PUT /api/cart via HAProxy <= 20 ms'), true);
  });

  it('misses the ratio below 0.9 and a p99 above 20 ms', () => {
    const runs = [writes(1700, 1760, 2000, 4000, 21)];
    const t = judgeTargets(runs, overall(runs), null);
    assert.equal(holds(t, 'PUT /api/cart via HAProxy >= 0.9'), false);
    assert.equal(holds(t, 'POST /add via HAProxy >= 0.9'), false);
    assert.equal(holds(t, 'p99 of PUT /api/cart via HAProxy <= 20 ms'), false);
    assert.equal(holds(t, 'p99 of POST /add via HAProxy <= 20 ms'), false);
  });

  it('judges PUT /api/cart against the bare durable write, via HAProxy and directly, its p99 against twice the bare one', () => {
    const put = (id: string, rps: number, p99: number) => ({
      ...row(id, rps, p99),
      route: 'PUT /api/cart' as const,
    });
    const runs = [
      [
        put('put-bare-haproxy', 5000, 10),
        put('put-haproxy', 4500, 15),
        put('put-bare', 8000, 8),
        put('put-app', 6000, 17),
      ],
      [
        put('put-bare-haproxy', 5000, 10),
        put('put-haproxy', 3500, 15),
        put('put-bare', 8000, 8),
        put('put-app', 6800, 12),
      ],
      [
        put('put-bare-haproxy', 5000, 10),
        put('put-haproxy', 4100, 21),
        put('put-bare', 8000, 8),
        put('put-app', 6000, 12),
      ],
    ];
    const t = judgeTargets(runs, overall(runs), null);
    assert.deepEqual(
      t.perSlice.map((r) => r.putVsBare),
      [0.9, 0.7, 0.82],
    );
    assert.equal(t.ratios.putVsBare, 0.82);
    assert.equal(t.ratios.putAppVsBare, 0.75);
    assert.equal(holds(t, 'PUT /api/cart via HAProxy >= 0.8 x the bare'), true);
    assert.equal(holds(t, 'PUT /api/cart, one process directly, >= 0.8 x the bare'), false);
    assert.equal(holds(t, 'p99 of put-haproxy <= 2 x'), false);
    assert.equal(holds(t, 'p99 of put-app <= 2 x'), false, '17 ms against 8 ms');
  });

  it('counts a form post answered with anything but its 303 as failed', () => {
    const c = { okStatus: 303 } as Parameters<typeof failedAnswers>[0];
    const result = {
      non2xx: 120,
      statusCodeStats: { '303': { count: 100 }, '403': { count: 15 }, '503': { count: 5 } },
    };
    assert.equal(failedAnswers(c, result as unknown as Parameters<typeof failedAnswers>[1]), 20);
    assert.equal(
      failedAnswers(
        {} as Parameters<typeof failedAnswers>[0],
        result as unknown as Parameters<typeof failedAnswers>[1],
      ),
      120,
    );
  });
});

describe('a cost measured in alternating rounds', () => {
  it("reads the median of each round's own ratio, which a machine slowing down mid-run does not move", () => {
    // The machine slows by a fifth after round 2; with and without are 1 % apart in every round.
    const without = [8000, 8000, 6400, 6400, 6400];
    const withIt = without.map((x) => x * 0.99);
    const { ratios, costPct } = pairedCost(withIt, without);
    assert.deepEqual(ratios, [0.99, 0.99, 0.99, 0.99, 0.99]);
    assert.equal(costPct, 1);
    // Rounds pair by index; a round without requests on the side compared against is left out.
    assert.deepEqual(pairedCost([100, 90, 50], [100, 0, 40]), { ratios: [1, 1.25], costPct: -12.5 });
    assert.deepEqual(pairedCost([], []), { ratios: [], costPct: 0 });
  });
});
