import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify from 'fastify';
import type { BuiltApp } from '../../src/app/app.ts';
import { readOperatorConfig } from '../../src/app/operator/config.ts';
import { operatorDashboard } from '../../src/app/operator/plugin.ts';
import {
  operatorAuth as auth,
  OFFLINE_ENV as BASE,
  buildOffline,
  healthOnly,
  OPERATOR_PASSWORD as PASSWORD,
} from '../helpers/offline-app.ts';

const OPERATOR_ROUTES = ['/topology', '/api/topology', '/api/topology/stream', '/static/topology.js'];

/** Answers /readyz as a healthy master would; the routes under test touch nothing else of it. */
const redis = healthOnly({ mode: 'healthy', serving: 'master', replicasOfMaster: 1 });

const build = (env: Record<string, string>): Promise<BuiltApp> => buildOffline(env, redis);

const openApiPaths = async (built: BuiltApp) =>
  Object.keys((await built.app.inject('/api/openapi.json')).json().paths).sort();

describe('the app without the operator dashboard', () => {
  let built: BuiltApp;
  before(async () => {
    built = await build(BASE);
  });
  after(() => built.app.close());

  it('starts with no operator setting in its configuration', () => {
    const config = built.deps.config as unknown as Record<string, unknown>;
    assert.equal(config['operator'], undefined);
    assert.equal(config['topology'], undefined);
    assert.doesNotMatch(JSON.stringify(config), /operator|topology|haproxy/i);
  });

  it('answers 404 on the dashboard routes, with or without credentials', async () => {
    for (const url of OPERATOR_ROUTES) {
      assert.equal((await built.app.inject(url)).statusCode, 404, url);
      assert.equal((await built.app.inject({ url, headers: auth })).statusCode, 404, url);
    }
  });

  it('keeps /healthz, /readyz and /metrics (open: there is no operator password to ask for)', async () => {
    assert.equal((await built.app.inject('/healthz')).statusCode, 200);
    assert.equal((await built.app.inject('/readyz')).json().ready, true);
    const metrics = await built.app.inject('/metrics');
    assert.equal(metrics.statusCode, 200);
    assert.match(metrics.body, /^http_requests_total\{/m);
    assert.doesNotMatch(metrics.body, /topology_/);
  });
});

describe('the app with the operator dashboard', () => {
  let built: BuiltApp;
  let without: BuiltApp;
  before(async () => {
    built = await build({ ...BASE, HAPROXY_OPERATOR_PASSWORD: PASSWORD });
    without = await build(BASE);
  });
  after(async () => {
    await built.app.close();
    await without.app.close();
  });

  it('serves the dashboard to the operator only', async () => {
    for (const url of ['/topology', '/api/topology']) {
      assert.equal((await built.app.inject(url)).statusCode, 404, url);
      assert.equal((await built.app.inject({ url, headers: auth })).statusCode, 200, url);
    }
    const page = await built.app.inject({ url: '/topology', headers: auth });
    assert.match(page.headers['content-type'] as string, /^text\/html/);
    assert.match(page.body, /<script src="\/static\/topology\.js"/);
    const snapshot = (await built.app.inject({ url: '/api/topology', headers: auth })).json();
    assert.equal(snapshot.observer, 'app-t');
    assert.equal((await built.app.inject('/static/topology.js')).statusCode, 200);
  });

  it('asks for the operator password on /metrics too, and counts its streams there', async () => {
    assert.equal((await built.app.inject('/metrics')).statusCode, 404);
    const metrics = await built.app.inject({ url: '/metrics', headers: auth });
    assert.equal(metrics.statusCode, 200);
    assert.match(metrics.body, /^topology_streams\{instance_id="app-t"\} 0$/m);
    assert.equal((await built.app.inject('/healthz')).statusCode, 200);
  });

  it('leaves the API document as it is: the operator routes are not the public API', async () => {
    const paths = await openApiPaths(built);
    assert.deepEqual(paths, await openApiPaths(without));
    assert.ok(paths.includes('/api/cart'));
    assert.ok(!paths.some((p) => p.startsWith('/api/topology')));
  });
});

describe('the dashboard plugin on its own', () => {
  it('refuses to start without the operator access it depends on', async () => {
    const app = Fastify();
    const built = await build(BASE);
    const operator = readOperatorConfig({ OPERATOR_DASHBOARD: 'true' }, 'production')!;
    await assert.rejects(
      async () => {
        await app.register(operatorDashboard, { deps: built.deps, config: operator });
      },
      (err: Error & { code?: string }) =>
        /^FST_ERR_PLUGIN_(DEPENDENCY_NOT_REGISTERED|NOT_PRESENT_IN_INSTANCE)$/.test(err.code ?? '') &&
        /operator-access|operatorOnly/.test(err.message),
    );
    await app.close();
    await built.app.close();
  });
});
