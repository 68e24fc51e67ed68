// Over 300 lines: one place for every command line of the CLI, so that the usage and the parsers agree.
// The command lines of `ha-stack`: every command parses its arguments with parseArgs (strict), takes
// what the usage promises and answers anything else with a UsageError (usage, exit code 2).
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { parseCommandLine } from '../../src/ops/commands/args.ts';
import { UsageError } from '../../src/ops/commands/context.ts';
import { down } from '../../src/ops/commands/down.ts';
import {
  failover,
  parseLogsArgs,
  parseNodeArgs,
  parsePauseArgs,
  parseStatusArgs,
} from '../../src/ops/commands/nodes.ts';
import { parseRenderArgs } from '../../src/ops/commands/render.ts';
import { parseRotateArgs } from '../../src/ops/commands/rotate.ts';
import { runCommand } from '../../src/ops/commands/run.ts';
import { parseUpArgs } from '../../src/ops/commands/up.ts';
import { parseChaosArgs } from '../../src/tools/commands/chaos.ts';
import { parseSoakArgs } from '../../src/tools/commands/soak.ts';

/** The message of the UsageError `f` throws. */
function usage(f: () => unknown): string {
  try {
    f();
  } catch (err) {
    assert.ok(err instanceof UsageError, String(err));
    return err.message;
  }
  assert.fail('expected a UsageError');
}

describe('parseCommandLine', () => {
  const flags = {
    json: { type: 'string' },
    check: { type: 'boolean' },
    count: { type: 'string', short: 'c' },
  } as const;
  it('reads flags, short flags, --flag=value and positionals', () => {
    const r = parseCommandLine(['a', '--json', 'x.json', '-c', '3', '--check'], flags, { max: 1 });
    assert.deepEqual(r.positionals, ['a']);
    assert.deepEqual({ ...r.values }, { json: 'x.json', count: '3', check: true });
    assert.equal(parseCommandLine(['--count=-1'], flags).values.count, '-1');
  });

  it('names the flag or the argument that is wrong', () => {
    assert.equal(
      usage(() => parseCommandLine(['--bogus'], flags)),
      'unknown flag "--bogus"',
    );
    assert.equal(
      usage(() => parseCommandLine(['-x'], flags)),
      'unknown flag "-x"',
    );
    assert.match(
      usage(() => parseCommandLine(['--json'], flags)),
      /^--json needs a value/,
    );
    assert.match(
      usage(() => parseCommandLine(['--json', '--check'], flags)),
      /^--json needs a value/,
    );
    assert.match(
      usage(() => parseCommandLine(['-c'], flags)),
      /^--count needs a value/,
    );
    assert.equal(
      usage(() => parseCommandLine(['--check=yes'], flags)),
      '--check takes no value',
    );
    assert.equal(
      usage(() => parseCommandLine(['a'], flags)),
      'unexpected argument "a"',
    );
    assert.equal(
      usage(() => parseCommandLine(['a', 'b'], flags, { max: 1 })),
      'unexpected argument "b"',
    );
    assert.equal(
      usage(() => parseCommandLine([], flags, { max: 1, min: 1, missing: 'name one' })),
      'name one',
    );
  });
});

describe('ha-stack commands: arguments', () => {
  it('up [--detach]', () => {
    // TLS is on unless turned off.
    assert.deepEqual(parseUpArgs([]), { detach: false, monitoring: false, tls: true });
    assert.deepEqual(parseUpArgs(['--detach']), { detach: true, monitoring: false, tls: true });
    assert.deepEqual(parseUpArgs(['-d', '--monitoring']), { detach: true, monitoring: true, tls: true });
    assert.deepEqual(parseUpArgs([], { MONITORING: '1' }), { detach: false, monitoring: true, tls: true });
    assert.deepEqual(parseUpArgs(['--tls']), { detach: false, monitoring: false, tls: true });
    assert.deepEqual(parseUpArgs([], { TLS: '1' }), { detach: false, monitoring: false, tls: true });
    assert.deepEqual(parseUpArgs(['--no-tls']), { detach: false, monitoring: false, tls: false });
    assert.deepEqual(parseUpArgs([], { TLS: '0' }), { detach: false, monitoring: false, tls: false });
    assert.deepEqual(parseUpArgs([], { TLS: 'false' }), { detach: false, monitoring: false, tls: false });
    assert.deepEqual(parseUpArgs(['--tls'], { TLS: '0' }), { detach: false, monitoring: false, tls: true });
    assert.deepEqual(parseUpArgs(['--no-tls', '--monitoring']), {
      detach: false,
      monitoring: true,
      tls: false,
    });
    assert.equal(
      usage(() => parseUpArgs(['--tls', '--no-tls'])),
      '--tls and --no-tls: choose one',
    );
    assert.equal(
      usage(() => parseUpArgs([], { TLS: 'yes please' })),
      'TLS=yes please: use 1 (the default) or 0',
    );
    assert.equal(
      usage(() => parseUpArgs(['--deatch'])),
      'unknown flag "--deatch"',
    );
    assert.equal(
      usage(() => parseUpArgs(['now'])),
      'unexpected argument "now"',
    );
  });

  it("chaos and soak: their own stack on TLS, as up's, unless --no-tls or TLS=0", (t) => {
    const saved = process.env['TLS'];
    t.after(() => {
      if (saved === undefined) delete process.env['TLS'];
      else process.env['TLS'] = saved;
    });
    delete process.env['TLS'];
    assert.equal(parseChaosArgs(['--own-stack']).tls, true);
    assert.equal(parseChaosArgs(['--own-stack', '--no-tls']).tls, false);
    assert.equal(parseSoakArgs(['--own-stack']).tls, true);
    assert.equal(parseSoakArgs(['--own-stack', '--no-tls']).tls, false);
    process.env['TLS'] = '0';
    assert.equal(parseChaosArgs([]).tls, false);
    assert.equal(parseSoakArgs([]).tls, false);
    assert.equal(parseSoakArgs(['--tls']).tls, true);
  });

  it('status [--json]', () => {
    assert.deepEqual(parseStatusArgs([]), { json: false });
    assert.deepEqual(parseStatusArgs(['--json']), { json: true });
    assert.equal(
      usage(() => parseStatusArgs(['--yaml'])),
      'unknown flag "--yaml"',
    );
  });

  it('down and failover take nothing', async () => {
    await assert.rejects(down(['--force']), UsageError);
    await assert.rejects(failover(['redis-2']), UsageError);
  });

  it('kill|stop|start|resume|restart <node>', () => {
    assert.equal(parseNodeArgs('kill', ['master']), 'master');
    assert.equal(parseNodeArgs('stop', ['sentinel-2']), 'sentinel-2');
    assert.equal(
      usage(() => parseNodeArgs('kill', [])),
      'kill needs a node name',
    );
    assert.match(
      usage(() => parseNodeArgs('stop', ['redis-9'])),
      /^unknown node "redis-9" \(one of: master, /,
    );
    assert.equal(
      usage(() => parseNodeArgs('start', ['redis-1', 'redis-2'])),
      'unexpected argument "redis-2"',
    );
    assert.equal(
      usage(() => parseNodeArgs('restart', ['--all'])),
      'unknown flag "--all"',
    );
  });

  it('pause <node> [seconds]', () => {
    assert.deepEqual(parsePauseArgs(['redis-1']), { node: 'redis-1', seconds: undefined });
    assert.deepEqual(parsePauseArgs(['master', '2.5']), { node: 'master', seconds: 2.5 });
    assert.deepEqual(parsePauseArgs(['app-1', '3600']), { node: 'app-1', seconds: 3600 });
    assert.equal(
      usage(() => parsePauseArgs([])),
      'pause needs a node name',
    );
    for (const bad of ['0', '3601', 'ten', ''])
      assert.equal(
        usage(() => parsePauseArgs(['redis-1', bad])),
        `seconds must be a number from 0 to 3600, got "${bad}"`,
      );
    assert.match(
      usage(() => parsePauseArgs(['nobody'])),
      /^unknown node "nobody"/,
    );
  });

  it('logs <node> [lines]', () => {
    assert.deepEqual(parseLogsArgs(['haproxy']), { name: 'haproxy', lines: 100 });
    assert.deepEqual(parseLogsArgs(['launcher', '20']), { name: 'launcher', lines: 20 });
    assert.match(
      usage(() => parseLogsArgs([])),
      /^name a node: redis-1, /,
    );
    assert.match(
      usage(() => parseLogsArgs(['master'])),
      /^name a node: /,
    );
    for (const bad of ['0', '1.5', 'all'])
      assert.equal(
        usage(() => parseLogsArgs(['app-1', bad])),
        `lines must be a positive whole number, got "${bad}"`,
      );
  });

  it('rotate <secret> [--hosts]', () => {
    assert.deepEqual(parseRotateArgs(['session-secret']), { secret: 'session-secret', hosts: false });
    assert.deepEqual(parseRotateArgs(['redis-app-password']), { secret: 'redis-app-password', hosts: false });
    assert.deepEqual(parseRotateArgs(['certificates']), { secret: 'certificates', hosts: false });
    assert.deepEqual(parseRotateArgs(['certificates', '--hosts']), { secret: 'certificates', hosts: true });
    assert.deepEqual(parseRotateArgs(['certificates', '--out', 'vms', '--round', '2']), {
      secret: 'certificates',
      hosts: false,
      out: { dir: 'vms', round: 2 },
    });
    for (const bad of [
      ['certificates', '--out', 'vms'],
      ['certificates', '--out', 'vms', '--round', '4'],
      ['certificates', '--round', '1'],
      ['certificates', '--hosts', '--out', 'vms', '--round', '1'],
      ['session-secret', '--out', 'vms', '--round', '1'],
    ])
      assert.throws(() => parseRotateArgs(bad), UsageError, bad.join(' '));
    for (const bad of [[], ['root-password'], ['session-secret', 'again'], ['session-secret', '--hosts']])
      assert.throws(() => parseRotateArgs(bad), UsageError, bad.join(' '));
  });

  it('render --target compose|local|kubernetes|hosts --out DIR [--check] [--no-tls]', () => {
    assert.deepEqual(parseRenderArgs(['--target', 'compose', '--out', 'deploy/']), {
      target: 'compose',
      out: 'deploy/',
      check: false,
      tls: true,
    });
    assert.deepEqual(parseRenderArgs(['--check', '--out=k', '--target=kubernetes']), {
      target: 'kubernetes',
      out: 'k',
      check: true,
      tls: true,
    });
    assert.deepEqual(parseRenderArgs(['--target', 'hosts', '--out', 'h', '--no-tls']), {
      target: 'hosts',
      out: 'h',
      check: false,
      tls: false,
    });
    assert.equal(
      usage(() => parseRenderArgs(['--target', 'compose', '--out', 'x', '--no-tls'])),
      'render: --no-tls is for --target hosts',
    );
    assert.equal(
      usage(() => parseRenderArgs(['--target', 'swarm', '--out', 'x'])),
      'render: --target must be one of compose, local, kubernetes, hosts',
    );
    assert.equal(
      usage(() => parseRenderArgs(['--target', 'local'])),
      'render: --out DIR is required',
    );
    assert.match(
      usage(() => parseRenderArgs(['--target', '--out', 'x'])),
      /^--target needs a value/,
    );
    assert.equal(
      usage(() => parseRenderArgs(['--target', 'local', '--out', 'x', 'y'])),
      'unexpected argument "y"',
    );
  });
});

describe('the command-line boundary', () => {
  const capture = () => {
    const out: string[] = [];
    const err: string[] = [];
    mock.method(process.stdout, 'write', (s: string) => out.push(s) > 0);
    mock.method(process.stderr, 'write', (s: string) => err.push(s) > 0);
    return { out, err };
  };

  it('prints the usage for --help and -h after any command (exit 0), without running it', async (t) => {
    t.after(() => mock.restoreAll());
    const { out } = capture();
    let ran = false;
    const commands = {
      chaos: async () => {
        ran = true;
      },
    };
    assert.equal(await runCommand(commands, 'USAGE\n', ['chaos', '--help']), 0);
    assert.equal(await runCommand(commands, 'USAGE\n', ['chaos', 'failover', '-h']), 0);
    assert.equal(ran, false);
    assert.deepEqual(out, ['USAGE\n', 'USAGE\n']);
  });

  it('answers a usage mistake with the message, the usage and exit code 2', async (t) => {
    t.after(() => mock.restoreAll());
    const { err } = capture();
    const commands = { up: async (a: string[]) => void parseUpArgs(a) };
    assert.equal(await runCommand(commands, 'USAGE\n', ['up', '--bogus']), 2);
    assert.deepEqual(err, ['ha-stack up: unknown flag "--bogus"\n\nUSAGE\n']);
  });
});
