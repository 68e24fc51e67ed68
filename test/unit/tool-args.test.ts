// The command lines of `ha-stack chaos|soak|bench`: parseArgs (strict) underneath, the flags the
// usage names, and a UsageError (usage, exit code 2) for anything else.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../src/ops/commands/context.ts';
import { parseBenchArgs } from '../../src/tools/bench/args.ts';
import { CASE_IDS } from '../../src/tools/bench/cases.ts';
import { SCENARIO_NAMES } from '../../src/tools/chaos/scenarios.ts';
import { parseChaosArgs } from '../../src/tools/commands/chaos.ts';
import { parseSoakArgs } from '../../src/tools/commands/soak.ts';

function usage(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    assert.ok(err instanceof UsageError, String(err));
    return err.message;
  }
  assert.fail('expected a UsageError');
}

describe('ha-stack chaos arguments', () => {
  const [first, second] = SCENARIO_NAMES as [string, string];
  it('takes scenario names and the flags of the usage', () => {
    assert.deepEqual(parseChaosArgs([]), {
      rounds: 1,
      users: undefined,
      json: undefined,
      names: [],
      ownStack: false,
      hosts: false,
      alerts: false,
      tls: true,
    });
    assert.equal(parseChaosArgs(['--own-stack', '--tls']).tls, true);
    assert.deepEqual(
      parseChaosArgs([first, '--rounds', '3', second, '--users=8', '--json', 'r.json', '--own-stack']),
      {
        rounds: 3,
        users: 8,
        json: 'r.json',
        names: [first, second],
        ownStack: true,
        hosts: false,
        alerts: false,
        tls: true,
      },
    );
  });

  it('takes the host scenarios with --hosts, and only them', () => {
    // The host bed, as a stack of its own, has TLS on every hop unless --no-tls.
    assert.equal(parseChaosArgs(['--hosts']).tls, true);
    assert.equal(parseChaosArgs(['--hosts', '--no-tls']).tls, false);
    assert.deepEqual(parseChaosArgs(['--hosts', 'lose-front', 'power-cycle']).names, [
      'lose-front',
      'power-cycle',
    ]);
    assert.match(
      usage(() => parseChaosArgs(['--hosts', first])),
      new RegExp(`^unknown host scenario "${first}" \\(scenarios with --hosts: lose-host, `),
    );
    assert.match(
      usage(() => parseChaosArgs(['lose-host'])),
      /^unknown scenario "lose-host"/,
    );
    assert.equal(
      usage(() => parseChaosArgs(['--hosts', '--rounds', '2'])),
      '--rounds is not taken with --hosts',
    );
  });

  it('refuses an unknown scenario or flag, and numbers out of range', () => {
    assert.match(
      usage(() => parseChaosArgs(['meteor'])),
      /^unknown scenario "meteor" \(scenarios: /,
    );
    assert.equal(
      usage(() => parseChaosArgs(['--round', '2'])),
      'unknown flag "--round"',
    );
    for (const bad of ['0', '1.5', 'x', '-1'])
      assert.equal(
        usage(() => parseChaosArgs([`--rounds=${bad}`])),
        '--rounds needs a positive whole number',
      );
    assert.match(
      usage(() => parseChaosArgs(['--users', '1'])),
      /^--users needs a whole number of at least 2/,
    );
    assert.match(
      usage(() => parseChaosArgs(['--json'])),
      /^--json needs a value/,
    );
    assert.equal(
      usage(() => parseChaosArgs(['--json='])),
      '--json needs a file name',
    );
    assert.equal(
      usage(() => parseChaosArgs(['--own-stack=yes'])),
      '--own-stack takes no value',
    );
  });
});

describe('ha-stack soak arguments (parseArgs)', () => {
  it('reads every flag and refuses what is not a number', () => {
    const a = parseSoakArgs([
      '--users=4',
      '--pause',
      '50',
      '--visit',
      '2',
      '--own-stack',
      '--kill-every',
      '1',
    ]);
    assert.deepEqual([a.users, a.pauseMs, a.visit, a.ownStack, a.killEvery], [4, 50, 2, true, 1]);
    assert.equal(
      usage(() => parseSoakArgs(['--pause', '-1'])),
      '--pause needs a value (one that starts with "-" as --pause=-1)',
    );
    assert.equal(
      usage(() => parseSoakArgs(['--pause=-1'])),
      '--pause needs a number of at least 0',
    );
    assert.equal(
      usage(() => parseSoakArgs(['--visit', ' '])),
      '--visit needs a number of at least 0',
    );
    assert.equal(
      usage(() => parseSoakArgs(['30'])),
      'unexpected argument "30"',
    );
  });
});

describe('ha-stack bench arguments', () => {
  it('reads the defaults, a mode and every flag', () => {
    const d = parseBenchArgs(['--no-progress']);
    assert.deepEqual(
      [d.mode, d.url, d.connections, d.durationS, d.warmupS, d.cases, d.slices, d.json, d.progress],
      ['load', undefined, 32, 15, 3, [...CASE_IDS], 5, 'results/bench.json', false],
    );
    assert.deepEqual([d.scryptCost, d.rounds, d.users], [undefined, 5, 8]);
    assert.deepEqual(d.scale, {
      sessions: 1_000_000,
      storedUsers: 100_000,
      baselineSessions: 1000,
      durationS: 10,
      connections: 32,
    });
    const f = parseBenchArgs(['failover', '--rounds', '2', '--users', '4', '--progress']);
    assert.deepEqual(
      [f.mode, f.rounds, f.users, f.json, f.progress],
      ['failover', 2, 4, 'results/bench-failover.json', true],
    );
    const s = parseBenchArgs([
      'scale',
      '-c',
      '8',
      '-d',
      '4',
      '--sessions',
      '5000',
      '--stored-users',
      '100',
      '--baseline-sessions',
      '10',
      '--json',
      'x.json',
    ]);
    assert.deepEqual(s.scale, {
      sessions: 5000,
      storedUsers: 100,
      baselineSessions: 10,
      durationS: 4,
      connections: 8,
    });
    assert.deepEqual([s.durationS, s.json], [4, 'x.json']);
    const l = parseBenchArgs([
      '--url',
      'http://127.0.0.1:8080',
      `--cases=${CASE_IDS[0]},${CASE_IDS[1]}`,
      '--warmup',
      '0',
      '--slices',
      '2',
      '--scrypt-cost',
      '1024',
      '--progress',
      '--no-progress',
    ]);
    assert.deepEqual(
      [l.url, l.cases, l.warmupS, l.slices, l.scryptCost, l.progress],
      ['http://127.0.0.1:8080', [CASE_IDS[0], CASE_IDS[1]], 0, 2, 1024, false],
    );
    assert.equal(parseBenchArgs(['profile']).json, 'results/bench-profile.json');
  });

  it('refuses unknown modes, flags, cases and numbers out of range', () => {
    assert.match(
      usage(() => parseBenchArgs(['warp'])),
      /^unknown bench "warp"/,
    );
    assert.equal(
      usage(() => parseBenchArgs(['failover', 'scale'])),
      'unexpected argument "scale"',
    );
    assert.equal(
      usage(() => parseBenchArgs(['--conections', '3'])),
      'unknown flag "--conections"',
    );
    assert.equal(
      usage(() => parseBenchArgs(['--url', 'ftp://h'])),
      '--url needs an http:// URL',
    );
    assert.match(
      usage(() => parseBenchArgs(['--cases', 'nope'])),
      /^--cases takes a comma-separated list of: /,
    );
    assert.match(
      usage(() => parseBenchArgs(['--cases='])),
      /^--cases takes/,
    );
    assert.equal(
      usage(() => parseBenchArgs(['-c', '0'])),
      '--connections needs a positive whole number',
    );
    assert.equal(
      usage(() => parseBenchArgs(['--duration', '1.5'])),
      '--duration needs a positive whole number',
    );
    assert.equal(
      usage(() => parseBenchArgs(['--warmup=-1'])),
      '--warmup needs seconds (0 for none)',
    );
    assert.match(
      usage(() => parseBenchArgs(['--json'])),
      /^--json needs a value/,
    );
    assert.equal(
      usage(() => parseBenchArgs(['scale', '--sessions', '10', '--baseline-sessions', '10'])),
      '--baseline-sessions must be fewer than --sessions',
    );
  });
});
