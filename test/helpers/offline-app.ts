/** The app as src/server.ts builds it from an environment, with a Redis layer that only answers /readyz. */
import { type BuiltApp, buildApp } from '../../src/app/app.ts';
import { readOperatorConfig } from '../../src/app/operator/config.ts';
import { loadConfig } from '../../src/config/index.ts';
import type { RedisLayer } from '../../src/ha/index.ts';

export const OPERATOR_PASSWORD = 'Op3rat0r-Pa55w0rd-0123456789abcdefgh';
export const OFFLINE_ENV = {
  REDIS_URL: 'redis://127.0.0.1:1',
  SESSION_SECRET: 'k3Jq9vX2mP8rT5wY1zA4bC7dE0fG6hL-',
  INSTANCE_ID: 'app-t',
  LOG_LEVEL: 'silent',
};
export const operatorAuth = {
  authorization: `Basic ${Buffer.from(`operator:${OPERATOR_PASSWORD}`).toString('base64')}`,
};

/** A Redis layer whose health is `health`; the routes under test touch nothing else of it. */
export const healthOnly = (health: { mode: string; serving: string; replicasOfMaster: number }): RedisLayer =>
  ({ health: async () => health }) as unknown as RedisLayer;

export async function buildOffline(env: Record<string, string>, redis: RedisLayer): Promise<BuiltApp> {
  const config = loadConfig(env);
  return buildApp(config, { redis, operator: readOperatorConfig(env, config.env) });
}
