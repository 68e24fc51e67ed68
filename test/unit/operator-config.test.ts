import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type OperatorConfig, readOperatorConfig } from '../../src/app/operator/config.ts';
import { ConfigError } from '../../src/config/index.ts';

const PASSWORD = 'Op3rat0r-Pa55w0rd-0123456789abcdefgh';
const PREVIOUS = 'Pr3vi0us-Pa55w0rd-0123456789abcdefgh';
/** The dashboard turned on without a password: every other variable is then read as it is given. */
const base = { REDIS_SENTINELS: '127.0.0.1:26380', OPERATOR_DASHBOARD: 'true' };
type Env = Record<string, string>;

const read = (env: Env, appEnv: 'production' | 'development' = 'production'): OperatorConfig => {
  const c = readOperatorConfig(env, appEnv);
  assert.ok(c, `the dashboard is off for ${JSON.stringify(env)}`);
  return c;
};

/** The ConfigError readOperatorConfig throws for env: its variable and message. */
function refusal(env: Env, appEnv: 'production' | 'development' = 'production') {
  try {
    readOperatorConfig(env, appEnv);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return { variable: err.variable, message: err.message };
  }
  assert.fail(`expected a ConfigError for ${JSON.stringify(env)}`);
}

describe('operator dashboard: on or off', () => {
  it('is off without its configuration, and then reads none of its variables', () => {
    assert.equal(readOperatorConfig({ REDIS_SENTINELS: '127.0.0.1:26380' }, 'production'), undefined);
    // Nothing the dashboard would refuse matters while it is off, not even a previous password.
    const ignored = {
      HAPROXY_OPERATOR_PASSWORD_PREVIOUS: 'short',
      TOPOLOGY_POLL_MS: '1',
      HAPROXY_STATS_URL: 'ftp://x',
    };
    assert.equal(readOperatorConfig(ignored, 'production'), undefined);
    assert.equal(readOperatorConfig({ ...ignored, OPERATOR_DASHBOARD: 'false' }, 'production'), undefined);
  });

  it('is on with the operator password, or when asked for without one', () => {
    assert.equal(read({ HAPROXY_OPERATOR_PASSWORD: PASSWORD }).password, PASSWORD);
    assert.equal(read({ HAPROXY_OPERATOR_PASSWORD: PASSWORD, OPERATOR_DASHBOARD: 'yes' }).password, PASSWORD);
    const open = read({ OPERATOR_DASHBOARD: 'true' });
    assert.equal(open.password, undefined);
    assert.equal(open.previousPassword, undefined);
  });

  it('refuses a password with the dashboard turned off, and a flag that is not a boolean', () => {
    assert.deepEqual(refusal({ HAPROXY_OPERATOR_PASSWORD: PASSWORD, OPERATOR_DASHBOARD: 'false' }), {
      variable: 'OPERATOR_DASHBOARD',
      message: 'OPERATOR_DASHBOARD: is false while HAPROXY_OPERATOR_PASSWORD is set: unset one of them',
    });
    assert.equal(refusal({ OPERATOR_DASHBOARD: 'maybe' }).variable, 'OPERATOR_DASHBOARD');
  });
});

describe('operator dashboard: credentials', () => {
  it('reads the operator password and, during its rotation, the previous one', () => {
    const both = read({ HAPROXY_OPERATOR_PASSWORD: PASSWORD, HAPROXY_OPERATOR_PASSWORD_PREVIOUS: PREVIOUS });
    assert.equal(both.password, PASSWORD);
    assert.equal(both.previousPassword, PREVIOUS);
    // A previous password alone opens nothing: without a password the views need none.
    const alone = read({ ...base, HAPROXY_OPERATOR_PASSWORD_PREVIOUS: PREVIOUS });
    assert.equal(alone.password, undefined);
    assert.equal(alone.previousPassword, undefined);
    assert.equal(
      refusal({ HAPROXY_OPERATOR_PASSWORD: PASSWORD, HAPROXY_OPERATOR_PASSWORD_PREVIOUS: 'short' }).variable,
      'HAPROXY_OPERATOR_PASSWORD_PREVIOUS',
    );
  });

  it('accepts weak passwords in development only', () => {
    const weak = 'short';
    const dev = read(
      { HAPROXY_OPERATOR_PASSWORD: weak, HAPROXY_OPERATOR_PASSWORD_PREVIOUS: weak },
      'development',
    );
    assert.equal(dev.password, weak);
    assert.equal(dev.previousPassword, weak);
    assert.equal(
      refusal({ HAPROXY_OPERATOR_PASSWORD: weak }).message,
      'HAPROXY_OPERATOR_PASSWORD: must be at least 32 characters',
    );
  });
});

describe('operator dashboard: limits and topology', () => {
  it('accepts both bounds of a range and refuses one step beyond each', () => {
    const ranges: [string, number, number, (c: OperatorConfig) => number][] = [
      ['TOPOLOGY_POLL_MS', 100, 60_000, (c) => c.topology.pollMs],
      ['TOPOLOGY_STREAMS_PER_ADDRESS', 1, 10_000, (c) => c.streamsPerAddress],
      ['TOPOLOGY_STREAMS_PER_INSTANCE', 1, 100_000, (c) => c.streamsPerInstance],
    ];
    for (const [name, min, max, value] of ranges) {
      assert.equal(value(read({ ...base, [name]: String(min) })), min, `${name}=${min}`);
      assert.equal(value(read({ ...base, [name]: String(max) })), max, `${name}=${max}`);
      for (const bad of [min - 1, max + 1]) {
        const r = refusal({ ...base, [name]: String(bad) });
        assert.equal(r.variable, name);
        assert.equal(r.message, `${name}: must be between ${min} and ${max}, got ${bad}`);
      }
    }
  });

  it('reads named and unnamed node lists', () => {
    const c = read({
      ...base,
      TOPOLOGY_REDIS_NODES: 'redis-1=10.0.0.1:6379, 10.0.0.2:6380 ,,',
      TOPOLOGY_SENTINELS: 's1 = 10.0.0.1:26379',
    });
    assert.deepEqual(c.topology.redisNodes, [
      { name: 'redis-1', host: '10.0.0.1', port: 6379 },
      { name: '10.0.0.2:6380', host: '10.0.0.2', port: 6380 },
    ]);
    assert.deepEqual(c.topology.sentinels, [{ name: 's1', host: '10.0.0.1', port: 26379 }]);
    assert.equal(
      refusal({ ...base, TOPOLOGY_REDIS_NODES: 'bad name=10.0.0.1:6379' }).message,
      'TOPOLOGY_REDIS_NODES: "bad name" is not a valid node name',
    );
    assert.equal(
      refusal({ ...base, TOPOLOGY_SENTINELS: 's1=nowhere' }).message,
      'TOPOLOGY_SENTINELS: "nowhere" is not host:port',
    );
    for (const bad of ['[]:1', '=10.0.0.1:6379', 'a b:1', '::1:6379', 'a:0'])
      assert.match(
        refusal({ ...base, TOPOLOGY_REDIS_NODES: bad }).message,
        /TOPOLOGY_REDIS_NODES.*not host:port/,
      );
  });

  it('falls back to REDIS_SENTINELS for the sentinels it observes, and to defaults', () => {
    const c = read(base);
    assert.deepEqual(c.topology.sentinels, [{ name: '127.0.0.1:26380', host: '127.0.0.1', port: 26380 }]);
    assert.deepEqual(c.topology.redisNodes, []);
    assert.equal(c.topology.masterName, 'mymaster');
    assert.equal(c.topology.haproxyAppBackend, 'apps');
    assert.equal(c.topology.haproxyStatsUrl, undefined);
    assert.equal(c.topology.stateFile, undefined);
    assert.equal(c.topology.pollMs, 500);
    assert.deepEqual([c.streamsPerAddress, c.streamsPerInstance], [8, 64]);
    const set = read({
      ...base,
      REDIS_MASTER_NAME: 'x'.repeat(64),
      HAPROXY_APP_BACKEND: 'web',
      HAPROXY_STATS_URL: 'https://127.0.0.1:8404/stats',
      HA_STACK_STATE_FILE: '/run/state.json',
    });
    assert.equal(set.topology.masterName, 'x'.repeat(64));
    assert.equal(set.topology.haproxyAppBackend, 'web');
    assert.equal(set.topology.haproxyStatsUrl, 'https://127.0.0.1:8404/stats');
    assert.equal(set.topology.stateFile, '/run/state.json');
  });

  it('takes only an http(s) URL for the HAProxy stats page', () => {
    assert.equal(
      read({ ...base, HAPROXY_STATS_URL: 'http://h:8404/stats' }).topology.haproxyStatsUrl,
      'http://h:8404/stats',
    );
    assert.equal(
      refusal({ ...base, HAPROXY_STATS_URL: 'ftp://h/stats' }).message,
      'HAPROXY_STATS_URL: must be an http:// or https:// URL',
    );
    assert.equal(
      refusal({ ...base, HAPROXY_STATS_URL: 'not a url' }).message,
      'HAPROXY_STATS_URL: "not a url" is not a URL',
    );
  });
});
