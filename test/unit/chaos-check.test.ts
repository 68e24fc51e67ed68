import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareCarts } from '../../src/stack/chaos/check.ts';
import type { LoadUser } from '../../src/stack/chaos/load.ts';
import type { ScenarioRow } from '../../src/stack/chaos/report.ts';
import { judge, windowMet } from '../../src/stack/chaos/runner.ts';
import type { Scenario } from '../../src/stack/chaos/scenarios.ts';

function user(
  email: string,
  acked: Record<string, number>,
  unacked: Record<string, number[]> = {},
): LoadUser {
  return {
    email,
    cookie: 'sid=x',
    csrf: 'c',
    acked: new Map(Object.entries(acked)),
    unacked: new Map(Object.entries(unacked).map(([p, v]) => [p, new Set(v)])),
  } as LoadUser;
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

describe('the judge of a scenario', () => {
  const scenario: Scenario = {
    name: 'kill-master',
    goal: '',
    boundedWindow: true,
    inject: async () => undefined,
  };
  const row = (over: Partial<ScenarioRow>): ScenarioRow => ({
    scenario: 'kill-master',
    requests: 100,
    failed: 0,
    failedWhy: {},
    writesAcked: 50,
    writesLost: 0,
    phantomWrites: 0,
    sessionsLost: 0,
    staleReads: 0,
    writeWindowS: 2.1,
    writeWindowsS: [2.1],
    switchesS: [2.05],
    p99Ms: 10,
    maxMs: 2000,
    goal: '',
    passed: false,
    ...over,
  });

  it('passes a clean run and fails a lost write, a failed request or a long window', () => {
    assert.equal(judge(row({}), scenario, [], 1000), true);
    assert.equal(judge(row({ writesLost: 1 }), scenario, [], 1000), false);
    assert.equal(judge(row({ sessionsLost: 1 }), scenario, [], 1000), false);
    assert.equal(judge(row({ failed: 1 }), scenario, [], 1000), false);
    assert.equal(judge(row({ writeWindowsS: [2.1, 2.31] }), scenario, [], 1000), false);
    assert.equal(judge(row({ writeWindowsS: [] }), scenario, [], 1000), false);
    assert.equal(judge(row({ writeWindowsS: [null] }), scenario, [], 1000), false);
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

  it('lets quorum loss refuse writes with 503 only', () => {
    const q: Scenario = { ...scenario, name: 'quorum-loss', boundedWindow: false, writesMayFail: true };
    const ok = { kind: 'write', ok: true, status: 200 };
    const refused = { kind: 'write', ok: false, status: 503, retryAfter: true };
    assert.equal(judge(row({ failed: 2 }), q, [refused, ok], 1000), true);
    assert.equal(judge(row({ failed: 1 }), q, [{ ...refused, retryAfter: false }, ok], 1000), false);
    assert.equal(judge(row({ failed: 1 }), q, [refused, { ...ok, ok: false, status: 503 }], 1000), false);
    assert.equal(judge(row({ failed: 1 }), q, [{ kind: 'read', ok: false, status: 503 }, ok], 1000), false);
    assert.equal(judge(row({ failed: 1 }), q, [{ kind: 'write', ok: false, status: 500 }, ok], 1000), false);
  });
});
