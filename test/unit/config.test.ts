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
});
