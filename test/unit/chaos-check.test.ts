import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareCarts } from '../../src/tools/chaos/compare.ts';
import { describeGoal, type Goal, goalFor, missedGoals, workingAgain } from '../../src/tools/chaos/judge.ts';
import { formatTable, type ScenarioRow } from '../../src/tools/chaos/report.ts';
import { judge, windowMet } from '../../src/tools/chaos/runner.ts';
import { SCENARIOS } from '../../src/tools/chaos/scenarios.ts';
import type { LoadUser } from '../../src/tools/loadgen/load.ts';

function user(
  email: string,
  acked: Record<string, number>,
  unacked: Record<string, number[]> = {},
): LoadUser {
  return {
    email,
    acked: new Map(Object.entries(acked)),
    unacked: new Map(Object.entries(unacked).map(([p, v]) => [p, new Set(v)])),
  } as unknown as LoadUser;
}

describe('the loss checker', () => {
  it('finds nothing when the master holds every acknowledged value', () => {
    const users = [user('a@x', { mouse: 3, dock: 1 })];
    assert.deepEqual(compareCarts(users, new Map([['a@x', { mouse: '3', dock: '1' }]])), []);
  });

  it('reports an acknowledged write the master does not hold as lost', () => {
    const users = [user('a@x', { mouse: 3 }), user('b@x', { dock: 2 })];
    const diff = compareCarts(
      users,
      new Map<string, Record<string, string>>([
        ['a@x', { mouse: '2' }],
        ['b@x', {}],
      ]),
    );
    assert.deepEqual(diff, [
      { email: 'a@x', product: 'mouse', acked: 3, stored: 2, kind: 'lost' },
      { email: 'b@x', product: 'dock', acked: 2, stored: 0, kind: 'lost' },
    ]);
  });

  it('accepts a later value that was sent but not acknowledged, and flags one that never was', () => {
    const users = [user('a@x', { mouse: 3, dock: 1 }, { mouse: [4] })];
    const diff = compareCarts(users, new Map([['a@x', { mouse: '4', dock: '7' }]]));
    assert.deepEqual(diff, [{ email: 'a@x', product: 'dock', acked: 1, stored: 7, kind: 'phantom' }]);
  });
});

const row = (over: Partial<ScenarioRow> = {}): ScenarioRow => ({
  scenario: 'kill-master',
  requests: 100,
  reads: 50,
  writes: 50,
  pageRequests: 75,
  apiRequests: 25,
  failed: 0,
  failedReads: 0,
  failedWrites: 0,
  failedWhy: {},
  writesAcked: 50,
  writesLost: 0,
  phantomWrites: 0,
  sessionsLost: 0,
  staleReads: 0,
  resent: 0,
  writeWindowS: 2.1,
  writeWindowsS: [2.1],
  switchesS: [2.05],
  p99Ms: 10,
  maxMs: 2000,
  modesSeen: [],
  modeSpansS: [],
  nodesAtEnd: 3,
  goal: '',
  passed: false,
  missed: [],
  ...over,
});

const ok = { kind: 'write', ok: true, status: 200 };
const refused = { kind: 'write', ok: false, status: 503, retryAfter: true };
const failedRead = { kind: 'read', ok: false, status: 503, retryAfter: true };

describe('the judge of a scenario', () => {
  const killMaster: Goal = { boundedWindow: true, nodesAtEnd: 3 };
  const degraded: Goal = { writesMayFail: true, nodesAtEnd: 3 };

  it('passes a clean run and fails a lost write, a failed write, a long window or a missing node', () => {
    assert.deepEqual(missedGoals(row(), killMaster, [ok], 1000), []);
    assert.equal(judge(row({ writesLost: 1 }), killMaster, [], 1000), false);
    assert.equal(judge(row({ phantomWrites: 1 }), killMaster, [], 1000), false);
    assert.equal(judge(row({ sessionsLost: 1 }), killMaster, [], 1000), false);
    assert.equal(judge(row({ failedWrites: 1, failed: 1 }), killMaster, [refused], 1000), false);
    assert.equal(judge(row({ writeWindowsS: [2.1, 2.31] }), killMaster, [], 1000), false);
    assert.equal(judge(row({ writeWindowsS: [] }), killMaster, [], 1000), false);
    assert.equal(judge(row({ writeWindowsS: [null] }), killMaster, [], 1000), false);
    assert.deepEqual(missedGoals(row({ nodesAtEnd: 2 }), killMaster, [], 1000), [
      '2 healthy Redis node(s) at the end, not 3',
    ]);
    // Stale reads: none with the master always there; up to 2 % where a replica serves reads.
    assert.deepEqual(missedGoals(row({ staleReads: 1 }), killMaster, [], 1000), [
      '1 stale read(s) of 50, more than 0',
    ]);
    const replicaReads: Goal = { ...killMaster, replicaReads: true };
    assert.deepEqual(missedGoals(row({ reads: 1000, staleReads: 20 }), replicaReads, [], 1000), []);
    assert.deepEqual(missedGoals(row({ reads: 1000, staleReads: 21 }), replicaReads, [], 1000), [
      '21 stale read(s) of 1000, more than 20',
    ]);
    // No answer may take longer than the app's own deadline and a margin.
    assert.deepEqual(missedGoals(row({ maxMs: 8001 }), killMaster, [], 1000), [
      'a request took 8001 ms, more than 8000',
    ]);
    assert.deepEqual(missedGoals(row({ maxMs: 8000 }), killMaster, [], 1000), []);
    assert.equal(judge(row({ nodesAtEnd: null }), killMaster, [], 1000), false);
    assert.equal(judge(row({ error: 'timed out' }), {}, [], 1000), false);
    assert.equal(judge(row({ requests: 0 }), {}, [], 1000), false);
  });

  it("judges a host scenario's window against down-after + 2 s, whenever Sentinel switched", () => {
    const host: Goal = { ...killMaster, windowOverDownAfterS: 2 };
    assert.deepEqual(missedGoals(row({ writeWindowsS: [3.99], switchesS: [3.2] }), host, [ok], 2000), []);
    assert.deepEqual(missedGoals(row({ writeWindowsS: [4.01], switchesS: [4.0] }), host, [ok], 2000), [
      'fault 1: write window 4.01 s > down-after + 2 s',
    ]);
    assert.deepEqual(missedGoals(row({ writeWindowsS: [null] }), host, [ok], 2000), [
      'fault 1: write window never closed s > down-after + 2 s',
    ]);
    // The local rule would have failed 3.4 s with the apps 0.2 s behind the switch.
    assert.equal(judge(row({ writeWindowsS: [3.4], switchesS: [3.2] }), killMaster, [], 2000), false);
  });

  it('fails any scenario on a failed read, even one whose writes may fail', () => {
    for (const goal of [{}, killMaster, degraded, ...SCENARIOS.map((s) => goalFor(s.goal, 3))]) {
      const r = row({ failedReads: 1, failed: 1 });
      assert.deepEqual(
        missedGoals(r, goal, [failedRead, ok], 1000).filter((m) => m.includes('read')),
        ['1 read(s) failed'],
        JSON.stringify(goal),
      );
    }
  });

  it('lets a degraded scenario refuse writes only with 503 and Retry-After, and only until they work again', () => {
    assert.deepEqual(
      missedGoals(row({ failedWrites: 2, failed: 2 }), degraded, [refused, refused, ok], 1000),
      [],
    );
    assert.deepEqual(
      missedGoals(row({ failedWrites: 1 }), degraded, [{ ...refused, retryAfter: false }, ok], 1000),
      ['1 write(s) failed otherwise than 503 with Retry-After'],
    );
    assert.equal(judge(row({ failedWrites: 1 }), degraded, [{ ...refused, status: 500 }, ok], 1000), false);
    assert.equal(judge(row({ failedWrites: 1 }), degraded, [{ ...refused, status: 0 }, ok], 1000), false);
    assert.deepEqual(missedGoals(row({ failedWrites: 1 }), degraded, [ok, refused], 1000), [
      'writes did not work again by the end',
    ]);
    assert.equal(judge(row({ writesLost: 1 }), degraded, [refused, ok], 1000), false);
  });

  it('counts writes as working again only when one started after the last refusal was answered', () => {
    const r = (at: number, ms: number) => ({ ...refused, at, ms });
    const w = (at: number, ms: number) => ({ ...ok, at, ms });
    assert.equal(workingAgain([r(0, 6000), w(7000, 5)]), true);
    // Completed last, but started before the refusal was answered: not proof that writes work now.
    assert.equal(workingAgain([r(0, 6000), w(5000, 1500)]), false);
    assert.equal(workingAgain([]), false);
  });

  it('judges writes by when they were sent: a straggler without an answer that ends last does not undo them', () => {
    const w = (at: number, ms: number) => ({ ...ok, at, ms });
    const lost = (at: number, ms: number) => ({ ...refused, status: 0, retryAfter: false, at, ms });
    // Sent at 1 s into a lossy link, no answer after 22 s; writes sent from 2 s on all worked.
    assert.equal(workingAgain([w(2000, 5), w(3000, 5), lost(1000, 22_000)]), true);
    // The last write sent got no answer: writes do not work at the end.
    assert.equal(workingAgain([w(2000, 5), lost(3000, 22_000)]), false);
    // A refusal answered (503) counts until its answer, as before.
    assert.equal(workingAgain([w(2000, 5), { ...refused, at: 1000, ms: 22_000 }, w(3000, 5)]), false);
    // Reads the same way.
    const read = (at: number, ok: boolean) => ({
      kind: 'read',
      ok,
      status: ok ? 200 : 0,
      at,
      ms: ok ? 5 : 22_000,
    });
    assert.equal(workingAgain([read(2000, true), read(1000, false)], 'read'), true);
    assert.equal(workingAgain([read(1000, true), read(2000, false)], 'read'), false);
  });

  it('measures a late round against the switch Sentinel announced, within limits', () => {
    assert.equal(windowMet(2.3, null, 1000), true);
    assert.equal(windowMet(2.35, null, 1000), false);
    assert.equal(windowMet(2.35, 2.29, 1000), true, 'the app followed within 100 ms');
    assert.equal(windowMet(2.45, 2.29, 1000), false, 'the app lagged 160 ms');
    assert.equal(windowMet(3.25, 3.2, 1000), true, 'Sentinel took one more round of votes');
    assert.equal(windowMet(3.35, 3.3, 1000), false, 'beyond down-after + 2.3 s');
    assert.equal(windowMet(1.75, 1.7, 500), true);
  });

  it('lets an outage fail requests while it lasts, but not lose a write or end without service', () => {
    const outage: Goal = { outage: true, nodesAtEnd: 3 };
    const down = { kind: 'read', ok: false, status: 0 };
    const okRead = { kind: 'read', ok: true, status: 200 };
    const failed = row({ failedReads: 3, failedWrites: 2, failed: 5, maxMs: 9000 });
    assert.deepEqual(missedGoals(failed, outage, [down, refused, ok, okRead], 1000), []);
    assert.deepEqual(missedGoals({ ...failed, writesLost: 1 }, outage, [ok, okRead], 1000), [
      '1 acknowledged write(s) lost',
    ]);
    assert.deepEqual(missedGoals(failed, outage, [ok, down], 1000), ['reads did not work again by the end']);
    assert.deepEqual(missedGoals(failed, outage, [okRead, refused], 1000), [
      'writes did not work again by the end',
    ]);
    assert.match(
      describeGoal(outage),
      /^reads may fail while the fault lasts, then served again, writes may fail while the fault lasts, then served again, 0 lost/,
    );
  });

  it('gives every scenario the goals the suite promises', () => {
    const stated = (name: string) => SCENARIOS.find((s) => s.name === name)!.goal;
    // Every Redis node of the stack at the end, however many it has.
    const goal = (name: string, redisNodes = 3) => goalFor(stated(name), redisNodes);
    assert.deepEqual(goal('kill-master'), { replicaReads: true, boundedWindow: true, nodesAtEnd: 3 });
    assert.deepEqual(goal('kill-master', 5), { replicaReads: true, boundedWindow: true, nodesAtEnd: 5 });
    assert.equal(goal('quorum-loss', 5).nodesAtEnd, 5);
    assert.match(describeGoal(stated('kill-replica')), /every Redis node healthy at the end$/);
    for (const name of ['double-fault', 'lose-two-nodes', 'sentinel-tilt', 'quorum-loss'])
      assert.deepEqual(goal(name), { writesMayFail: true, nodesAtEnd: 3, replicaReads: true }, name);
    for (const name of ['pause-master', 'restart-old-master', 'kill-replica', 'kill-app', 'term-app'])
      assert.equal(goal(name)?.writesMayFail, undefined, name);
    // Only where the master is lost may a replica serve a read that lags behind.
    for (const name of ['kill-app', 'term-app', 'kill-replica', 'kill-sentinel'])
      assert.equal(goal(name)?.replicaReads, undefined, name);
    assert.equal(
      describeGoal(degraded),
      '0 failed reads, writes refused only with 503 + Retry-After, then served again, 0 lost, 0 stale reads, every answer within 8 s, 3 healthy Redis nodes at the end',
    );
  });
});

describe('the report', () => {
  it('shows failed reads and writes apart, the modes seen and why a goal was missed', () => {
    const text = formatTable([
      row({ passed: true, modesSeen: [] }),
      row({
        scenario: 'lose-two-nodes',
        failedWrites: 7,
        failedReads: 1,
        failedWhy: { 'page POST /add 503 app': 7, 'api GET /api/cart 502 proxy': 1 },
        modesSeen: ['no-master', 'read-only'],
        modeSpansS: [{ mode: 'no-master', fromS: 1.5, toS: 3, polls: 14 }],
        missed: ['1 read(s) failed'],
      }),
    ]);
    const [header, , first, second] = text.split('\n');
    const cols = header!.split(/\s{2,}/);
    assert.deepEqual(cols.slice(3, 5), ['failed reads', 'failed writes']);
    assert.equal(cols.at(-2), 'mode seen');
    assert.match(first!, /^kill-master\s.*\s-\s+met$/);
    assert.match(second!, /^lose-two-nodes\s+100\s+75\/25\s+1\s+7\s.*\sno-master,read-only\s+MISSED$/);
    assert.match(text, /lose-two-nodes: missed: 1 read\(s\) failed; page POST \/add 503 app x7;/);
    assert.match(text, /modes: no-master 1\.5\.\.3 s \(14 polls\)/);
  });
});
