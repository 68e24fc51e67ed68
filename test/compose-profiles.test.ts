// The profiles of deploy/compose.yaml (backup, restore, monitoring, tools) as docker-compose reads
// them, without an engine: valid with the stack's variables, a plain `up` unchanged, no secret on a
// command line, the monitoring published on the loopback only and its Prometheus on alerts.yml.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { SECRET_VARIABLES } from '../src/ops/render/compose-names.ts';

const DEPLOY = fileURLToPath(new URL('../deploy/', import.meta.url));
const COMPOSE = join(DEPLOY, 'compose.yaml');
// A value for every secret variable, none of them a real one.
const DUMMY: Record<string, string> = Object.fromEntries(
  Object.keys(SECRET_VARIABLES).map((k) => [k, `dummy-${k.toLowerCase().replace(/_/g, '-')}-0123456789`]),
);
DUMMY['MONITORING_PASSWORD'] = 'dummy-monitoring-password-0123456789';
DUMMY['MONITORING_PASSWORD_HASH'] = '$2y$10$abcdefghijklmnopqrstuu0123456789012345678901234567890';

function compose(args: string[], extra: Record<string, string> = DUMMY) {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'] ?? '',
    HOME: process.env['HOME'] ?? '/tmp',
    ...extra,
  };
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
    execFile('docker-compose', ['-f', COMPOSE, ...args], { env, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

// biome-ignore lint/suspicious/noExplicitAny: compose's output is read as untyped data here
type Any = any;

describe('deploy/compose.yaml profiles (docker-compose config)', () => {
  it('names the four profiles; a plain up needs no variable of theirs', async () => {
    const profiles = await compose(['config', '--profiles']);
    assert.equal(profiles.code, 0, profiles.stderr);
    assert.deepEqual(profiles.stdout.trim().split('\n').sort(), ['backup', 'monitoring', 'restore', 'tools']);
    const { MONITORING_PASSWORD: _p, MONITORING_PASSWORD_HASH: _h, ...stack } = DUMMY;
    const plain = await compose(['config', '-q'], stack);
    assert.equal(plain.code, 0, plain.stderr);
  });

  it('every profile is valid together, and no secret reaches a command line', async () => {
    const r = await compose([
      '--profile',
      'backup',
      '--profile',
      'monitoring',
      '--profile',
      'restore',
      'config',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const services: Record<string, Any> = parse(r.stdout).services;
    const secrets = Object.values(DUMMY);
    for (const [name, s] of Object.entries(services))
      for (const arg of [...(s.command ?? []), ...(s.entrypoint ?? [])])
        for (const secret of secrets) assert.ok(!String(arg).includes(secret), `${name}: a secret in ${arg}`);
    // The backup: the backup user's and the Sentinels' reader's passwords only (not the replication
    // user's, the nodes' masterauth), the schedule's defaults.
    const backup = services['backup'];
    assert.equal(backup.environment.REDIS_BACKUP_PASSWORD, DUMMY['REDIS_BACKUP_PASSWORD']);
    assert.equal(backup.environment.REDIS_REPLICATION_PASSWORD, undefined);
    assert.equal(backup.environment.REDIS_OPERATOR_PASSWORD, undefined);
    assert.deepEqual(
      [
        backup.environment.BACKUP_INTERVAL_MINUTES,
        backup.environment.BACKUP_KEEP_HOURLY,
        backup.environment.BACKUP_KEEP_DAILY,
      ],
      ['15', '24', '7'],
    );
    assert.ok(
      services['restore'].volumes.some(
        (v: Any) => (v.target ?? v).toString().includes('/data') && (v.read_only || /:ro$/.test(v)),
      ),
    );
    // Published on the host's loopback only.
    for (const name of ['prometheus', 'alertmanager'])
      for (const p of services[name].ports) assert.equal(p.host_ip ?? p.split(':')[0], '127.0.0.1', name);
    // An exporter per Redis node as the exporter user; the Sentinels' as their reader.
    for (const n of [1, 2, 3]) {
      const e = services[`redis-exporter-${n}`];
      assert.ok(e.command.includes('-redis.user=exporter'));
      assert.equal(e.environment.REDIS_PASSWORD, DUMMY['REDIS_EXPORTER_PASSWORD']);
    }
    assert.ok(services['sentinel-exporter'].command.includes('-redis.user=reader'));
  });

  it('the schedule takes BACKUP_INTERVAL_MINUTES, BACKUP_KEEP_HOURLY and BACKUP_KEEP_DAILY', async () => {
    const env = { ...DUMMY, BACKUP_INTERVAL_MINUTES: '60', BACKUP_KEEP_HOURLY: '6', BACKUP_KEEP_DAILY: '30' };
    const r = await compose(['--profile', 'backup', 'config'], env);
    assert.equal(r.code, 0, r.stderr);
    const e = parse(r.stdout).services.backup.environment;
    assert.deepEqual(
      [e.BACKUP_INTERVAL_MINUTES, e.BACKUP_KEEP_HOURLY, e.BACKUP_KEEP_DAILY],
      ['60', '6', '30'],
    );
  });

  it('the monitoring entrypoint refuses a missing hash or a short password, and writes the rest 0600', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ha-stack-monitoring-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    const start = (env: Record<string, string>) =>
      new Promise<{ code: number; stderr: string; stdout: string }>((resolve) =>
        execFile(
          'sh',
          [join(DEPLOY, 'scripts/monitoring-entrypoint.sh'), 'echo', 'started'],
          { env: { PATH: process.env['PATH'] ?? '', MONITORING_SECRETS_DIR: join(dir, 'out'), ...env } },
          (err, stdout, stderr) =>
            resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        ),
      );
    const good = {
      MONITORING_PASSWORD: DUMMY['MONITORING_PASSWORD']!,
      MONITORING_PASSWORD_HASH: DUMMY['MONITORING_PASSWORD_HASH']!,
      HAPROXY_OPERATOR_PASSWORD: DUMMY['HAPROXY_OPERATOR_PASSWORD']!,
    };
    const noHash = await start({ ...good, MONITORING_PASSWORD_HASH: '' });
    assert.equal(noHash.code, 2);
    assert.match(noHash.stderr, /set MONITORING_PASSWORD_HASH/);
    const short = await start({ ...good, MONITORING_PASSWORD: 'short' });
    assert.equal(short.code, 2);
    assert.match(short.stderr, /MONITORING_PASSWORD is too short/);
    const ok = await start(good);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout.trim(), 'started');
    for (const f of ['web.yml', 'monitoring.password', 'operator.password'])
      assert.equal(statSync(join(dir, 'out', f)).mode & 0o777, 0o600, f);
    assert.equal(readFileSync(join(dir, 'out', 'operator.password'), 'utf8'), good.HAPROXY_OPERATOR_PASSWORD);
    assert.deepEqual(parse(readFileSync(join(dir, 'out', 'web.yml'), 'utf8')), {
      basic_auth_users: { monitoring: good.MONITORING_PASSWORD_HASH },
    });
  });

  it('Prometheus loads alerts.yml, the one copy, and scrapes every exporter and Alertmanager by service', () => {
    const prom = parse(readFileSync(join(DEPLOY, 'monitoring/prometheus.yml'), 'utf8'));
    assert.deepEqual(prom.rule_files, ['/etc/prometheus/alerts.yml']);
    const doc = parse(readFileSync(COMPOSE, 'utf8'));
    assert.ok(
      doc.services.prometheus.volumes.includes('./monitoring/alerts.yml:/etc/prometheus/alerts.yml:ro'),
    );
    const targets = prom.scrape_configs
      .find((c: Any) => c.job_name === 'redis')
      .static_configs.flatMap((s: Any) => s.targets);
    assert.deepEqual(targets, ['redis-exporter-1:9121', 'redis-exporter-2:9121', 'redis-exporter-3:9121']);
    assert.deepEqual(prom.alerting.alertmanagers[0].static_configs[0].targets, ['alertmanager:9093']);
    assert.equal(prom.alerting.alertmanagers[0].basic_auth.username, 'monitoring');
  });
});
