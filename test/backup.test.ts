// The backup drill on one real stack: carts and accounts written, backed up from a replica,
// wiped (FLUSHALL through the operator user), restored with the site closed, every one back; a
// backup during a failover refused rather than half; a restore without confirmation refused.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { BACKUP_LAST_GOOD_KEY } from '../src/ha/keys.ts';
import { haproxyGate } from '../src/ops/backup/maintenance.ts';
import type { Manifest } from '../src/ops/backup/manifest.ts';
import { restoreBackup } from '../src/ops/backup/restore.ts';
import { BackupRefused, takeBackup } from '../src/ops/backup/take.ts';
import { plannedFailover } from '../src/ops/failover.ts';
import { REPO_ROOT, type Stack } from '../src/ops/supervisor/supervisor.ts';
import { waitFor } from '../src/ops/supervisor/wait.ts';
import { Client } from './helpers/http.ts';
import { masterClient, startTestStack, tempDirs } from './helpers/stack.ts';

const N = 300;
const tmp = tempDirs();
let stack: Stack;
let dir: string;
const email = (i: number) => `drill-${i}@backup.test`;
const cartOf = (i: number) => ({ keyboard: String(1 + (i % 5)), dock: String(1 + (i % 3)) });

before(async () => {
  stack = await startTestStack('backup', { apps: 1 });
  dir = join(tmp('backup-dir'), 'backups');
});
after(async () => {
  await stack?.stop();
});

async function withMaster<T>(fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = await masterClient(stack);
  try {
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

/** Every account and cart of the drill, as the master holds them now. */
function readAll(): Promise<Record<string, string>[]> {
  return withMaster(async (r) => {
    const p = r.pipeline();
    for (let i = 0; i < N; i++) p.hgetall(`user:{${email(i)}}`).hgetall(`cart:{${email(i)}}`);
    return ((await p.exec()) ?? []).map(([err, v]) => {
      if (err) throw err;
      return v as Record<string, string>;
    });
  });
}

const api = () => new Client(stack.frontUrl);
const gate = () => haproxyGate(join(stack.run.nodeDir('haproxy'), 'admin.sock'), ['app-1']);

describe('backup and restore drill', () => {
  let manifest: Manifest;
  let written: Record<string, string>[];
  let shopper: Client;

  it('backs up the accounts and carts from a replica, checked, with a manifest, files 0600 in a 0700 folder', async () => {
    shopper = api();
    assert.equal(
      (
        await shopper.request('POST', '/api/register', {
          json: { email: 'shopper@backup.test', password: 'correct horse battery' },
        })
      ).status,
      201,
    );
    const login = await shopper.request('POST', '/api/login', {
      json: { email: 'shopper@backup.test', password: 'correct horse battery' },
    });
    assert.equal(login.status, 200, login.text);
    const headers = { 'x-csrf-token': String(login.json()['csrfToken']) };
    const put = await shopper.request('PUT', '/api/cart', {
      json: { items: { mouse: 4, webcam: 2 } },
      headers,
    });
    assert.equal(put.status, 200, put.text);
    await withMaster(async (r) => {
      const p = r.pipeline();
      for (let i = 0; i < N; i++) {
        p.hset(`user:{${email(i)}}`, {
          email: email(i),
          password: `hash-${i}`,
          created: String(i),
          gen: 'g',
        });
        p.hset(`cart:{${email(i)}}`, cartOf(i));
      }
      await p.exec();
      await r.call('WAIT', '2', '5000');
    });
    written = await readAll();
    const master = await stack.currentMaster();
    manifest = await takeBackup(stack, { dir });
    assert.notEqual(manifest.source.node, master!.name, 'taken from a replica');
    assert.equal(manifest.counts.accounts, N + 1);
    assert.equal(manifest.counts.carts, N + 1);
    assert.ok(manifest.counts.sessions >= 1, 'the shopper is logged in');
    assert.match(manifest.rdb.sha256, /^[0-9a-f]{64}$/);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    for (const f of readdirSync(dir)) assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f);
    assert.deepEqual(readdirSync(dir).sort(), [`${manifest.id}.json`, `${manifest.id}.rdb`]);
    // The apps learn its time from the one key their user may read.
    const metrics = await fetch(new URL('/metrics/app-1', stack.statsUrl), {
      headers: {
        authorization: `Basic ${Buffer.from(`operator:${stack.operatorPassword}`).toString('base64')}`,
      },
    }).then((r) => r.text());
    const seconds = Math.floor(Date.parse(manifest.time) / 1000);
    assert.match(
      metrics,
      new RegExp(`^backup_last_good_timestamp_seconds\\{instance_id="app-1"\\} ${seconds}$`, 'm'),
    );
  });

  it('refuses a restore without confirmation when no terminal can ask', async () => {
    const cli = spawnSync(
      process.execPath,
      [join(REPO_ROOT, 'bin/ha-stack.js'), 'restore', join(dir, `${manifest.id}.json`)],
      {
        env: { ...process.env, HA_STACK_RUN_DIR: stack.run.dir },
        stdio: ['pipe', 'pipe', 'pipe'],
        encoding: 'utf8',
      },
    );
    assert.equal(cli.status, 1, cli.stderr);
    assert.match(cli.stderr, /refused without --yes/);
  });

  it('after a FLUSHALL, restores every account and cart with the site closed meanwhile', async () => {
    await withMaster((r) => r.call('FLUSHALL'));
    assert.equal((await readAll()).filter((h) => Object.keys(h).length > 0).length, 0);
    const seen: { status: number; body: string }[] = [];
    const real = gate();
    const result = await restoreBackup(stack, {
      backup: manifest.id,
      dir,
      withoutSessions: false,
      gate: {
        close: async () => {
          await real.close();
          const res = await fetch(`${stack.frontUrl}/get`);
          seen.push({ status: res.status, body: await res.text() });
        },
        open: () => real.open(),
      },
    });
    assert.deepEqual(
      seen.map((s) => s.status),
      [503],
    );
    assert.match(seen[0]!.body, /Back in a minute/);
    assert.equal(result.counts.accounts, N + 1);
    assert.deepEqual(await readAll(), written);
    for (let i = 0; i < N; i++) assert.deepEqual(written[2 * i + 1], cartOf(i));
    // The shopper's session came back: the site is open and the cart is there.
    await waitFor(
      'the site to open again',
      async () => (await fetch(`${stack.frontUrl}/readyz`)).status === 200,
    );
    const cart = await shopper.get('/api/cart');
    assert.equal(cart.status, 200, cart.text);
    const items = cart.json()['items'] as Record<string, number>;
    assert.deepEqual([items['mouse'], items['webcam'], items['keyboard']], [4, 2, 0]);
  });

  it('refuses a backup whose replica changed master during the copy, and writes nothing', async () => {
    const before = readdirSync(dir).sort();
    await assert.rejects(
      takeBackup(stack, { dir, afterCopy: async () => void (await plannedFailover(stack)) }),
      (err: Error) => err instanceof BackupRefused && /master changed during the copy/.test(err.message),
    );
    assert.deepEqual(readdirSync(dir).sort(), before, 'no file left behind');
    // Once the failover is over, a backup is whole again.
    const again = await takeBackup(stack, { dir });
    assert.equal(again.counts.accounts, N + 1);
    assert.equal(again.counts.carts, N + 1);
  });

  it('restores without sessions when asked', async () => {
    await restoreBackup(stack, { backup: manifest.id, dir, withoutSessions: true, gate: gate() });
    assert.deepEqual(await readAll(), written);
    const sessions = await withMaster((r) => r.keys('sess:*'));
    assert.deepEqual(sessions, []);
    assert.ok(await withMaster((r) => r.get(BACKUP_LAST_GOOD_KEY)));
  });
});
