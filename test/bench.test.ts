import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { REPO_ROOT } from '../src/ops/supervisor/supervisor.ts';
import { CASE_IDS } from '../src/tools/bench/cases.ts';

/** Runs the CLI as `npm run bench` does; resolves with its exit code and everything it printed. */
async function runCli(args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, out };
}

/**
 * A smoke run of `npm run bench`: every case for about a second with few connections, on a stack
 * of its own. It checks the shape of the report and that no request failed; the figures themselves
 * come from a full `npm run bench`, not from a timed test.
 */
describe('npm run bench (smoke)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('runs every case and writes a JSON report with every field', async () => {
    const json = join(dir, 'bench.json');
    const args = ['bin/ha-stack.js', 'bench', '--duration', '1', '--connections', '4'];
    args.push('--warmup', '0', '--no-progress', '--scrypt-cost', '1024', '--json', json);
    const { code, out } = await runCli(args);
    assert.equal(code, 0, out);

    const report = JSON.parse(readFileSync(json, 'utf8'));
    assert.equal(report.kind, 'load');
    assert.ok(report.machine.nproc >= 1 && report.machine.memoryGiB > 0);
    assert.ok(report.hashesPerS > 0);
    assert.deepEqual(
      report.cases.map((c: { case: string }) => c.case),
      CASE_IDS,
    );
    for (const c of report.cases) {
      const where = `${c.case}: ${JSON.stringify(c)}`;
      assert.ok(c.requests > 0 && c.requestsPerS > 0, where);
      for (const k of ['p50', 'p90', 'p99', 'max']) assert.equal(typeof c.latencyMs[k], 'number', where);
      assert.equal(c.errors, 0, where);
      assert.equal(c.timeouts, 0, where);
      assert.equal(c.non2xx, 0, where);
      assert.ok(c.redis.commandsPerRequest >= 1, where);
      assert.equal(typeof c.redis.connectionsOpened, 'number', where);
      assert.deepEqual(c.redis.newClientConnections, [], where);
      assert.ok(c.cpuS !== null && c.cpuS >= 0, where);
    }
    for (const k of [
      'getVsCeiling',
      'getVsPeer',
      'getAppVsCeiling',
      'loginVsHashCeiling',
      'putVsBare',
      'putAppVsBare',
    ])
      assert.equal(typeof report.ratios[k], 'number', k);
    assert.match(out, /\| get-haproxy /);
  });

  it('scale: stores sessions, accounts and carts, measures with and without them, the resync and a failover', async () => {
    const json = join(dir, 'scale.json');
    const args = ['bin/ha-stack.js', 'bench', 'scale', '--sessions', '20000'];
    args.push(
      '--stored-users',
      '2000',
      '--baseline-sessions',
      '100',
      '--duration',
      '1',
      '--connections',
      '4',
    );
    args.push('--no-progress', '--scrypt-cost', '1024', '--json', json);
    const { code, out } = await runCli(args);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    assert.equal(report.kind, 'scale');
    assert.deepEqual(report.settings, {
      sessions: 20000,
      storedUsers: 2000,
      baselineSessions: 100,
      durationS: 1,
      connections: 4,
    });
    for (const set of ['small', 'loaded', 'smallAfter']) {
      assert.deepEqual(
        report.cases[set].map((c: { case: string }) => c.case),
        ['get-haproxy', 'add-haproxy', 'login-haproxy'],
        set,
      );
      for (const c of report.cases[set]) {
        assert.ok(c.requestsPerS > 0, `${set} ${c.case}`);
        assert.equal(c.errors + c.timeouts + c.non2xx, 0, `${set} ${JSON.stringify(c)}`);
      }
    }
    for (const id of ['get-haproxy', 'add-haproxy', 'login-haproxy'])
      assert.equal(typeof report.ratios[id], 'number');
    const m = report.memory;
    // A session: its key (37 bytes), its JSON (about 90) and Redis's headers; an account more.
    assert.ok(m.perSession.memoryUsage > 120 && m.perSession.memoryUsage < 400, JSON.stringify(m));
    assert.ok(m.perSession.delta > 120 && m.perSession.delta < 600, JSON.stringify(m));
    assert.ok(m.perUser.memoryUsage > m.perSession.memoryUsage, JSON.stringify(m));
    assert.ok(m.perCart.memoryUsage > 50, JSON.stringify(m));
    assert.ok(
      m.account.password > 60 && m.account.total > m.account.password + m.account.email,
      JSON.stringify(m.account),
    );
    assert.ok(m.usedMemoryMiB.carts > m.usedMemoryMiB.before, JSON.stringify(m.usedMemoryMiB));
    assert.ok(report.resync.seconds > 0 && report.resync.datasetMiB > 1, JSON.stringify(report.resync));
    // Redis 7 lays out its key tables as the bench reads them: it can tell when they are done growing.
    for (const phase of ['loaded', 'smallAfter'])
      assert.ok(
        report.settleS[phase].rewriteS >= 0 && typeof report.settleS[phase].tablesS === 'number',
        JSON.stringify(report.settleS),
      );
    assert.equal(report.failover.rounds.length, 1);
    assert.equal(typeof report.failover.rounds[0].writeWindowS, 'number');
    const failed = report.checks.find((c: { what: string }) => c.what.startsWith('no request failed'));
    // With the failover's rounds and what failed in them: a red run says why.
    assert.equal(failed?.holds, true, JSON.stringify({ checks: report.checks, failover: report.failover }));
    assert.match(out, /bytes per session \d+/);
    assert.equal(code, 0, out);
  });

  it('profile: the app under --cpu-prof, summed over the measured run for GET /get and PUT /api/cart', async () => {
    const json = join(dir, 'profile.json');
    const args = ['bin/ha-stack.js', 'bench', 'profile', '--duration', '1', '--connections', '4'];
    args.push('--scrypt-cost', '1024', '--json', json);
    const { code, out } = await runCli(args);
    assert.equal(code, 0, out);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    assert.equal(report.kind, 'profile');
    assert.deepEqual(
      report.rows.map((r: { case: string }) => r.case),
      ['get-app', 'put-app'],
    );
    for (const r of report.rows) {
      const where = JSON.stringify(r);
      assert.equal(r.windowed, true, where);
      assert.ok(r.requests > 0 && r.busyMs > 0 && r.usPerRequest > 0, where);
      const parts = r.byPart.map((p: { name: string }) => p.name);
      for (const part of ['ioredis', 'fastify']) assert.ok(parts.includes(part), `${part} in ${parts}`);
      const total = r.byPart.reduce((a: number, p: { percent: number }) => a + p.percent, 0);
      assert.ok(total > 80 && total <= 100.5, `parts add up to ${total} %`);
      assert.ok(r.topFunctions.length >= 5, where);
    }
    assert.match(out, /top functions \(self time\)/);
  });

  it('tls: page views and cart writes through the front with TLS against the same stack without', async () => {
    const json = join(dir, 'tls.json');
    const args = [
      'bin/ha-stack.js',
      'bench',
      'tls',
      '--rounds',
      '1',
      '--duration',
      '1',
      '--connections',
      '4',
    ];
    args.push('--warmup', '0', '--scrypt-cost', '1024', '--json', json);
    const { code, out } = await runCli(args);
    assert.equal(code, 0, out);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    assert.equal(report.kind, 'tls');
    // Both cases, each once with TLS and once without, every request answered.
    const rows = report.rounds.map((r: { case: string; tls: boolean }) => `${r.case}:${r.tls}`).sort();
    assert.deepEqual(rows, [
      'get-haproxy:false',
      'get-haproxy:true',
      'put-haproxy:false',
      'put-haproxy:true',
    ]);
    for (const r of report.rounds) assert.ok(r.requestsPerS > 0 && r.errors === 0, JSON.stringify(r));
    for (const s of report.summary) assert.ok(s.ratio > 0, JSON.stringify(s));
    assert.match(out, /TLS\/plain/);
    // Where the CPU goes, part by part, and a connection's set-up (a full handshake with TLS).
    for (const r of report.rounds)
      assert.ok(r.cpuUs.apps > 0 && r.cpuUs.haproxy > 0 && r.cpuUs.redis > 0, JSON.stringify(r));
    assert.equal(report.cpu.length, 10);
    assert.deepEqual(report.handshakes.map((h: { tls: boolean }) => h.tls).sort(), [false, true]);
    for (const h of report.handshakes) assert.ok(h.requests > 0 && h.failed === 0, JSON.stringify(h));
    assert.match(out, /CPU per request \(µs, medians\)/);
    assert.match(out, /a new connection per request/);
  });

  it('backup: page views with backups running and without, one backup, FLUSHALL and the restore', async () => {
    const json = join(dir, 'backup.json');
    const args = ['bin/ha-stack.js', 'bench', 'backup', '--sessions', '5000', '--stored-users', '500'];
    args.push('--baseline-sessions', '10', '--rounds', '1', '--duration', '1', '--connections', '4');
    args.push('--no-progress', '--scrypt-cost', '1024', '--json', json);
    const { code, out } = await runCli(args);
    assert.equal(code, 0, out);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    assert.equal(report.kind, 'backup');
    const pv = report.pageViews;
    assert.equal(pv.with.requestsPerS.length, 1);
    assert.equal(pv.without.requestsPerS.length, 1);
    assert.ok(pv.with.medianRps > 0 && pv.without.medianRps > 0, JSON.stringify(pv));
    assert.equal(typeof pv.costPct, 'number');
    assert.ok(pv.backupsPerRound[0] >= 1, JSON.stringify(pv.backupsPerRound));
    assert.ok(report.copyOnly.copiesPerRound[0] >= 1, JSON.stringify(report.copyOnly));
    assert.ok(report.copyOnly.with.medianRps > 0, JSON.stringify(report.copyOnly));
    assert.ok(report.backup.bytes > 0 && report.backup.seconds > 0, JSON.stringify(report.backup));
    assert.equal(report.backup.counts.sessions >= 5000, true, JSON.stringify(report.backup.counts));
    assert.equal(report.backup.counts.accounts >= 500, true, JSON.stringify(report.backup.counts));
    assert.equal(report.restore.counts.accounts, report.backup.counts.accounts);
    assert.equal(report.restore.counts.carts, report.backup.counts.carts);
    assert.equal(report.restore.matches, true);
    assert.ok(report.restore.servingS >= report.restore.seconds, JSON.stringify(report.restore));
    const failed = report.checks.find((c: { what: string }) => c.what === 'no page view failed');
    // With the failover's rounds and what failed in them: a red run says why.
    assert.equal(failed?.holds, true, JSON.stringify({ checks: report.checks, failover: report.failover }));
    assert.match(out, /restore after FLUSHALL: /);
  });

  it('monitoring: page views with the monitoring running and stopped', async () => {
    const json = join(dir, 'monitoring.json');
    const args = ['bin/ha-stack.js', 'bench', 'monitoring', '--rounds', '1', '--duration', '1'];
    args.push('--connections', '4', '--no-progress', '--scrypt-cost', '1024', '--json', json);
    const { code, out } = await runCli(args);
    assert.equal(code, 0, out);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    assert.equal(report.kind, 'monitoring');
    assert.ok(report.processes.includes('prometheus') && report.processes.includes('alertmanager'));
    const pv = report.pageViews;
    assert.ok(pv.with.medianRps > 0 && pv.without.medianRps > 0, JSON.stringify(pv));
    assert.equal(report.targetsUp.length, 1);
    assert.match(report.targetsUp[0], /^\d+\/\d+$/);
    // The no-load CPU windows: four of each side, the stack's processes counted in every one.
    const idle = report.idle;
    assert.equal(idle.monitoringPerS.length, 4, JSON.stringify(idle));
    assert.equal(idle.stackRunningPerS.length, 4);
    assert.equal(idle.stackFrozenPerS.length, 4);
    assert.ok(
      [...idle.stackRunningPerS, ...idle.stackFrozenPerS].some((x: number) => x > 0),
      JSON.stringify(idle),
    );
    assert.equal(typeof idle.cpuCostPct, 'number');
    const failed = report.checks.find((c: { what: string }) => c.what === 'no page view failed');
    // With the failover's rounds and what failed in them: a red run says why.
    assert.equal(failed?.holds, true, JSON.stringify({ checks: report.checks, failover: report.failover }));
    assert.match(out, /monitoring stopped \|/);
  });
});
