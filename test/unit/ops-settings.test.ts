// The operator's tool's environment variables (src/ops/settings.ts): what `ha-stack up` and
// `render --target local` take, their ranges, and the variable each refusal names.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/config/index.ts';
import { backupScheduleFromEnv } from '../../src/ops/backup/settings.ts';
import { runDirPath } from '../../src/ops/commands/context.ts';
import { connectionsPerAddressFromEnv, OPS_SETTINGS, topologyFromEnv } from '../../src/ops/settings.ts';
import { defaultPort, portNames, portVariable } from '../../src/ops/topology.ts';

type Env = Record<string, string>;
const readAll = (env: Env) => {
  // The backup settings are read (and refused) as `ha-stack up` reads them with a BACKUP_DIR.
  backupScheduleFromEnv({ BACKUP_DIR: '/srv/backups', ...env }, '/home/u/.run');
  return { ...topologyFromEnv(env), connectionsPerAddress: connectionsPerAddressFromEnv(env) };
};

function refusedVariable(env: Env): string {
  try {
    readAll(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    assert.ok(err.message.startsWith(`${err.variable}: `), err.message);
    return err.variable;
  }
  assert.fail(`expected a ConfigError for ${JSON.stringify(env)}`);
}

describe("operator's tool settings", () => {
  it('leaves everything to the topology defaults when nothing is set, or set empty', () => {
    const none = {
      ports: {},
      downAfterMs: undefined,
      failoverTimeoutMs: undefined,
      maxMemory: undefined,
      connectionsPerAddress: undefined,
    };
    assert.deepEqual(readAll({}), none);
    assert.deepEqual(readAll(Object.fromEntries(Object.keys(OPS_SETTINGS).map((n) => [n, '']))), none);
  });

  it('reads every variable', () => {
    assert.deepEqual(
      readAll({
        REDIS_1_PORT: '7001',
        HAPROXY_HTTP_PORT: '9080',
        SENTINEL_DOWN_AFTER_MS: '5000',
        SENTINEL_FAILOVER_TIMEOUT_MS: '0',
        REDIS_MAXMEMORY: '1GB',
        HAPROXY_CONNECTIONS_PER_ADDRESS: '999999',
      }),
      {
        ports: { 'redis-1': 7001, 'haproxy-http': 9080 },
        downAfterMs: 5000,
        failoverTimeoutMs: 0,
        maxMemory: '1gb',
        connectionsPerAddress: 999_999,
      },
    );
  });

  it('documents a default for every variable', () => {
    for (const [name, s] of Object.entries(OPS_SETTINGS))
      assert.ok(s.defaultText ?? s.default !== undefined, name);
    for (const port of portNames()) {
      const variable = portVariable(port);
      assert.deepEqual(OPS_SETTINGS[variable as keyof typeof OPS_SETTINGS].range, { min: 1, max: 65535 });
      assert.equal(
        OPS_SETTINGS[variable as keyof typeof OPS_SETTINGS].defaultText,
        `\`${defaultPort(port)}\``,
      );
    }
  });

  for (const [name, setting] of Object.entries(OPS_SETTINGS).filter(([, s]) => s.range)) {
    const { min, max } = setting.range!;
    it(`${name}: takes ${min} and ${max}, refuses one step beyond each and what is no integer`, () => {
      assert.doesNotThrow(() => readAll({ [name]: String(min) }));
      assert.doesNotThrow(() => readAll({ [name]: String(max) }));
      for (const bad of [String(min - 1), String(max + 1), '1.5', 'ten', '0x10'])
        assert.equal(refusedVariable({ [name]: bad }), name, bad);
    });
  }

  it('refuses a maxmemory Redis would not take', () => {
    for (const bad of ['12 parsecs', '0', '-1mb', '1tb'])
      assert.equal(refusedVariable({ REDIS_MAXMEMORY: bad }), 'REDIS_MAXMEMORY', bad);
  });

  it('keeps the run directory in the checkout unless HA_STACK_RUN_DIR moves it', () => {
    assert.equal(runDirPath({ HA_STACK_RUN_DIR: '/srv/stack' }), '/srv/stack');
    assert.match(runDirPath({}), /\/\.run$/);
    assert.equal(runDirPath({ HA_STACK_RUN_DIR: '' }), runDirPath({}));
  });
});
