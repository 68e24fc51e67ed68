import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { aclPasswordHash } from '../../src/ops/render/acl.ts';
import { renderSentinelConf } from '../../src/ops/render/sentinel.ts';
import { PENDING_FILE, PendingRevocations } from '../../src/ops/supervisor/rotation-pending.ts';
import { RunDir } from '../../src/ops/supervisor/rundir.ts';
import { defineTopology } from '../../src/ops/topology.ts';

const dir = mkdtempSync(join(tmpdir(), 'ha-stack-pending-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('the passwords an unfinished rotation left', () => {
  it('are kept in a 0600 file, merged per secret, and the file goes once nothing is left', () => {
    const pending = new PendingRevocations(new RunDir(dir));
    const file = join(dir, PENDING_FILE);
    assert.deepEqual(pending.all(), {});
    pending.add('redis-app-password', 'first', 'app still accepts it');
    pending.add('redis-app-password', 'second', 'app still accepts both');
    pending.add('sentinel-password', 'sentinels-old', 'the Sentinels accept it');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    // A second reader (the next rotation, or a new launcher) sees the same.
    const again = new PendingRevocations(new RunDir(dir)).get('redis-app-password');
    assert.deepEqual(again?.olds, ['first', 'second']);
    assert.equal(again?.left, 'app still accepts both');
    pending.clear('redis-app-password');
    assert.deepEqual(Object.keys(pending.all()), ['sentinel-password']);
    pending.clear('sentinel-password');
    assert.equal(existsSync(file), false);
  });

  it('are all forgotten when the whole stack starts again from the current secrets', () => {
    const pending = new PendingRevocations(new RunDir(dir));
    pending.add('operator-password', 'x', 'an app accepts it');
    assert.deepEqual(pending.clearAll(), ['operator-password']);
    assert.deepEqual(pending.all(), {});
  });

  it('ignores a file that is not what it wrote', () => {
    const pending = new PendingRevocations(new RunDir(dir));
    new RunDir(dir).writeSecret(PENDING_FILE, '{"root-password":{"olds":["x"]},"session-secret":3}');
    assert.deepEqual(pending.all(), {});
    new RunDir(dir).writeSecret(PENDING_FILE, 'not json');
    assert.deepEqual(pending.all(), {});
    pending.clearAll();
  });
});

describe('a local sentinel.conf', () => {
  it('holds the Sentinels password as the default user hash, never as requirepass', () => {
    const t = defineTopology({});
    const conf = renderSentinelConf(t, t.sentinels[0]!, {
      dir: '/s',
      authPass: 'pw',
      requirePass: 'spw',
      hashed: true,
    });
    assert.match(conf, new RegExp(`^user default on ${aclPasswordHash('spw')} ~\\* &\\* \\+@all$`, 'm'));
    assert.doesNotMatch(conf, /^requirepass/m);
    assert.match(conf, /^sentinel sentinel-pass spw$/m);
  });
});
