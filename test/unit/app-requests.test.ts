import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BuiltApp } from '../../src/app/app.ts';
import {
  operatorAuth as auth,
  OFFLINE_ENV as BASE,
  buildOffline,
  healthOnly,
  OPERATOR_PASSWORD as PASSWORD,
} from '../helpers/offline-app.ts';

/** Answers /readyz as a master without replicas would; nothing here reaches any other part of it. */
const redis = healthOnly({ mode: 'read-only', serving: 'master', replicasOfMaster: 0 });

const build = (env: Record<string, string>): Promise<BuiltApp> => buildOffline(env, redis);

describe('requests the app refuses or answers briefly, without Redis', () => {
  let built: BuiltApp;
  let open: BuiltApp;
  before(async () => {
    built = await build({ ...BASE, HAPROXY_OPERATOR_PASSWORD: PASSWORD });
    open = await build(BASE);
  });
  after(async () => {
    await built.app.close();
    await open.app.close();
  });

  it('refuses a body that is not JSON on the API however its path is spelled (the route, not the raw URL)', async () => {
    for (const url of ['/api/login', '/%61pi/login', '/%61%70%69/register', '/api/%6cogin']) {
      const res = await built.app.inject({
        method: 'POST',
        url,
        headers: { 'content-type': 'text/plain' },
        payload: JSON.stringify({ email: 'a@b.co', password: 'x' }),
      });
      assert.equal(res.statusCode, 415, url);
      assert.deepEqual(res.json(), {
        error: 'unsupported_media_type',
        message: 'send the body as application/json',
        field: 'content-type',
      });
    }
  });

  it('tells anyone on /readyz only whether the instance is ready; the operator gets the details', async () => {
    const pub = await built.app.inject('/readyz');
    assert.equal(pub.statusCode, 200);
    assert.deepEqual(pub.json(), { ready: true });
    const wrong = { authorization: `Basic ${Buffer.from('operator:guess').toString('base64')}` };
    assert.deepEqual((await built.app.inject({ url: '/readyz', headers: wrong })).json(), { ready: true });
    const op = (await built.app.inject({ url: '/readyz', headers: auth })).json();
    assert.equal(op.mode, 'read-only');
    assert.equal(op.replicasOfMaster, 0);
    assert.equal(op.redis, 'master');
    assert.equal(op.instance, 'app-t');
    // Without an operator password configured, the views are open, and so are these details.
    assert.equal((await open.app.inject('/readyz')).json().mode, 'read-only');
  });

  it('documents the 409 of a taken email on /api/register', async () => {
    const doc = (await built.app.inject('/api/openapi.json')).json();
    const conflict = doc.paths['/api/register'].post.responses['409'];
    assert.match(conflict.description, /already registered/);
    assert.deepEqual(conflict.content['application/json'].schema.required, ['error', 'message']);
    assert.equal(doc.paths['/api/login'].post.responses['409'], undefined);
  });
});
