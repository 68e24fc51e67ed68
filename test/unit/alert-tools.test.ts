import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/ops/commands/context.ts';
import { ALERT_FAULT_NAMES, formatAlertTable } from '../../src/tools/chaos/alert-round.ts';
import { parseChaosArgs } from '../../src/tools/commands/chaos.ts';
import { parseSoakArgs } from '../../src/tools/commands/soak.ts';
import { alertLine } from '../../src/tools/monitor/api.ts';
import { alertsMissed } from '../../src/tools/soak/run.ts';

describe('chaos --alerts and soak --healthy --monitoring', () => {
  it('chaos --alerts takes the alert faults by name, and only them', () => {
    const a = parseChaosArgs(['--alerts', 'memory', 'tilt']);
    assert.deepEqual([a.alerts, a.names], [true, ['memory', 'tilt']]);
    assert.ok(ALERT_FAULT_NAMES.includes('split-brain'));
    assert.throws(() => parseChaosArgs(['--alerts', 'kill-master']), /unknown alert scenario "kill-master"/);
    assert.throws(() => parseChaosArgs(['--alerts', '--rounds', '2']), /--rounds is not taken with --alerts/);
    assert.throws(() => parseChaosArgs(['--alerts', '--hosts']), UsageError);
  });

  it('soak --healthy means no master kill, and refuses one asked for', () => {
    const a = parseSoakArgs(['--healthy', '--monitoring']);
    assert.deepEqual([a.healthy, a.monitoring, a.killEvery], [true, true, 0]);
    assert.equal(parseSoakArgs(['--healthy', '--kill-every', '0']).killEvery, 0);
    assert.throws(() => parseSoakArgs(['--healthy', '--kill-every', '2']), /--healthy injects no fault/);
    assert.deepEqual([parseSoakArgs([]).healthy, parseSoakArgs([]).monitoring], [false, false]);
  });

  it('a healthy soak misses its target on any alert, a blind look included', () => {
    const none = { raised: [], firedInPrometheus: [], pendingInPrometheus: ['X'], failedLooks: 0 };
    assert.deepEqual(alertsMissed(none), []);
    const seen = { line: 'RedisNodeDown {node=redis-2}', labels: {}, startsAt: undefined, firstSeenS: 3 };
    assert.match(
      alertsMissed({ ...none, raised: [seen] })[0]!,
      /1 alert\(s\) in Alertmanager: RedisNodeDown/,
    );
    assert.match(alertsMissed({ ...none, firedInPrometheus: ['SentinelTilt'] })[0]!, /firing in Prometheus/);
    assert.match(alertsMissed({ ...none, failedLooks: 2 })[0]!, /did not answer 2 look/);
  });

  it('prints an alert with its labels and start, and the round as a table', () => {
    assert.equal(
      alertLine({
        labels: { alertname: 'RedisNodeDown', node: 'redis-2', severity: 'warning', component: 'redis' },
        annotations: {},
        startsAt: '2026-12-06T05:00:00Z',
        status: { state: 'active' },
      }),
      'RedisNodeDown {node=redis-2} since 2026-12-06T05:00:00Z',
    );
    const table = formatAlertTable([
      { fault: 'memory', alert: 'RedisMemoryNearMax', firedS: 14.2, resolvedS: 5.1, passed: true },
      { fault: 'stall', alert: 'RedisReplicaLagging', firedS: null, resolvedS: null, passed: false },
    ]).split('\n');
    assert.equal(table.length, 3);
    assert.match(table[1]!, /^memory +RedisMemoryNearMax +14\.2 s +5\.1 s +met$/);
    assert.match(table[2]!, /not within 30 s +- +MISSED$/);
  });
});
