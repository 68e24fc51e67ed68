/**
 * The entrypoints on TLS (deploy/scripts/passwords.sh tls_on, redis-entrypoint.sh,
 * sentinel-entrypoint.sh), as compose.tls.yaml and components/tls switch them on with REDIS_TLS_*:
 * sh with dummy files, no server.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { composeTopology } from '../../src/ops/render/compose.ts';
import { renderSentinelConf } from '../../src/ops/render/sentinel.ts';
import { runScript } from '../helpers/run-script.ts';
import { tempDirs } from '../helpers/stack.ts';

const DEPLOY = join(fileURLToPath(new URL('../../', import.meta.url)), 'deploy');
const _exec = promisify(execFile);
const tempDir = tempDirs();
const t = composeTopology();

describe('the entrypoints on TLS', () => {
  const files = (dir: string) => {
    for (const f of ['ca.crt', 'n.crt', 'n.key']) writeFileSync(join(dir, f), 'x');
    return {
      REDIS_TLS_CA_FILE: join(dir, 'ca.crt'),
      REDIS_TLS_CERT_FILE: join(dir, 'n.crt'),
      REDIS_TLS_KEY_FILE: join(dir, 'n.key'),
    };
  };
  const passwords = {
    SENTINEL_PASSWORD: 'dummy-sentinel-password-0123456789',
    REDIS_SENTINEL_USER_PASSWORD: 'dummy-sentinel-user-password-0123456789',
    SENTINEL_READER_PASSWORD: 'dummy-sentinel-reader-password-0123456789',
  };
  const sentinel = t.sentinels[0]!;
  const sentinelEnv = (dir: string) => ({
    ...passwords,
    MASTER_HOST: 'redis-master',
    SENTINEL_ANNOUNCE_HOST: sentinel.host,
    SENTINEL_DIR: dir,
    SENTINEL_DRY_RUN: '1',
  });
  const lines = (text: string) => text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));

  it('a Sentinel writes what renderSentinelConf writes with TLS: TLS only, client certificates required', async () => {
    const dir = tempDir('sentinel');
    const tls = files(dir);
    const r = await runScript('sh', [join(DEPLOY, 'scripts/sentinel-entrypoint.sh')], {
      ...sentinelEnv(dir),
      ...tls,
    });
    assert.equal(r.code, 0, r.stderr);
    const rendered = renderSentinelConf(t, sentinel, {
      dir,
      authPass: passwords.REDIS_SENTINEL_USER_PASSWORD,
      requirePass: passwords.SENTINEL_PASSWORD,
      readerPass: passwords.SENTINEL_READER_PASSWORD,
      hostnames: true,
      tls: { ca: tls.REDIS_TLS_CA_FILE, cert: tls.REDIS_TLS_CERT_FILE, key: tls.REDIS_TLS_KEY_FILE },
    });
    assert.deepEqual(lines(readFileSync(join(dir, 'sentinel.conf'), 'utf8')), lines(rendered));
  });

  it('a kept plain config is switched to TLS at the next start, and back', async () => {
    const dir = tempDir('sentinel');
    const tls = files(dir);
    const entry = join(DEPLOY, 'scripts/sentinel-entrypoint.sh');
    assert.equal((await runScript('sh', [entry], sentinelEnv(dir))).code, 0);
    assert.equal((await runScript('sh', [entry], { ...sentinelEnv(dir), ...tls })).code, 0);
    const on = lines(readFileSync(join(dir, 'sentinel.conf'), 'utf8'));
    assert.ok(on.includes('port 0') && on.includes('tls-port 26379') && on.includes('tls-auth-clients yes'));
    assert.ok(!on.includes('port 26379'));
    assert.equal((await runScript('sh', [entry], sentinelEnv(dir))).code, 0);
    const off = lines(readFileSync(join(dir, 'sentinel.conf'), 'utf8'));
    assert.ok(off.includes('port 26379') && !off.some((l) => l.startsWith('tls-')), off.join('\n'));
  });

  it('a node gets TLS only on the command line; a partial setting stops it naming the variable', async () => {
    const dir = tempDir('node');
    const tls = files(dir);
    const entry = join(DEPLOY, 'scripts/redis-entrypoint.sh');
    const r = await runScript('sh', [entry, 'echo', 'conf'], tls);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout.trim(),
      `conf --port 0 --tls-port 6379 --tls-cert-file ${tls.REDIS_TLS_CERT_FILE} --tls-key-file ${tls.REDIS_TLS_KEY_FILE} --tls-ca-cert-file ${tls.REDIS_TLS_CA_FILE} --tls-auth-clients yes --tls-replication yes`,
    );
    const partial = await runScript('sh', [entry, 'echo', 'conf'], {
      REDIS_TLS_CA_FILE: tls.REDIS_TLS_CA_FILE,
    });
    assert.equal(partial.code, 2);
    assert.match(partial.stderr, /set REDIS_TLS_CERT_FILE too/);
    const plain = await runScript('sh', [entry, 'echo', 'conf'], {});
    assert.equal(plain.stdout.trim(), 'conf');
  });
});
