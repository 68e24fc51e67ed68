import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kindOf } from '../../src/ops/backup/kinds.ts';
import { toPrune } from '../../src/ops/backup/manifest.ts';
import { countProblems } from '../../src/ops/backup/restore.ts';
import { backupAgeText } from '../../src/ops/backup/schedule.ts';
import { checkBackupDir } from '../../src/ops/backup/settings.ts';
import { serverKindOf, serverTools } from '../../src/ops/backup/tools.ts';
import { ACL_RULES } from '../../src/ops/render/acl.ts';

const c = (accounts: number, carts: number, sessions: number, other: number) => ({
  accounts,
  carts,
  sessions,
  other,
});

describe('backups', () => {
  it('sorts keys into their kinds', () => {
    assert.equal(kindOf('user:{a@b.c}'), 'accounts');
    assert.equal(kindOf('cart:{a@b.c}'), 'carts');
    assert.equal(kindOf('sess:abc'), 'sessions');
    assert.equal(kindOf('sess:of:{a@b.c}'), 'sessions');
    assert.equal(kindOf('rl:login:ip:1.2.3.4'), 'other');
  });

  it('keeps the newest of each of the last hours and days, and always the newest', () => {
    const at = (iso: string) => ({ id: iso, time: iso });
    const backups = [
      at('2026-01-01T10:00:00Z'),
      at('2026-01-01T10:15:00Z'),
      at('2026-01-01T10:30:00Z'),
      at('2026-01-01T11:00:00Z'),
      at('2026-01-02T09:00:00Z'),
      at('2026-01-03T09:00:00Z'),
      at('2026-01-03T09:15:00Z'),
    ];
    // Hours: 01-03 09h and 01-02 09h; days: 01-03 and 01-02.
    assert.deepEqual(toPrune(backups, 2, 2).sort(), [
      '2026-01-01T10:00:00Z',
      '2026-01-01T10:15:00Z',
      '2026-01-01T10:30:00Z',
      '2026-01-01T11:00:00Z',
      '2026-01-03T09:00:00Z',
    ]);
    // One hour kept and three days: 01-01's newest (11h) comes back.
    assert.deepEqual(toPrune(backups, 1, 3).sort(), [
      '2026-01-01T10:00:00Z',
      '2026-01-01T10:15:00Z',
      '2026-01-01T10:30:00Z',
      '2026-01-03T09:00:00Z',
    ]);
    // Every hour with a backup kept (its newest): 10:30, 11:00, 01-02 09:00, 01-03 09:15.
    assert.deepEqual(toPrune(backups, 24, 7).sort(), [
      '2026-01-01T10:00:00Z',
      '2026-01-01T10:15:00Z',
      '2026-01-03T09:00:00Z',
    ]);
    assert.deepEqual(toPrune(backups.slice(0, 1), 0, 0), [], 'the newest stays');
  });

  it('accepts restored counts only when accounts and carts are exact and only expiry explains fewer sessions', () => {
    assert.deepEqual(countProblems(c(5, 5, 10, 2), c(5, 5, 10, 2), c(0, 0, 0, 0), 'n'), []);
    assert.deepEqual(countProblems(c(5, 5, 10, 2), c(5, 5, 8, 2), c(0, 0, 3, 0), 'n'), []);
    assert.deepEqual(countProblems(c(5, 5, 10, 2), c(5, 5, 6, 2), c(0, 0, 3, 0), 'n'), [
      'n: 6 sessions, expected 7 to 10',
    ]);
    assert.deepEqual(countProblems(c(5, 5, 0, 0), c(4, 5, 0, 0), c(9, 9, 0, 0), 'n'), [
      'n: 4 accounts, expected 5',
    ]);
    assert.deepEqual(countProblems(c(5, 5, 0, 0), c(5, 6, 0, 0), c(0, 0, 0, 0), 'n'), [
      'n: 6 carts, expected 5',
    ]);
  });

  it('takes the tools of the server the nodes run', () => {
    assert.equal(serverKindOf('# Server\r\nredis_version:7.0.15\r\n'), 'redis');
    assert.equal(
      serverKindOf('# Server\r\nredis_version:7.2.4\r\nserver_name:valkey\r\nvalkey_version:8.0.1\r\n'),
      'valkey',
    );
    assert.equal(serverTools('valkey', () => true).checkRdb, 'valkey-check-rdb');
    assert.equal(serverTools('redis', () => true).cli, 'redis-cli');
    assert.throws(
      () => serverTools('valkey', (p) => p !== 'valkey-check-rdb'),
      /valkey-check-rdb not found.*valkey-tools/,
    );
  });

  it('refuses a backup folder that is relative or shares the run directory', () => {
    assert.equal(checkBackupDir('/srv/backups/', '/home/u/.run'), '/srv/backups');
    assert.throws(() => checkBackupDir('backups', '/home/u/.run'), /absolute/);
    assert.throws(() => checkBackupDir('/home/u/.run/backups', '/home/u/.run'), /run directory/);
    assert.throws(() => checkBackupDir('/home/u', '/home/u/.run'), /run directory/);
  });

  it('says how old the last good backup is', () => {
    assert.equal(backupAgeText(undefined, 0), 'no good backup recorded');
    assert.match(backupAgeText(1000, 1_000_000 + 1000 * 600), /^last good 10 min ago \(1970/);
  });

  it('lets the app read the backup time and nothing else of the operator', () => {
    assert.ok(ACL_RULES.app.includes('%R~ha-stack:backup:last-good'));
    assert.ok(!ACL_RULES.app.some((r) => r === '~ha-stack:*' || r === '~*'));
  });
});
