import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NodeRow, SentinelRow } from '../../src/app/operator/topology/model.ts';
import {
  alarms,
  modeOf,
  parseSupervisorState,
  supervised,
} from '../../src/app/operator/topology/snapshot.ts';
import { Timeline } from '../../src/app/operator/topology/timeline.ts';
import { topologySections } from '../../src/app/operator/view.ts';

const node = (name: string, role: NodeRow['role'], extra: Partial<NodeRow> = {}): NodeRow => ({
  name,
  address: `127.0.0.1:${name.slice(-1)}`,
  up: role !== 'down',
  role,
  link: role === 'replica' ? 'up' : null,
  following: role === 'replica' ? 'redis-1' : null,
  replicas: role === 'master' ? 2 : null,
  offset: 1,
  lagBytes: null,
  lagSeconds: null,
  error: null,
  restarts: null,
  process: null,
  ...extra,
});
const sentinel = (name: string, extra: Partial<SentinelRow> = {}): SentinelRow => ({
  name,
  address: '127.0.0.1:1',
  up: true,
  master: 'redis-1',
  flags: 'master',
  configEpoch: 1,
  tilt: false,
  error: null,
  restarts: null,
  process: null,
  ...extra,
});
const master = { name: 'redis-1', address: '127.0.0.1:1' };
const three = [sentinel('sentinel-1'), sentinel('sentinel-2'), sentinel('sentinel-3')];

describe('the mode on the topology page', () => {
  it('reads the mode off the topology rows', () => {
    const healthy = [node('redis-1', 'master'), node('redis-2', 'replica'), node('redis-3', 'replica')];
    assert.equal(modeOf(healthy, three, master, 1, 2).service, 'healthy');
    const alone = [node('redis-1', 'master'), node('redis-2', 'down'), node('redis-3', 'down')];
    const ro = modeOf(alone, three, master, 1, 2);
    assert.equal(ro.service, 'read-only');
    assert.match(ro.text, /reads served, writes answered 503/);
    // A replica whose link is down, or that follows another node, does not count for the master.
    const unlinked = [
      node('redis-1', 'master'),
      node('redis-2', 'replica', { link: 'down' }),
      node('redis-3', 'replica', { following: 'redis-2' }),
    ];
    assert.equal(modeOf(unlinked, three, master, 1, 2).service, 'read-only');
    const noMaster = [node('redis-1', 'down'), node('redis-2', 'replica'), node('redis-3', 'replica')];
    assert.equal(modeOf(noMaster, three, master, 1, 2).service, 'no-master');
    const tilted = three.map((s, i) => (i < 2 ? { ...s, tilt: true } : s));
    const t = modeOf(healthy, tilted, master, 1, 2);
    assert.equal(t.sentinels, 'tilt');
    assert.match(t.text, /TILT/);
  });

  it('raises an alarm for Sentinels in TILT', () => {
    const tilted = [sentinel('sentinel-1', { tilt: true }), sentinel('sentinel-2'), sentinel('sentinel-3')];
    const a = alarms([node('redis-1', 'master')], tilted);
    assert.deepEqual(a.alarms, ['sentinel-1 in TILT mode: it takes part in no failover for 30 s']);
    assert.deepEqual(alarms([node('redis-1', 'master')], three).alarms, []);
  });
});

describe('supervisor state on the topology page', () => {
  it('parses the state file and ignores what it does not understand', () => {
    const state = parseSupervisorState(
      JSON.stringify({
        updated: '2026-12-02T00:00:00Z',
        nodes: {
          'redis-1': { status: 'running', restarts: 2, lastExit: { code: null, at: '2026-12-02T00:00:00Z' } },
          'sentinel-1': { status: 'restarting', restarts: 1, lastExit: null },
          bogus: { status: 3 },
        },
      }),
    );
    assert.deepEqual([...state.keys()], ['redis-1', 'sentinel-1']);
    assert.deepEqual(state.get('redis-1'), { status: 'running', restarts: 2 });
    assert.equal(parseSupervisorState('not json').size, 0);
    assert.equal(parseSupervisorState('null').size, 0);
    const row = supervised({ name: 'redis-1' }, state);
    assert.deepEqual(row, { name: 'redis-1', restarts: 2, process: 'running' });
    assert.deepEqual(supervised({ name: 'redis-9' }, state), {
      name: 'redis-9',
      restarts: null,
      process: null,
    });
  });

  it('shows the mode, restarts and TILT on the page', () => {
    const nodes = [
      node('redis-1', 'master', { restarts: 3, process: 'running' }),
      node('redis-2', 'down', { restarts: 1, process: 'restarting' }),
      node('redis-3', 'down'),
    ];
    const sentinels = [
      sentinel('sentinel-1', { tilt: true }),
      sentinel('sentinel-2'),
      sentinel('sentinel-3'),
    ];
    const parts = topologySections({
      at: '2026-12-02T00:00:00.000Z',
      observer: 'app-1',
      masterName: 'mymaster',
      master,
      mode: modeOf(nodes, sentinels, master, 1, 2),
      ...alarms(nodes, sentinels),
      missing: [],
      nodes,
      sentinels,
      haproxy: { configured: false, up: false, error: null, apps: [], others: [] },
      events: [],
    });
    assert.match(parts['live-summary']!, /data-mode="read-only"/);
    assert.match(parts['live-nodes']!, /data-restarts="3">restarted 3×</);
    assert.match(parts['live-nodes']!, /restarted 1× · restarting/);
    assert.match(parts['live-sentinels']!, /data-tilt="true"><span class="badge down">TILT</);
    assert.doesNotMatch(parts['live-nodes']!.split('redis-3')[1]!, /restarted/);
  });
});

describe('the topology timeline', () => {
  const snapshot = (nodes: NodeRow[], sentinels: SentinelRow[]) => ({
    at: '2026-12-02T00:00:00.000Z',
    observer: 'app-1',
    masterName: 'mymaster',
    master,
    mode: modeOf(nodes, sentinels, master, 1, 2),
    alarms: [],
    warnings: [],
    missing: [],
    nodes,
    sentinels,
    haproxy: { configured: false, up: false, error: null, apps: [], others: [] },
    events: [],
  });

  it('tells restarts, TILT and mode changes, and merges what several sources report', () => {
    const t = new Timeline();
    const before = snapshot(
      [node('redis-1', 'master', { restarts: 0 }), node('redis-2', 'replica', { restarts: 0 })],
      three,
    );
    const after = snapshot(
      [node('redis-1', 'master', { restarts: 0, replicas: 0 }), node('redis-2', 'down', { restarts: 1 })],
      [sentinel('sentinel-1', { tilt: true }), three[1]!, three[2]!],
    );
    t.diff(before, after);
    assert.deepEqual(
      t.list().map((e) => `${e.type}: ${e.text}`),
      [
        'down: redis-2 does not answer (no reply)',
        'restart: redis-2 restarted by the supervisor (1×)',
        'tilt: sentinel sentinel-1 entered TILT mode',
        'mode: mode read-only (was healthy)',
      ],
    );
    const last = t.lastId;
    t.add('+sdown', 'master redis-1 down', 'sentinel-1', Date.parse('2026-12-02T00:00:01Z'));
    t.add('+sdown', 'master redis-1 down', 'sentinel-2', Date.parse('2026-12-02T00:00:02Z'));
    assert.equal(t.lastId, last + 1, 'one event for both Sentinels');
    assert.deepEqual(t.list().at(-1)?.sources, ['sentinel-1', 'sentinel-2']);
  });

  it('keeps the 40 newest events', () => {
    const t = new Timeline();
    for (let i = 0; i < 45; i++) t.add('up', `event ${i}`, 'poll');
    const list = t.list();
    assert.equal(list.length, 40);
    assert.equal(list[0]?.text, 'event 5');
    assert.equal(t.lastId, 45);
  });
});
