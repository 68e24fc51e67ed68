import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, secretWeakness } from '../../src/config/index.ts';

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

describe('configuration: integer ranges', () => {
  it('accepts both bounds of a range and refuses one step beyond each', () => {
    const ranges: [string, number, number, (c: ReturnType<typeof loadConfig>) => number][] = [
      ['PORT', 0, 65535, (c) => c.port],
      ['SESSION_TTL_SECONDS', 10, 86_400, (c) => c.sessionTtlSeconds],
      ['BODY_LIMIT_BYTES', 1024, 10_485_760, (c) => c.bodyLimitBytes],
      ['LOGIN_LIMIT_PER_IP', 1, 100_000, (c) => c.loginLimitPerIp],
      ['LOGIN_LIMIT_WINDOW_SECONDS', 1, 86_400, (c) => c.loginLimitWindowSeconds],
      ['REDIS_WAIT_REPLICAS', 0, 16, (c) => c.redis.waitReplicas],
      ['REDIS_WAIT_TIMEOUT_MS', 10, 60_000, (c) => c.redis.waitTimeoutMs],
      ['WRITE_DEADLINE_MS', 100, 120_000, (c) => c.redis.writeDeadlineMs],
      ['READ_FALLBACK_MS', 10, 10_000, (c) => c.redis.readFallbackMs],
      ['NO_REPLICA_GRACE_MS', 0, 120_000, (c) => c.redis.noReplicaGraceMs],
      ['REDIS_CONNECT_TIMEOUT_MS', 100, 60_000, (c) => c.redis.connectTimeoutMs],
      ['SHUTDOWN_GRACE_MS', 0, 120_000, (c) => c.shutdownGraceMs],
      ['SHUTDOWN_DRAIN_MS', 0, 60_000, (c) => c.shutdownDrainMs],
      ['HASH_CONCURRENCY', 2, 256, (c) => c.hashConcurrency],
    ];
    for (const [name, min, max, read] of ranges) {
      assert.equal(read(loadConfig({ ...base, [name]: String(min) })), min, `${name}=${min}`);
      assert.equal(read(loadConfig({ ...base, [name]: String(max) })), max, `${name}=${max}`);
      for (const bad of [min - 1, max + 1]) {
        const r = refusal({ ...base, [name]: String(bad) });
        assert.equal(r.variable, name);
        assert.equal(r.message, `${name}: must be between ${min} and ${max}, got ${bad}`);
      }
    }
  });

  it('reads the defaults of the Redis timings', () => {
    const c = loadConfig(base);
    assert.deepEqual(
      [
        c.redis.waitTimeoutMs,
        c.redis.writeDeadlineMs,
        c.redis.readFallbackMs,
        c.redis.noReplicaGraceMs,
        c.redis.connectTimeoutMs,
      ],
      [500, 6000, 150, 2000, 1000],
    );
    assert.deepEqual(
      [c.shutdownGraceMs, c.shutdownDrainMs, c.bodyLimitBytes, c.loginLimitPerIp, c.loginLimitWindowSeconds],
      [10_000, 2500, 16_384, 30, 900],
    );
    assert.equal(c.scryptCost, 16_384);
  });

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
    assert.deepEqual(loadConfig(base).trustProxy, ['127.0.0.1', '::1']);
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
    assert.deepEqual(loadConfig({ ...base, REDIS_MASTER_NAME: 'Main_1.a-b' }).redis.target, {
      kind: 'sentinel',
      masterName: 'Main_1.a-b',
      sentinels: [{ host: '127.0.0.1', port: 26380 }],
    });
    for (const bad of ['my master', 'x'.repeat(65), 'a/b']) {
      const r = refusal({ ...base, REDIS_MASTER_NAME: bad });
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
    assert.equal(loadConfig({ ...base, REDIS_URL: 'redis://h' }).redis.target.kind, 'sentinel');
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
    });
    assert.equal(dev.env, 'development');
    assert.equal(dev.sessionSecret, weak);
    assert.equal(dev.sessionSecretGenerated, false);
    assert.equal(
      refusal({ ...base, SESSION_SECRET: weak }).message,
      'SESSION_SECRET: must be at least 32 characters',
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
    it(`refuses ${JSON.stringify(bad)} in REDIS_SENTINELS`, () => {
      assert.throws(() => loadConfig({ ...base, REDIS_SENTINELS: bad }), /REDIS_SENTINELS.*not host:port/);
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
