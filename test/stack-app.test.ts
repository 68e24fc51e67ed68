import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Stack } from '../src/stack/process/supervisor.ts';
import { Client } from './helpers/http.ts';
import { startTestStack } from './helpers/stack.ts';

let stack: Stack;

before(async () => {
  stack = await startTestStack('stack-app');
});
after(async () => {
  await stack?.stop();
});

describe('the web app behind HAProxy on the real stack', () => {
  it('alternates instances over one session', async () => {
    const c = new Client(stack.frontUrl);
    const email = 'through-proxy@example.org';
    const reg = await c.request('POST', '/api/register', { json: { email, password: 'proxy-pass-1' } });
    assert.equal(reg.status, 201);
    const login = await c.request('POST', '/api/login', { json: { email, password: 'proxy-pass-1' } });
    assert.equal(login.status, 200);
    const token = String(login.json()['csrfToken']);
    const put = await c.request('PUT', '/api/cart', {
      json: { items: { dock: 3 } },
      headers: { 'x-csrf-token': token },
    });
    assert.equal(put.status, 200);
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await c.get('/api/cart');
      assert.equal(res.status, 200);
      assert.equal((res.json()['items'] as Record<string, number>)['dock'], 3);
      seen.push(res.headers.get('x-instance') ?? '');
    }
    for (let i = 1; i < seen.length; i++)
      assert.notEqual(seen[i], seen[i - 1], `round robin: ${seen.join(' ')}`);
    assert.deepEqual([...new Set(seen)].sort(), ['app-1', 'app-2']);
  });
});
