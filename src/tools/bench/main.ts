import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { dirname } from 'node:path';
import { reader } from '../../config/settings.ts';
import { SERVER_SETTINGS } from '../../config/table.ts';
import { CliError } from '../../ops/commands/context.ts';
import { deleteAccounts } from '../loadgen/cleanup.ts';
import { type BenchArgs, parseBenchArgs } from './args.ts';
import { formatBackupBench, runBackupBench } from './backup.ts';
import { allCases, type CaseResult, drive, runCase } from './cases.ts';
import { formatFailover, runFailover } from './failover.ts';
import { benchAccounts, createBenchUsers } from './fixtures.ts';
import { hashesPerSecond } from './hash.ts';
import { mergeSlices } from './merge.ts';
import { formatMonitoringBench, runMonitoringBench } from './monitoring.ts';
import { startBenchGroup } from './procs.ts';
import { formatProfile, runProfile } from './profile.ts';
import { RedisStats, round } from './redis-stats.ts';
import { formatTable, formatTargets, judgeTargets } from './report.ts';
import { formatScale, runScale } from './scale.ts';
import { type BenchTarget, ownStack, runningTarget } from './target.ts';
import { formatTls, runTls } from './tls.ts';

const say = (m: string) => process.stdout.write(`${m}\n`);

export function machine() {
  let redis = '';
  try {
    redis = execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    redis = 'unknown';
  }
  return {
    nproc: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    cpu: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    redis,
  };
}

/** Everything started here, stopped in reverse order on the way out, also on Ctrl-C. */
class Cleanup {
  private readonly steps: (() => Promise<void> | void)[] = [];
  private running: Promise<void> | undefined;

  add(step: () => Promise<void> | void): void {
    this.steps.push(step);
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      for (const step of this.steps.reverse()) {
        try {
          await step();
        } catch {
          // Keep stopping the rest.
        }
      }
    })();
    return this.running;
  }
}

async function openTarget(args: BenchArgs, cleanup: Cleanup): Promise<BenchTarget> {
  let target: BenchTarget;
  if (args.url) {
    target = runningTarget(args.url);
    say(`using the running stack: ${target.frontUrl}`);
  } else {
    say('starting a stack of its own on free ports...');
    target = await ownStack({
      scryptCost: args.scryptCost,
      ...(args.mode === 'scale' || args.mode === 'backup' ? { maxMemory: '2gb' } : {}),
      ...(args.mode === 'monitoring' ? { monitoring: true } : {}),
      onEvent: (m) => say(`  ${m}`),
    });
  }
  cleanup.add(() => target.stop());
  return target;
}

async function load(args: BenchArgs, target: BenchTarget, cleanup: Cleanup) {
  const env = target.appEnv();
  const ceiling = await startBenchGroup('ceiling', target.workDir, env, (stop) => cleanup.add(stop));
  const peer = await startBenchGroup('peer', target.workDir, env, (stop) => cleanup.add(stop));
  const master = await target.actions.currentMaster();
  if (!master) throw new CliError('the Sentinels name no master');
  const stats = await RedisStats.open(master.host, master.port, target.actions.login);
  cleanup.add(() => stats.close());

  say(`creating ${args.connections} users with full carts...`);
  const users = await createBenchUsers(target.frontUrl, peer.directUrl, args.connections);
  // The run's accounts go at its end, also when it fails (best effort: the line says which).
  cleanup.add(async () => {
    say(await deleteAccounts(target.actions, benchAccounts(users)));
  });
  const appPid = () => target.pidOf(target.apps[0]!.name);
  const cases = allCases({
    app: {
      front: {
        url: target.frontUrl,
        pids: () => target.apps.map((a) => target.pidOf(a.name)),
        haproxyPid: () => target.pidOf('haproxy'),
      },
      direct: { url: target.directUrl, pids: () => [appPid()] },
    },
    ceiling: {
      front: { url: ceiling.frontUrl, pids: () => ceiling.pids, haproxyPid: () => ceiling.haproxyPid },
      direct: { url: ceiling.directUrl, pids: () => ceiling.pids.slice(0, 1) },
    },
    peer: {
      front: { url: peer.frontUrl, pids: () => peer.pids, haproxyPid: () => peer.haproxyPid },
      direct: { url: peer.directUrl, pids: () => peer.pids.slice(0, 1) },
    },
  }).filter((c) => args.cases.includes(c.id));

  const cost = args.scryptCost ?? reader(env, SERVER_SETTINGS)('SCRYPT_COST');
  const hashes = cases.some((c) => c.route === 'POST /api/login') ? await hashesPerSecond(cost) : null;
  if (hashes !== null) say(`scrypt N=${cost}: ${hashes} hashes/s on this machine (the ceiling of logins)`);

  if (args.warmupS > 0) {
    say(`warming up (${args.warmupS} s per case)...`);
    for (const c of cases) {
      if (c.route === 'POST /api/login') continue;
      await drive(c, users, { connections: args.connections, durationS: args.warmupS, progress: false });
    }
  }
  // Load time cut into slices, the cases taking turns: a ratio compares cases measured seconds
  // apart. Logins run whole and last: a slice cut short would leave hashes queued for the next case.
  const isLogin = (c: { route: string }) => c.route === 'POST /api/login';
  const slices = Math.max(1, Math.min(args.slices, Math.floor(args.durationS)));
  const sliceS = args.durationS / slices;
  const parts = new Map<string, CaseResult[]>();
  const samples = new Map<string, number[]>();
  const measure = async (c: (typeof cases)[number], durationS: number) => {
    const times = samples.get(c.id) ?? [];
    samples.set(c.id, times);
    const r = await runCase(c, users, stats, {
      connections: args.connections,
      durationS,
      progress: args.progress,
      onLatency: (ms) => times.push(ms),
    });
    parts.set(c.id, [...(parts.get(c.id) ?? []), r]);
    if (!args.progress) say(`  ${c.id}: ${r.requestsPerS} req/s, p99 ${r.latencyMs.p99} ms`);
  };
  for (let i = 0; i < slices; i++) {
    if (!cases.some((c) => !isLogin(c))) break;
    say(`slice ${i + 1}/${slices}: ${args.connections} connections, ${round(sliceS, 2)} s per case`);
    for (const c of cases) if (!isLogin(c)) await measure(c, sliceS);
  }
  if (cases.some(isLogin)) say(`logins: ${args.connections} connections, ${args.durationS} s per case`);
  for (const c of cases) if (isLogin(c)) await measure(c, args.durationS);

  const rows = cases.map((c) => mergeSlices(parts.get(c.id)!, samples.get(c.id)!));
  const targets = judgeTargets(
    Array.from({ length: slices }, (_, i) =>
      cases.map((c) => (isLogin(c) ? parts.get(c.id)![0]! : parts.get(c.id)![i]!)),
    ),
    rows,
    hashes,
  );
  say('');
  say(formatTable(rows));
  say('');
  const r = targets.ratios;
  say(
    `GET /get via HAProxy: ${r.getVsCeiling ?? '-'} x the ceiling, ${r.getVsPeer ?? '-'} x the peer (each behind HAProxy over two processes), ${r.getVsDirectCeiling ?? '-'} x one ceiling process hit directly`,
  );
  say(
    `GET /get, one process directly: ${r.getAppVsCeiling ?? '-'} x the ceiling, ${r.getAppVsPeer ?? '-'} x the peer`,
  );
  say(
    `writes via HAProxy against the bare durable write (HSET + shared WAIT 1): PUT /api/cart ${r.putVsBare ?? '-'} x, POST /add ${r.addVsBare ?? '-'} x; one process directly: ${r.putAppVsBare ?? '-'} x`,
  );
  say(
    `writes via HAProxy against the like-for-like ceiling (the same function call + shared WAIT 1): PUT /api/cart ${r.putVsCeiling ?? '-'} x, POST /add ${r.addVsCeiling ?? '-'} x; one process directly: ${r.putAppVsCeiling ?? '-'} x; that ceiling with WAIT 1 runs at ${r.ceilingWaitVsNoWait ?? '-'} x itself without`,
  );
  if (hashes !== null)
    say(`POST /api/login via HAProxy: ${r.loginVsHashCeiling ?? '-'} x the hash ceiling (${hashes}/s)`);
  say(
    'conn = connections the master accepted during the run (HAProxy checks it once a second) / new client connections',
  );
  say(formatTargets(targets));
  return {
    kind: 'load',
    date: new Date().toISOString(),
    machine: machine(),
    settings: {
      connections: args.connections,
      durationS: args.durationS,
      warmupS: args.warmupS,
      slices,
      scryptCost: cost,
      target: args.url ? 'running stack' : 'own stack',
    },
    hashesPerS: hashes,
    cases: rows,
    slicesOf: slices > 1 ? Object.fromEntries(parts) : undefined,
    ratios: targets.ratios,
    ratiosPerSlice: slices > 1 ? targets.perSlice : undefined,
    targets: targets.checks,
  };
}

export async function bench(argv: string[]): Promise<void> {
  const args = parseBenchArgs(argv);
  const cleanup = new Cleanup();
  const onSignal = (signal: string) => {
    say(`\n${signal}: stopping what the benchmark started...`);
    void cleanup.run().finally(() => process.exit(130));
  };
  const onInt = () => onSignal('SIGINT');
  const onTerm = () => onSignal('SIGTERM');
  process.once('SIGINT', onInt);
  process.once('SIGTERM', onTerm);
  let report: Record<string, unknown>;
  if (args.mode === 'tls') {
    if (args.url) throw new CliError('bench tls starts its own stacks (no --url)');
    const r = await runTls(args, say);
    say('');
    say(formatTls(r));
    mkdirSync(dirname(args.json), { recursive: true });
    writeFileSync(
      args.json,
      `${JSON.stringify({ kind: 'tls', date: new Date().toISOString(), machine: machine(), connections: args.connections, durationS: args.durationS, ...r }, null, 2)}\n`,
    );
    say(`\nwritten to ${args.json}`);
    return;
  }
  if (args.mode === 'profile') {
    if (args.url) throw new CliError('bench profile starts its own stacks (no --url)');
    const rows = await runProfile(args, say);
    say('');
    say(formatProfile(rows));
    report = {
      kind: 'profile',
      date: new Date().toISOString(),
      machine: machine(),
      connections: args.connections,
      durationS: args.durationS,
      rows,
    };
    mkdirSync(dirname(args.json), { recursive: true });
    writeFileSync(args.json, `${JSON.stringify(report, null, 2)}\n`);
    say(`\nwritten to ${args.json}`);
    return;
  }
  try {
    const target = await openTarget(args, cleanup);
    if (args.mode === 'failover') {
      const r = await runFailover(target, {
        rounds: args.rounds,
        users: args.users,
        log: (m) => say(`  ${m}`),
      });
      say('');
      say(formatFailover(r));
      report = { kind: 'failover', date: new Date().toISOString(), machine: machine(), ...r };
    } else if (args.mode === 'scale') {
      if (args.url)
        throw new CliError(
          'bench scale stores a million keys: it runs only on a stack of its own (no --url)',
        );
      const r = await runScale(args, target, say);
      say('');
      say(formatScale(r));
      report = { kind: 'scale', date: new Date().toISOString(), machine: machine(), ...r };
    } else if (args.mode === 'backup' || args.mode === 'monitoring') {
      if (args.url) throw new CliError(`bench ${args.mode} runs only on a stack of its own (no --url)`);
      if (args.mode === 'backup') {
        const r = await runBackupBench(args, target, say);
        say('');
        say(formatBackupBench(r));
        report = { kind: 'backup', date: new Date().toISOString(), machine: machine(), ...r };
      } else {
        const r = await runMonitoringBench(args, target, say);
        say('');
        say(formatMonitoringBench(r));
        report = { kind: 'monitoring', date: new Date().toISOString(), machine: machine(), ...r };
      }
    } else {
      report = await load(args, target, cleanup);
    }
  } finally {
    await cleanup.run();
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
  mkdirSync(dirname(args.json), { recursive: true });
  writeFileSync(args.json, `${JSON.stringify(report, null, 2)}\n`);
  say(`\nwritten to ${args.json}`);
}
