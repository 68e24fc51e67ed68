import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/ops/commands/context.ts';
import { parseSoakArgs } from '../../src/tools/commands/soak.ts';
import type { Sample } from '../../src/tools/loadgen/stats.ts';
import {
  growth,
  type IntervalRow,
  intervalRow,
  judgeDrift,
  judgeGrowth,
  median,
} from '../../src/tools/soak/aggregate.ts';
import { clock, rowLine } from '../../src/tools/soak/format.ts';
import type { Probe } from '../../src/tools/soak/resources.ts';
import { missedTargets, type SoakTotals } from '../../src/tools/soak/run.ts';

const sample = (ms: number, over: Partial<Sample> = {}): Sample => ({
  at: 0,
  ms,
  kind: 'read',
  surface: 'page',
  ok: true,
  status: 200,
  ...over,
});

const probe = (rss1: number | null, rss2: number, clients: number | null, used = 2): Probe => ({
  at: 0,
  appRssMb: { 'app-1': rss1, 'app-2': rss2 },
  master: 'redis-1',
  usedMemoryMb: used,
  connectedClients: clients,
});

const noSessions = { logins: 0, logouts: 0, registrations: 0 };

/** A row with the figures the judgements read; the rest as an empty interval has them. */
function row(index: number, over: Partial<IntervalRow> = {}): IntervalRow {
  return {
    ...intervalRow({
      index,
      fromS: (index - 1) * 60,
      toS: index * 60,
      samples: [sample(10)],
      writesAcked: 0,
      sessions: noSessions,
      probes: [],
      kills: [],
    }),
    appRssMb: { 'app-1': 100, 'app-2': 100 },
    redisConnectedClients: 12,
    ...over,
  };
}

describe('a soak interval', () => {
  it('counts requests, failures by cause and 503s with Retry-After, and takes medians of the looks', () => {
    const samples = [
      ...Array.from({ length: 98 }, (_, i) => sample(i + 1)),
      sample(4000, {
        kind: 'write',
        ok: false,
        status: 503,
        retryAfter: true,
        reason: 'page POST /add 503 app',
      }),
      sample(20, { ok: false, status: 0, reason: 'page GET /get ECONNRESET' }),
    ];
    const r = intervalRow({
      index: 2,
      fromS: 60,
      toS: 110,
      samples,
      writesAcked: 7,
      sessions: { logins: 3, logouts: 2, registrations: 1 },
      probes: [probe(100, 200, 10), probe(110, 190, 14), probe(null, 210, 11, 3)],
      kills: [],
    });
    assert.equal(r.requests, 100);
    assert.equal(r.reqPerS, 2);
    assert.equal(r.p99Ms, 98);
    assert.equal(r.maxMs, 4000);
    assert.deepEqual(
      [r.reads, r.writes, r.failedReads, r.failedWrites, r.failedRetryAfter],
      [99, 1, 1, 1, 1],
    );
    assert.deepEqual(r.failedWhy, { 'page POST /add 503 app': 1, 'page GET /get ECONNRESET': 1 });
    assert.deepEqual([r.writesAcked, r.logins, r.logouts, r.registrations], [7, 3, 2, 1]);
    // A look that could not read app-1 (restarting) is left out of its median.
    assert.deepEqual(r.appRssMb, { 'app-1': 105, 'app-2': 200 });
    assert.equal(r.redisConnectedClients, 11);
    assert.equal(r.redisConnectedClientsMax, 14);
    assert.equal(r.redisUsedMemoryMb, 2);
    assert.deepEqual([r.kill, r.fault], [false, false]);
  });

  it('marks the interval of a kill, and every interval its outage overlaps until the stack is whole', () => {
    const at = (fromS: number, kills: { atS: number; wholeS: number | null }[]) =>
      intervalRow({
        index: 1,
        fromS,
        toS: fromS + 10,
        samples: [],
        writesAcked: 0,
        sessions: noSessions,
        probes: [],
        kills,
      });
    const kills = [{ atS: 25, wholeS: 41 }];
    assert.deepEqual([at(10, kills).kill, at(10, kills).fault], [false, false]);
    assert.deepEqual([at(20, kills).kill, at(20, kills).fault], [true, true]);
    assert.deepEqual([at(30, kills).kill, at(30, kills).fault], [false, true]);
    assert.deepEqual([at(40, kills).kill, at(40, kills).fault], [false, true]);
    assert.deepEqual([at(50, kills).kill, at(50, kills).fault], [false, false]);
    // Not whole yet: every interval from the kill on is in the outage.
    assert.equal(at(90, [{ atS: 25, wholeS: null }]).fault, true);
    assert.equal(
      intervalRow({
        index: 1,
        fromS: 0,
        toS: 10,
        samples: [],
        writesAcked: 0,
        sessions: noSessions,
        probes: [],
        kills: [],
      }).p99Ms,
      0,
    );
  });

  it('prints one line with the kill and the failures below it', () => {
    const line = rowLine(
      row(3, { kill: true, master: 'redis-2', failedWhy: { 'api PUT /api/cart 503 unavailable': 2 } }),
      ['app-1', 'app-2'],
    );
    assert.match(
      line,
      /^\s+3:00\s.*redis-2 {2}\(master killed\)\n\s+2 x api PUT \/api\/cart 503 unavailable$/,
    );
    assert.equal(clock(59.6), '1:00');
    assert.equal(clock(605), '10:05');
  });
});

describe('the soak targets', () => {
  it('growth: the first interval after 5 minutes against the last, judged only on runs over 5 minutes', () => {
    assert.equal(growth(100, 109), 0.09);
    assert.equal(growth(0, 5), null);
    assert.equal(growth(null, 5), null);
    const rows = Array.from({ length: 30 }, (_, i) =>
      row(i + 1, { appRssMb: { 'app-1': 100 + i, 'app-2': 100 }, redisConnectedClients: 12 }),
    );
    const g = judgeGrowth(rows, 1800);
    assert.equal(g.judged, true);
    assert.deepEqual([g.fromRow, g.toRow], [6, 30]);
    // app-1 grew from 105 to 129 MB: +22.9 %.
    assert.deepEqual(g.missed, ['app-1 RSS grew +22.9 %']);
    assert.deepEqual(
      g.figures.map((f) => f.what),
      ['app-1 RSS', 'app-2 RSS', 'Redis connections'],
    );

    const flat = rows.map((r, i) => ({ ...r, appRssMb: { 'app-1': 100 + i * 0.3, 'app-2': 100 } }));
    assert.deepEqual(judgeGrowth(flat, 1800).missed, [], 'under 10 % is met');
    const leak = flat.map((r, i) => ({ ...r, redisConnectedClients: i < 20 ? 12 : 14 }));
    assert.deepEqual(judgeGrowth(leak, 1800).missed, ['Redis connections grew +16.7 %']);

    const short = judgeGrowth(rows.slice(0, 3), 180);
    assert.equal(short.judged, false);
    assert.deepEqual([short.fromRow, short.toRow], [1, 3]);
    assert.equal(short.figures[0]!.growth, 0.02);
    assert.deepEqual(short.missed, [], 'a short run reports growth but is not judged');
    // 5.5 minutes: the first interval after the 5th minute is the last one; nothing to compare.
    const justOver = judgeGrowth(rows.slice(0, 6), 330);
    assert.deepEqual([justOver.judged, justOver.missed], [false, []]);
  });

  it('drift: median p99 of the last third of the calm intervals against the first third, x1.5 or +10 ms', () => {
    const p99s = [20, 22, 21, 5000, 23, 22, 24, 25, 26];
    const rows = p99s.map((p, i) => row(i + 1, { p99Ms: p, fault: p === 5000 }));
    const d = judgeDrift(rows, 600);
    assert.deepEqual([d.judged, d.firstMs, d.lastMs, d.missed], [true, 21, 25.5, []]);
    const slow = p99s.map((p, i) => row(i + 1, { p99Ms: i >= 6 ? 60 : p, fault: p === 5000 }));
    assert.deepEqual(judgeDrift(slow, 600).missed, ['p99 drifted from 21 ms to 60 ms']);
    // Small figures: +10 ms is scheduling noise, not drift.
    const small = [4, 4, 4, 4, 12, 12].map((p, i) => row(i + 1, { p99Ms: p }));
    assert.deepEqual(judgeDrift(small, 600).missed, []);
    assert.equal(judgeDrift(slow, 300).judged, false, '5 minutes are not judged');
    assert.deepEqual(judgeDrift(slow, 300).missed, []);
    assert.equal(judgeDrift(rows.slice(0, 2), 600).firstMs, null, 'too few intervals');
    assert.equal(median([3, 1, 2, 10]), 2.5);
  });

  it('misses any failed request (503 with Retry-After included), any loss and any kill that did not happen', () => {
    const totals = { failedReads: 0, failedWrites: 0, failedRetryAfter: 0, writesAcked: 10 } as SoakTotals;
    const check = {
      master: 'redis-2',
      writesLost: 0,
      phantomWrites: 0,
      sessionsChecked: 8,
      sessionsLost: 0,
      accountsChecked: 9,
      accountsLost: 0,
      examples: [],
    };
    const kill = { atS: 30, killed: 'redis-1', promoted: 'redis-2', promotedAfterS: 3, wholeAfterS: 5 };
    const opts = { killEveryMinutes: 0.5 };
    assert.deepEqual(missedTargets(totals, check, [kill], opts, 45, undefined), []);
    assert.deepEqual(
      missedTargets({ ...totals, failedWrites: 2, failedRetryAfter: 2 }, check, [kill], opts, 45, undefined),
      ['2 failed request(s) (0 reads, 2 writes; 2 of them 503 with Retry-After)'],
    );
    assert.deepEqual(
      missedTargets(
        totals,
        { ...check, writesLost: 1, sessionsLost: 2, accountsLost: 1 },
        [kill],
        opts,
        45,
        undefined,
      ),
      ['1 acknowledged write(s) lost', '2 session(s) lost', '1 account(s) lost'],
    );
    assert.deepEqual(missedTargets(totals, check, [], opts, 45, undefined), [
      '0 of 1 master kill(s) happened',
    ]);
    assert.deepEqual(missedTargets(totals, check, [], { killEveryMinutes: 0 }, 45, undefined), []);
    assert.deepEqual(missedTargets(totals, null, [kill], opts, 45, 'could not read the data back: x'), [
      'could not read the data back: x',
    ]);
  });
});

describe('ha-stack soak arguments', () => {
  it('takes fractional minutes and kill periods, and refuses what makes no sense', () => {
    const a = parseSoakArgs([
      '--minutes',
      '0.5',
      '--kill-every',
      '0.25',
      '--interval',
      '10',
      '--json',
      'x.json',
    ]);
    assert.deepEqual([a.minutes, a.killEvery, a.interval, a.json, a.users], [0.5, 0.25, 10, 'x.json', 16]);
    assert.deepEqual([parseSoakArgs([]).minutes, parseSoakArgs([]).killEvery], [30, 3]);
    assert.equal(parseSoakArgs(['--kill-every', '0']).killEvery, 0);
    for (const bad of [
      ['--minutes', '0'],
      ['--minutes', 'x'],
      ['--minutes'],
      ['--users', '1.5'],
      ['--bogus'],
      ['--json'],
    ])
      assert.throws(() => parseSoakArgs(bad), UsageError, bad.join(' '));
  });
});
