// The tables of environment variables: every integer's range and every default as the contract
// gives them (README, docs/configuration.md), the loaders wired to each entry, and the committed
// documentation written from the tables.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { configurationDoc, DOC_PATH } from '../../scripts/docs-config.ts';
import { readOperatorConfig } from '../../src/app/operator/config.ts';
import { ConfigError, loadConfig as loadAppConfig } from '../../src/config/index.ts';
import { APP_SETTINGS } from '../../src/config/table.ts';

/** The app's configuration with the operator dashboard's beside it, as an instance with it on reads them. */
function loadConfig(env: Record<string, string | undefined>) {
  const app = loadAppConfig(env);
  const operator = readOperatorConfig({ OPERATOR_DASHBOARD: 'true', ...env }, app.env)!;
  return { ...app, operator, topology: operator.topology };
}
type AppConfig = ReturnType<typeof loadConfig>;

const SECRET = 'k3Jq9vX2mP8rT5wY1zA4bC7dE0fG6hL-';
const base = { REDIS_SENTINELS: '127.0.0.1:26380', SESSION_SECRET: SECRET };
type Env = Record<string, string>;

/** The ConfigError loadConfig throws for env: its variable and message. */
function refusal(env: Env): { variable: string; message: string } {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.name, 'ConfigError');
    return { variable: err.variable, message: err.message };
  }
  assert.fail(`expected a ConfigError for ${JSON.stringify(env)}`);
}

/** Every integer of the app: its range and default as the contract has them, and where it lands. */
const INTEGERS: [string, number, number, number | undefined, (c: AppConfig) => number][] = [
  ['PORT', 0, 65535, 3001, (c) => c.port],
  ['SESSION_TTL_SECONDS', 10, 86_400, 600, (c) => c.sessionTtlSeconds],
  ['SESSION_MAX_AGE_SECONDS', 1, 2_592_000, 43_200, (c) => c.sessionMaxAgeSeconds],
  ['SESSIONS_PER_ACCOUNT', 1, 1000, 10, (c) => c.sessionsPerAccount],
  ['BODY_LIMIT_BYTES', 1024, 10_485_760, 16_384, (c) => c.bodyLimitBytes],
  ['LOGIN_LIMIT_PER_EMAIL', 1, 10_000, 5, (c) => c.loginLimitPerEmail],
  ['LOGIN_LIMIT_PER_IP', 1, 100_000, 30, (c) => c.loginLimitPerIp],
  ['LOGIN_LIMIT_WINDOW_SECONDS', 1, 86_400, 900, (c) => c.loginLimitWindowSeconds],
  ['LOGIN_SLOWDOWN_AFTER', 1, 100_000, 20, (c) => c.loginSlowdownAfter],
  ['LOGIN_SLOWDOWN_MAX_SECONDS', 1, 3600, 60, (c) => c.loginSlowdownMaxSeconds],
  ['LOGIN_LIMIT_PER_DEVICE', 1, 10_000, 10, (c) => c.loginLimitPerDevice],
  ['REGISTER_LIMIT_PER_IP', 1, 1_000_000, 10, (c) => c.registerLimitPerIp],
  ['REGISTER_LIMIT_WINDOW_SECONDS', 1, 86_400, 3600, (c) => c.registerLimitWindowSeconds],
  ['SCRYPT_COST', 1024, 1_048_576, 16_384, (c) => c.scryptCost],
  // Its default is the machine's CPUs, at least 2.
  ['HASH_CONCURRENCY', 2, 256, undefined, (c) => c.hashConcurrency],
  ['SHUTDOWN_GRACE_MS', 0, 120_000, 10_000, (c) => c.shutdownGraceMs],
  ['SHUTDOWN_DRAIN_MS', 0, 60_000, 2500, (c) => c.shutdownDrainMs],
  // Its default depends on the target: 1 with Sentinels, 0 with REDIS_URL.
  ['REDIS_WAIT_REPLICAS', 0, 16, 1, (c) => c.redis.waitReplicas],
  ['REDIS_WAIT_TIMEOUT_MS', 10, 60_000, 500, (c) => c.redis.waitTimeoutMs],
  ['WRITE_DEADLINE_MS', 100, 120_000, 6000, (c) => c.redis.writeDeadlineMs],
  ['READ_FALLBACK_MS', 10, 10_000, 250, (c) => c.redis.readFallbackMs],
  ['NO_REPLICA_GRACE_MS', 0, 120_000, 2000, (c) => c.redis.noReplicaGraceMs],
  ['REDIS_CONNECT_TIMEOUT_MS', 100, 60_000, 1000, (c) => c.redis.connectTimeoutMs],
  ['TOPOLOGY_POLL_MS', 100, 60_000, 500, (c) => c.topology.pollMs],
  ['TOPOLOGY_STREAMS_PER_ADDRESS', 1, 10_000, 8, (c) => c.operator.streamsPerAddress],
  ['TOPOLOGY_STREAMS_PER_INSTANCE', 1, 100_000, 64, (c) => c.operator.streamsPerInstance],
];

/** Every other variable with a default of its own, and where it lands. */
const OTHER_DEFAULTS: [string, unknown, (c: AppConfig) => unknown][] = [
  ['APP_ENV', 'production', (c) => c.env],
  ['HOST', '127.0.0.1', (c) => c.host],
  ['COOKIE_SECURE', false, (c) => c.cookieSecure],
  ['METRICS_NODE', false, (c) => c.metricsNode],
  ['TRUST_PROXY', [], (c) => c.trustProxy],
  ['LOG_LEVEL', 'info', (c) => c.logLevel],
  ['REDIS_MASTER_NAME', 'mymaster', (c) => c.topology.masterName],
  ['HAPROXY_APP_BACKEND', 'apps', (c) => c.topology.haproxyAppBackend],
];

describe('configuration table: integers', () => {
  it('lists every integer of the table here, with the range the table gives', () => {
    const inTable = Object.entries(APP_SETTINGS).filter(([, s]) => s.type === 'integer');
    assert.deepEqual(inTable.map(([n]) => n).sort(), INTEGERS.map(([n]) => n).sort());
    for (const [name, min, max] of INTEGERS)
      assert.deepEqual(APP_SETTINGS[name as keyof typeof APP_SETTINGS].range, { min, max }, name);
  });

  for (const [name, min, max, , read] of INTEGERS) {
    it(`${name}: takes ${min} and ${max}, refuses one step beyond each`, () => {
      assert.equal(read(loadConfig({ ...base, [name]: String(min) })), min);
      assert.equal(read(loadConfig({ ...base, [name]: String(max) })), max);
      for (const bad of [min - 1, max + 1]) {
        const r = refusal({ ...base, [name]: String(bad) });
        assert.equal(r.variable, name);
        assert.equal(r.message, `${name}: must be between ${min} and ${max}, got ${bad}`);
      }
      assert.equal(refusal({ ...base, [name]: 'ten' }).message, `${name}: must be an integer, got "ten"`);
    });
  }

  it('applies each default, unset and empty alike', () => {
    for (const env of [base, Object.fromEntries(INTEGERS.map(([n]) => [n, '']))]) {
      const c = loadConfig({ ...env, ...base });
      for (const [name, , , fallback, read] of INTEGERS)
        if (fallback !== undefined) assert.equal(read(c), fallback, name);
      assert.ok(c.hashConcurrency >= 2);
    }
    for (const [name, , , fallback] of INTEGERS)
      if (name !== 'REDIS_WAIT_REPLICAS')
        assert.equal(APP_SETTINGS[name as keyof typeof APP_SETTINGS].default, fallback, name);
  });
});

describe('configuration table: other defaults and the documentation', () => {
  it('applies each default', () => {
    const c = loadConfig(base);
    for (const [name, fallback, read] of OTHER_DEFAULTS) {
      assert.deepEqual(read(c), fallback, name);
      assert.deepEqual(APP_SETTINGS[name as keyof typeof APP_SETTINGS].default, fallback, name);
    }
  });

  it('gives every variable a help line, and marks the secrets', () => {
    for (const [name, s] of Object.entries(APP_SETTINGS)) {
      assert.ok(s.help.length > 10, name);
      assert.equal(s.secret === true, /PASSWORD|SECRET/.test(name), name);
    }
  });

  it('docs/configuration.md is committed exactly as the tables write it', () => {
    assert.equal(
      readFileSync(DOC_PATH, 'utf8'),
      configurationDoc(),
      'docs/configuration.md differs from the tables: run "npm run docs:config"',
    );
    for (const name of Object.keys(APP_SETTINGS)) assert.ok(configurationDoc().includes(`| \`${name}\` |`));
  });
});
