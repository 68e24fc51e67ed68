import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/index.ts';

const SECRET = 'k3Jq9vX2mP8rT5wY1zA4bC7dE0fG6hL-';
const base = { REDIS_SENTINELS: '127.0.0.1:26380, 127.0.0.1:26381', SESSION_SECRET: SECRET };

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
