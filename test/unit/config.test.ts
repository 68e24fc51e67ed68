// Over 300 lines: every configuration variable's parsing and refusal (16 cases, six groups) in one place.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readOperatorConfig } from '../../src/app/operator/config.ts';
import { ConfigError, loadConfig as loadAppConfig, secretWeakness } from '../../src/config/index.ts';

/** The app's configuration with the operator dashboard's beside it, as an instance with it on reads them. */
function loadConfig(env: Record<string, string | undefined>) {
  const app = loadAppConfig(env);
  const operator = readOperatorConfig({ OPERATOR_DASHBOARD: 'true', ...env }, app.env)!;
  return { ...app, operator, topology: operator.topology };
}

const SECRET = 'k3Jq9vX2mP8rT5wY1zA4bC7dE0fG6hL-';
const base = { REDIS_SENTINELS: '127.0.0.1:26380, 127.0.0.1:26381', SESSION_SECRET: SECRET };
const single = { REDIS_SENTINELS: '127.0.0.1:26380', SESSION_SECRET: SECRET };

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

function variableOf(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.ok(err.message.startsWith(`${err.variable}:`));
    return err.variable;
  }
  assert.fail('expected a ConfigError');
}

describe('configuration', () => {
  it('reads the defaults of the contract', () => {
    const c = loadConfig(base);
    assert.equal(c.port, 3001);
    assert.equal(c.sessionTtlSeconds, 600);
    assert.deepEqual(c.redis.target, {
      kind: 'sentinel',
      masterName: 'mymaster',
      sentinels: [
        { host: '127.0.0.1', port: 26380 },
        { host: '127.0.0.1', port: 26381 },
      ],
    });
    assert.equal(c.redis.waitReplicas, 1);
    assert.equal(
      loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', SESSION_SECRET: SECRET }).redis.waitReplicas,
      0,
    );
  });

  it('logs in to Redis as REDIS_USERNAME, or as the default user without one', () => {
    const c = loadConfig({
      ...base,
      REDIS_USERNAME: 'app',
      REDIS_PASSWORD: 'pw',
      REDIS_SENTINEL_PASSWORD: 'spw',
    });
    assert.deepEqual([c.redis.username, c.redis.password, c.redis.sentinelPassword], ['app', 'pw', 'spw']);
    const plain = loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', SESSION_SECRET: SECRET });
    assert.deepEqual([plain.redis.username, plain.redis.password], [undefined, undefined]);
  });

  it('names the variable that is wrong', () => {
    assert.equal(variableOf({ ...base, PORT: 'eighty' }), 'PORT');
    assert.equal(variableOf({ ...base, PORT: '70000' }), 'PORT');
    assert.equal(variableOf({ ...base, REDIS_SENTINELS: 'localhost' }), 'REDIS_SENTINELS');
    assert.equal(variableOf({ SESSION_SECRET: SECRET }), 'REDIS_SENTINELS');
    assert.equal(variableOf({ SESSION_SECRET: SECRET, REDIS_URL: 'http://x' }), 'REDIS_URL');
    assert.equal(variableOf({ ...base, COOKIE_SECURE: 'maybe' }), 'COOKIE_SECURE');
    assert.equal(variableOf({ ...base, SCRYPT_COST: '1000' }), 'SCRYPT_COST');
    assert.equal(variableOf({ ...base, LOG_LEVEL: 'loud' }), 'LOG_LEVEL');
    assert.equal(variableOf({ ...base, APP_ENV: 'staging' }), 'APP_ENV');
  });

  it('refuses a missing or weak secret outside development, generates one in development', () => {
    assert.equal(variableOf({ REDIS_SENTINELS: '127.0.0.1:1' }), 'SESSION_SECRET');
    assert.equal(variableOf({ ...base, SESSION_SECRET: 'short' }), 'SESSION_SECRET');
    assert.equal(variableOf({ ...base, SESSION_SECRET: 'a'.repeat(40) }), 'SESSION_SECRET');
    const dev = loadConfig({ REDIS_SENTINELS: '127.0.0.1:1', APP_ENV: 'development' });
    assert.ok(dev.sessionSecretGenerated);
    assert.ok(dev.sessionSecret.length >= 32);
  });

  it('reads the session lifetime, the rotation secret, the attempt limits and the hash slots', () => {
    const c = loadConfig(base);
    assert.equal(c.sessionMaxAgeSeconds, 43_200);
    assert.equal(c.sessionSecretPrevious, undefined);
    assert.equal(c.registerLimitPerIp, 10);
    assert.equal(c.registerLimitWindowSeconds, 3600);
    assert.equal(c.loginLimitPerEmail, 5);
    assert.equal(c.loginSlowdownAfter, 20);
    assert.equal(c.loginSlowdownMaxSeconds, 60);
    assert.ok(c.hashConcurrency >= 2);
    const previous = 'Zq8wX3vB6nM1kL4jH7gF0dS9aP2oI5uY';
    const set = loadConfig({
      ...base,
      SESSION_MAX_AGE_SECONDS: '3600',
      SESSION_SECRET_PREVIOUS: previous,
      REGISTER_LIMIT_PER_IP: '3',
      HASH_CONCURRENCY: '8',
    });
    assert.equal(set.sessionMaxAgeSeconds, 3600);
    assert.equal(set.sessionSecretPrevious, previous);
    assert.equal(set.registerLimitPerIp, 3);
    assert.equal(set.hashConcurrency, 8);
    assert.equal(variableOf({ ...base, SESSION_SECRET_PREVIOUS: 'short' }), 'SESSION_SECRET_PREVIOUS');
    assert.equal(variableOf({ ...base, SESSION_MAX_AGE_SECONDS: '0' }), 'SESSION_MAX_AGE_SECONDS');
    assert.equal(variableOf({ ...base, REGISTER_LIMIT_PER_IP: 'ten' }), 'REGISTER_LIMIT_PER_IP');
    assert.equal(variableOf({ ...base, HASH_CONCURRENCY: '1' }), 'HASH_CONCURRENCY');
    assert.equal(variableOf({ ...base, LOGIN_SLOWDOWN_MAX_SECONDS: '0' }), 'LOGIN_SLOWDOWN_MAX_SECONDS');
  });
});

describe('configuration: integers', () => {
  it('refuses what is not a whole number, and takes an empty value as unset', () => {
    for (const raw of ['1.5', '1e3', '0x10', 'ten', '--1', '1 2']) {
      const r = refusal({ ...base, PORT: raw });
      assert.equal(r.variable, 'PORT');
      assert.equal(r.message, `PORT: must be an integer, got "${raw}"`);
    }
    assert.equal(loadConfig({ ...base, PORT: ' 8080 ' }).port, 8080);
    assert.equal(loadConfig({ ...base, PORT: '' }).port, 3001);
    assert.equal(refusal({ ...base, NO_REPLICA_GRACE_MS: '-1' }).variable, 'NO_REPLICA_GRACE_MS');
  });

  it('takes a scrypt cost only as a power of two within its range', () => {
    assert.equal(loadConfig({ ...base, SCRYPT_COST: '1024' }).scryptCost, 1024);
    assert.equal(loadConfig({ ...base, SCRYPT_COST: '1048576' }).scryptCost, 1_048_576);
    assert.equal(refusal({ ...base, SCRYPT_COST: '3072' }).message, 'SCRYPT_COST: must be a power of two');
    assert.equal(refusal({ ...base, SCRYPT_COST: '512' }).variable, 'SCRYPT_COST');
  });
});

describe('configuration: switches and lists', () => {
  it('reads booleans in their usual spellings, case-insensitive', () => {
    for (const yes of ['1', 'true', 'TRUE', 'yes', 'On'])
      assert.equal(loadConfig({ ...base, COOKIE_SECURE: yes }).cookieSecure, true, yes);
    for (const no of ['0', 'false', 'No', 'off', ''])
      assert.equal(loadConfig({ ...base, COOKIE_SECURE: no }).cookieSecure, false, no);
    for (const bad of ['truey', 'y', 'enabled', ' true']) {
      const r = refusal({ ...base, COOKIE_SECURE: bad });
      assert.equal(r.message, `COOKIE_SECURE: must be true or false, got "${bad}"`);
    }
  });

  it('splits the trusted proxies, dropping blanks', () => {
    assert.deepEqual(loadConfig(base).trustProxy, [], 'nobody is believed unless named');
    assert.deepEqual(loadConfig({ ...base, TRUST_PROXY: ' 10.0.0.1 , ,10.0.0.2,' }).trustProxy, [
      '10.0.0.1',
      '10.0.0.2',
    ]);
  });

  it('reads host, instance id, log level and environment', () => {
    const c = loadConfig(base);
    assert.equal(c.env, 'production');
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.logLevel, 'info');
    assert.match(c.instanceId, /:3001$/);
    assert.equal(c.sessionSecret, SECRET);
    assert.equal(c.sessionSecretGenerated, false);
    const set = loadConfig({
      ...base,
      HOST: '0.0.0.0',
      INSTANCE_ID: 'app-2',
      LOG_LEVEL: 'silent',
      PORT: '4000',
    });
    assert.deepEqual(
      [set.host, set.instanceId, set.logLevel, set.port],
      ['0.0.0.0', 'app-2', 'silent', 4000],
    );
    for (const level of ['fatal', 'error', 'warn', 'debug', 'trace'])
      assert.equal(loadConfig({ ...base, LOG_LEVEL: level }).logLevel, level);
    assert.equal(refusal({ ...base, LOG_LEVEL: 'verbose' }).message, 'LOG_LEVEL: unknown level "verbose"');
    assert.equal(
      refusal({ ...base, APP_ENV: 'test' }).message,
      'APP_ENV: must be production or development, got "test"',
    );
  });
});

describe('configuration: Redis addresses', () => {
  it('parses host:port, with brackets for IPv6, and refuses ports out of range', () => {
    const c = loadConfig({ ...base, REDIS_SENTINELS: ' a.example:1 ,[::1]:65535,, 10.0.0.3:26379 ' });
    assert.deepEqual(c.redis.target, {
      kind: 'sentinel',
      masterName: 'mymaster',
      sentinels: [
        { host: 'a.example', port: 1 },
        { host: '::1', port: 65535 },
        { host: '10.0.0.3', port: 26379 },
      ],
    });
    for (const bad of ['a:0', 'a:65536', 'a:123456', ':26379', 'a', 'a:port', 'a:-1']) {
      const r = refusal({ ...base, REDIS_SENTINELS: bad });
      assert.equal(r.variable, 'REDIS_SENTINELS', bad);
      assert.equal(r.message, `REDIS_SENTINELS: "${bad}" is not host:port`);
    }
    assert.equal(refusal({ ...base, REDIS_SENTINELS: ' , ' }).message, 'REDIS_SENTINELS: lists no sentinel');
  });

  it('validates the master name and the Redis URL', () => {
    assert.deepEqual(loadConfig({ ...single, REDIS_MASTER_NAME: 'Main_1.a-b' }).redis.target, {
      kind: 'sentinel',
      masterName: 'Main_1.a-b',
      sentinels: [{ host: '127.0.0.1', port: 26380 }],
    });
    assert.equal(
      loadConfig({ ...single, REDIS_MASTER_NAME: 'x'.repeat(64) }).topology.masterName,
      'x'.repeat(64),
    );
    for (const bad of ['my master', 'x'.repeat(65), 'a/b']) {
      const r = refusal({ ...single, REDIS_MASTER_NAME: bad });
      assert.equal(r.message, `REDIS_MASTER_NAME: "${bad}" is not a valid master name`);
    }
    const url = { SESSION_SECRET: SECRET };
    assert.deepEqual(loadConfig({ ...url, REDIS_URL: 'rediss://h:6380' }).redis.target, {
      kind: 'url',
      url: 'rediss://h:6380',
    });
    assert.equal(
      refusal({ ...url, REDIS_URL: 'http://h:6379' }).message,
      'REDIS_URL: must start with redis:// or rediss://',
    );
    assert.equal(refusal({ ...url, REDIS_URL: 'xredis://h' }).variable, 'REDIS_URL');
    assert.equal(refusal({ ...url, REDIS_URL: 'redis://[bad' }).message, 'REDIS_URL: is not a valid URL');
    // Sentinels win over a URL when both are set.
    assert.equal(loadConfig({ ...single, REDIS_URL: 'redis://h' }).redis.target.kind, 'sentinel');
  });
});

describe('configuration: secrets', () => {
  it('says what is weak in a secret', () => {
    assert.equal(secretWeakness('a1b2c3d4e5'.repeat(3)), 'must be at least 32 characters');
    assert.equal(secretWeakness('abcdefghi'.repeat(4)), 'has too few distinct characters');
    assert.equal(secretWeakness(`changeme${'a1b2c3d4e5f6'.repeat(3)}`), 'looks like a placeholder');
    assert.equal(secretWeakness(`Change_Me${'a1b2c3d4e5f6'.repeat(3)}`), 'looks like a placeholder');
    assert.equal(secretWeakness(`password${'a1b2c3d4e5f6'.repeat(3)}`), 'looks like a placeholder');
    assert.equal(secretWeakness(`x-secret${'a1b2c3d4e5f6'.repeat(3)}`), undefined);
    // Exactly 32 characters, exactly 10 distinct: strong enough.
    assert.equal(secretWeakness(`${'0123456789'.repeat(3)}01`), undefined);
    assert.equal(secretWeakness(SECRET), undefined);
  });

  it('accepts weak secrets in development only, and says which one is weak', () => {
    const weak = 'short';
    const dev = loadConfig({
      ...base,
      APP_ENV: 'development',
      SESSION_SECRET: weak,
      SESSION_SECRET_PREVIOUS: weak,
      HAPROXY_OPERATOR_PASSWORD: weak,
      HAPROXY_OPERATOR_PASSWORD_PREVIOUS: weak,
    });
    assert.equal(dev.env, 'development');
    assert.equal(dev.sessionSecret, weak);
    assert.equal(dev.sessionSecretGenerated, false);
    assert.equal(dev.operator.password, weak);
    assert.equal(
      refusal({ ...base, SESSION_SECRET: weak }).message,
      'SESSION_SECRET: must be at least 32 characters',
    );
    assert.equal(
      refusal({ ...base, HAPROXY_OPERATOR_PASSWORD: weak }).message,
      'HAPROXY_OPERATOR_PASSWORD: must be at least 32 characters',
    );
    assert.match(refusal({ REDIS_SENTINELS: '127.0.0.1:1' }).message, /^SESSION_SECRET: is required/);
    const generated = loadConfig({ REDIS_SENTINELS: '127.0.0.1:1', APP_ENV: 'development' });
    assert.notEqual(
      generated.sessionSecret,
      loadConfig({ REDIS_SENTINELS: '127.0.0.1:1', APP_ENV: 'development' }).sessionSecret,
    );
    assert.match(generated.sessionSecret, /^[A-Za-z0-9_-]{43}$/);
  });
});

describe('host:port items that are not addresses', () => {
  const base = { APP_ENV: 'development', SESSION_SECRET: 'x'.repeat(32) };
  for (const bad of [
    '[]:1',
    '[:1',
    'a]:1',
    '=10.0.0.1:6379',
    'a b:1',
    '-a:1',
    'a-:1',
    '::1:6379',
    '[x]:1',
    'a:0',
  ]) {
    it(`refuses ${JSON.stringify(bad)} in REDIS_SENTINELS and in a node list`, () => {
      assert.throws(() => loadConfig({ ...base, REDIS_SENTINELS: bad }), /REDIS_SENTINELS.*not host:port/);
      assert.throws(
        () => loadConfig({ ...base, REDIS_URL: 'redis://127.0.0.1:6379', TOPOLOGY_REDIS_NODES: bad }),
        /TOPOLOGY_REDIS_NODES.*not host:port/,
      );
    });
  }
  it('keeps names, IPv4, IPv6 and zones', () => {
    const c = loadConfig({
      ...base,
      REDIS_SENTINELS: 'redis-sentinel-1:26379,10.0.0.1:1,[fe80::1%eth0]:2,[::1]:3',
    });
    const target = c.redis.target;
    assert.equal(target.kind, 'sentinel');
    assert.deepEqual(target.kind === 'sentinel' ? target.sentinels.map((s) => `${s.host}/${s.port}`) : [], [
      'redis-sentinel-1/26379',
      '10.0.0.1/1',
      'fe80::1%eth0/2',
      '::1/3',
    ]);
  });
});
