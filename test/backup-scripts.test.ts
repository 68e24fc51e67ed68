// deploy/scripts/redis-backup.sh and redis-restore.sh (compose's backup and restore services, the
// Kubernetes backup component) against real Valkey nodes and a Sentinel on loopback, with the
// ACL users of the stack: the backup logs in as `backup` with its very rules (the replication
// stream, and SET of the last good backup's time on the master), the Sentinel as `reader`. The retention of the script equals `ha-stack`'s (manifest.ts toPrune).
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BACKUP_LAST_GOOD_KEY } from '../src/ha/keys.ts';
import { toPrune } from '../src/ops/backup/manifest.ts';
import { ACL_RULES, sentinelReaderLine } from '../src/ops/render/acl.ts';
import { freePort } from '../src/ops/supervisor/ports.ts';
import { waitFor } from '../src/ops/supervisor/wait.ts';
import { tempDirs } from './helpers/stack.ts';

const SCRIPTS = fileURLToPath(new URL('../deploy/scripts/', import.meta.url));
const tempDir = tempDirs();
const PASS = {
  REDIS_REPLICATION_PASSWORD: 'test-replication-password-0123456789ab',
  REDIS_BACKUP_PASSWORD: 'test-backup-password-0123456789abcdefgh',
  REDIS_OPERATOR_PASSWORD: 'test-operator-password-0123456789abcdef',
  SENTINEL_READER_PASSWORD: 'test-sentinel-reader-password-01234567',
};

async function run(cmd: string, args: string[], env: Record<string, string> = {}, input?: string) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(
      cmd,
      args,
      { env: { PATH: process.env['PATH'] ?? '', ...env }, timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

/** Valkey's programs where installed (the compose image's server), Redis's otherwise: the scripts take either. */
const SERVER = existsSync('/usr/bin/valkey-server')
  ? { server: 'valkey-server', sentinel: 'valkey-sentinel', cli: 'valkey-cli' }
  : { server: 'redis-server', sentinel: 'redis-sentinel', cli: 'redis-cli' };

describe('redis-backup.sh --plan-prune: the retention of `ha-stack backup`', () => {
  it('deletes exactly what toPrune deletes, for many histories and settings', async () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let round = 0; round < 40; round++) {
      const now = Date.UTC(2026, 11, 6, 3, 0, 0);
      const times = new Set<number>();
      const n = 1 + Math.floor(random() * 60);
      for (let i = 0; i < n; i++) times.add(now - Math.floor(random() * 10 * 24 * 3600) * 1000);
      const backups = [...times].map((t) => {
        const time = new Date(t).toISOString().replace(/\.\d+Z$/, 'Z');
        return { id: `backup-${time.replace(/[-:]/g, '')}`, time };
      });
      const hourly = Math.floor(random() * 30);
      const daily = Math.floor(random() * 10);
      const ids = backups
        .map((b) => b.id)
        .sort()
        .reverse();
      const r = await run(
        'sh',
        [join(SCRIPTS, 'redis-backup.sh'), '--plan-prune', String(hourly), String(daily)],
        {},
        `${ids.join('\n')}\n`,
      );
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(
        r.stdout.split('\n').filter(Boolean).sort(),
        toPrune(backups, hourly, daily).sort(),
        `round ${round}: ${hourly} hourly, ${daily} daily`,
      );
    }
  });
});

describe('redis-backup.sh and redis-restore.sh against a real server and a Sentinel', () => {
  const procs: ChildProcess[] = [];
  const port = { master: 0, replica: 0, lonely: 0, sentinel: 0 };
  const dir = { backups: '', data: '' };
  const cli = (p: number, ...args: string[]) =>
    run(SERVER.cli, ['-p', String(p), ...args]).then((r) => r.stdout.trim());
  const env = () => ({
    ...PASS,
    REDIS_SENTINELS: `127.0.0.1:${port.sentinel}`,
    BACKUP_DIR: dir.backups,
    BACKUP_ONCE: '1',
  });
  const backup = (extra: Record<string, string> = {}) =>
    run('sh', [join(SCRIPTS, 'redis-backup.sh')], { ...env(), ...extra });
  const restore = (...args: string[]) => run('sh', [join(SCRIPTS, 'redis-restore.sh'), ...args], env());

  before(async () => {
    dir.backups = tempDir('backups');
    dir.data = tempDir('backup-nodes');
    for (const k of Object.keys(port) as (keyof typeof port)[]) port[k] = await freePort();
    // The default user stays open for the test's own checks; the scripts log in as the stack's users.
    const users = [
      ...['--user', 'default', 'on', 'nopass', '~*', '&*', '+@all'],
      ...['--user', 'replication', 'on', `>${PASS.REDIS_REPLICATION_PASSWORD}`, ...ACL_RULES.replication],
      ...['--user', 'backup', 'on', `>${PASS.REDIS_BACKUP_PASSWORD}`, ...ACL_RULES.backup],
      ...['--user', 'operator', 'on', `>${PASS.REDIS_OPERATOR_PASSWORD}`, ...ACL_RULES.operator],
    ];
    const node = (name: string, p: number, extra: string[] = []) => {
      const d = join(dir.data, name);
      mkdirSync(d, { recursive: true });
      procs.push(
        spawn(
          SERVER.server,
          ['--port', String(p), '--bind', '127.0.0.1', '--dir', d, '--save', '', ...users, ...extra],
          {
            stdio: 'ignore',
          },
        ),
      );
    };
    node('master', port.master);
    node('lonely', port.lonely);
    node('replica', port.replica, [
      ...['--replicaof', '127.0.0.1', String(port.master)],
      ...['--masteruser', 'replication', '--masterauth', PASS.REDIS_REPLICATION_PASSWORD],
    ]);
    const conf = join(dir.data, 'sentinel.conf');
    writeFileSync(
      conf,
      [
        `port ${port.sentinel}`,
        'bind 127.0.0.1',
        `sentinel monitor mymaster 127.0.0.1 ${port.master} 1`,
        `sentinel monitor lonely 127.0.0.1 ${port.lonely} 1`,
        sentinelReaderLine(PASS.SENTINEL_READER_PASSWORD, false),
        '',
      ].join('\n'),
    );
    procs.push(spawn(SERVER.sentinel, [conf], { stdio: 'ignore' }));
    await waitFor(
      'the replica in sync as the Sentinel sees it',
      async () => {
        const replicas = await cli(port.sentinel, '--raw', 'sentinel', 'replicas', 'mymaster').catch(
          () => '',
        );
        return /master-link-status\nok/.test(replicas);
      },
      { timeoutMs: 40_000 },
    );
    await cli(port.master, 'set', 'user:{a@example.org}', 'alice');
    await cli(port.master, 'set', 'cart:{a@example.org} "odd"\\key', '2');
    await cli(port.master, 'set', 'sess:abc', 'x', 'EX', '600');
    await waitFor('the replica has the keys', async () => (await cli(port.replica, 'dbsize')) === '3');
  });
  after(() => {
    for (const p of procs) p.kill('SIGKILL');
  });

  it('copies the replica, checks it, writes it 0600 with its manifest; the master does nothing', async () => {
    const syncsBefore = await cli(port.master, 'info', 'stats');
    const r = await backup();
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `copying the data set of 127\\.0\\.0\\.1:${port.replica} \\(a replica of 127\\.0\\.0\\.1:${port.master}\\)`,
      ),
    );
    const files = readdirSync(dir.backups).sort();
    assert.equal(files.length, 2, files.join(' '));
    const [json, rdb] = files as [string, string];
    const m = JSON.parse(readFileSync(join(dir.backups, json), 'utf8'));
    assert.equal(m.source.node, `127.0.0.1:${port.replica}`);
    assert.equal(m.source.master, `127.0.0.1:${port.master}`);
    assert.equal(m.keys, 3);
    assert.equal(m.rdb.file, rdb);
    assert.equal(m.rdb.bytes, statSync(join(dir.backups, rdb)).size);
    assert.match(m.replid, /^[0-9a-f]{40}$/);
    const sha = await run('sha256sum', [join(dir.backups, rdb)]);
    assert.equal(m.rdb.sha256, sha.stdout.split(' ')[0]);
    for (const f of files) assert.equal(statSync(join(dir.backups, f)).mode & 0o777, 0o600, f);
    // No full sync was asked of the master: the replica streamed the copy.
    const fullSyncs = (s: string) => /sync_full:(\d+)/.exec(s)?.[1];
    assert.equal(fullSyncs(await cli(port.master, 'info', 'stats')), fullSyncs(syncsBefore));
    // The backup's time, on the master, for the apps' backup_last_good_timestamp_seconds.
    assert.equal(await cli(port.master, 'get', BACKUP_LAST_GOOD_KEY), String(Date.parse(m.time) / 1000));
    assert.match(
      r.stderr,
      new RegExp(`recorded \\d+ in ${BACKUP_LAST_GOOD_KEY} on 127\\.0\\.0\\.1:${port.master}`),
    );
  });

  it('the backup user may SET the last good time and nothing else: no other key, no read', async () => {
    const as = (...args: string[]) =>
      run(SERVER.cli, ['--no-auth-warning', '--user', 'backup', '-p', String(port.master), ...args], {
        REDISCLI_AUTH: PASS.REDIS_BACKUP_PASSWORD,
      }).then((r) => r.stdout.trim() + r.stderr.trim());
    const before = await cli(port.master, 'get', BACKUP_LAST_GOOD_KEY);
    for (const cmd of [
      ['set', 'user:{a@example.org}', 'mallory'],
      ['set', 'other', '1'],
      ['get', BACKUP_LAST_GOOD_KEY],
      ['get', 'user:{a@example.org}'],
      ['del', BACKUP_LAST_GOOD_KEY],
      ['set', BACKUP_LAST_GOOD_KEY, '1', 'GET'],
      ['flushall'],
      ['config', 'get', 'masterauth'],
    ]) {
      assert.match(await as(...cmd), /NOPERM/, cmd.join(' '));
    }
    assert.equal(await cli(port.master, 'get', 'user:{a@example.org}'), 'alice');
    assert.equal(await cli(port.master, 'exists', 'other'), '0');
    assert.equal(await cli(port.master, 'get', BACKUP_LAST_GOOD_KEY), before);
  });

  it('a backup the RDB checker refuses is not written and leaves the last good time alone', async () => {
    await cli(port.master, 'set', BACKUP_LAST_GOOD_KEY, '1000');
    const files = readdirSync(dir.backups);
    // A checker that refuses every file, found first on PATH: the copy is made, then refused.
    const bin = tempDir('refusing-checker');
    for (const name of ['valkey-check-rdb', 'redis-check-rdb']) {
      writeFileSync(join(bin, name), '#!/bin/sh\necho "refused by the test"\nexit 1\n', { mode: 0o700 });
    }
    const r = await backup({ PATH: `${bin}:${process.env['PATH'] ?? ''}` });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /refuses the copy: refused by the test/);
    assert.deepEqual(readdirSync(dir.backups), files);
    assert.equal(await cli(port.master, 'get', BACKUP_LAST_GOOD_KEY), '1000');
  });

  it('refuses when the master has no replica in sync: never from the master', async () => {
    const before = readdirSync(dir.backups);
    const last = await cli(port.master, 'get', BACKUP_LAST_GOOD_KEY);
    const r = await backup({ MASTER_NAME: 'lonely' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no replica of .* is in sync: a backup is never taken from the master/);
    assert.deepEqual(readdirSync(dir.backups), before);
    assert.equal(await cli(port.lonely, 'exists', BACKUP_LAST_GOOD_KEY), '0');
    assert.equal(await cli(port.master, 'get', BACKUP_LAST_GOOD_KEY), last);
  });

  it('refuses a missing or short password, naming it (exit 2)', async () => {
    const r = await run('sh', [join(SCRIPTS, 'redis-backup.sh')], {
      ...env(),
      REDIS_BACKUP_PASSWORD: 'short',
    });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /REDIS_BACKUP_PASSWORD is too short/);
  });

  it('restores the newest backup into the master: every key back, lifetimes kept, the rest gone', async () => {
    assert.match((await restore('latest')).stderr, /add --yes/);
    await cli(port.master, 'flushall');
    await cli(port.master, 'set', 'junk', '1');
    const r = await restore('latest', '--yes');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await cli(port.master, 'get', 'user:{a@example.org}'), 'alice');
    assert.equal(await cli(port.master, 'get', 'cart:{a@example.org} "odd"\\key'), '2');
    assert.ok(Number(await cli(port.master, 'ttl', 'sess:abc')) > 500);
    assert.equal(await cli(port.master, 'exists', 'junk'), '0');
    await waitFor('the replica has them', async () => (await cli(port.replica, 'dbsize')) === '3');
  });

  it('refuses a backup whose file does not match its manifest', async () => {
    const rdb = readdirSync(dir.backups).find((f) => f.endsWith('.rdb'))!;
    writeFileSync(
      join(dir.backups, rdb),
      Buffer.concat([readFileSync(join(dir.backups, rdb)), Buffer.from('x')]),
    );
    const r = await restore(rdb.replace('.rdb', ''), '--yes');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /does not match its manifest/);
    assert.equal(await cli(port.master, 'get', 'user:{a@example.org}'), 'alice', 'nothing touched');
  });
});
