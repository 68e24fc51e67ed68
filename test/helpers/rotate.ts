import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { operatorAuthorization } from '../../src/ha/probes.ts';
import type { Stack } from '../../src/ops/supervisor/supervisor.ts';
import { Client } from './http.ts';

export const PASSWORD = 'sup3r-secret-pass';

/** A user registered and logged in through HAProxy's front: its cookie header and CSRF token. */
export async function loggedIn(
  stack: Stack,
  tag: string,
): Promise<{ c: Client; cookie: string; token: string }> {
  const c = new Client(stack.frontUrl);
  const email = `rotate-${tag}-${Date.now()}@example.test`;
  assert.equal(
    (await c.request('POST', '/api/register', { json: { email, password: PASSWORD } })).status,
    201,
  );
  const res = await c.request('POST', '/api/login', { json: { email, password: PASSWORD } });
  assert.equal(res.status, 200);
  return { c, cookie: c.cookieHeader(), token: String(res.json()['csrfToken']) };
}

/** `GET /api/cart` with one fixed cookie every ~50 ms until stopped: every status seen. */
export function reader(stack: Stack, cookie: string) {
  const statuses: (number | string)[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      const t0 = Date.now();
      try {
        const res = await fetch(`${stack.frontUrl}/api/cart`, {
          headers: { cookie, accept: 'application/json' },
          signal: AbortSignal.timeout(5000),
        });
        const body = await res.text();
        // A failure keeps the start of its body: which part answered (HAProxy's page, the app's error).
        statuses.push(res.status === 200 ? 200 : `${res.status} ${body.slice(0, 120)}`);
      } catch (err) {
        statuses.push(err instanceof Error ? err.message : String(err));
      }
      const wait = 50 - (Date.now() - t0);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  })();
  return {
    statuses,
    stop: async () => {
      running = false;
      await done;
      return statuses;
    },
  };
}

export function assertAllOk(statuses: (number | string)[]) {
  assert.ok(statuses.length > 20, `only ${statuses.length} reads`);
  const bad = statuses.filter((s) => s !== 200);
  assert.deepEqual(bad, [], `${bad.length} of ${statuses.length} reads failed`);
}

/** The first line of Redis's answer to `AUTH user password` on a fresh connection. */
export function auth(host: string, port: number, user: string, password: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port });
    let text = '';
    sock.setTimeout(3000, () => sock.destroy(new Error('no answer to AUTH')));
    sock.on('error', reject);
    sock.on('data', (d) => {
      text += d.toString();
      const eol = text.indexOf('\r\n');
      if (eol >= 0) {
        sock.end();
        resolve(text.slice(0, eol));
      }
    });
    sock.write(user ? `AUTH ${user} ${password}\r\n` : `AUTH ${password}\r\n`);
  });
}

/** `AUTH password` on a Sentinel (its `requirepass`). */
export function sentinelAuth(host: string, port: number, password: string): Promise<string> {
  return auth(host, port, '', password);
}

/** GET on the operator front (or an app, `base`) as user operator; the status. */
export async function operatorGet(stack: Stack, path: string, password: string, base?: string) {
  const res = await fetch(`${base ?? stack.statsUrl.replace(/\/stats$/, '')}${path}`, {
    headers: { authorization: operatorAuthorization(password) },
    signal: AbortSignal.timeout(5000),
  });
  await res.arrayBuffer();
  return res.status;
}

/** The environment a running app process was started with (/proc/<pid>/environ). */
export function processEnv(stack: Stack, name: string): Record<string, string> {
  const pid = stack.process(name).pid;
  assert.ok(pid, `${name} runs`);
  const pairs = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
  return Object.fromEntries(pairs.map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]));
}

export function mode(file: string): number {
  return statSync(file).mode & 0o777;
}
