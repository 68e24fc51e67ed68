/**
 * `npm run bench -- backup`: `ha-stack backup` and `ha-stack restore` with the data set of
 * `bench scale` stored (`--sessions` sessions, `--stored-users` accounts with full carts), through
 * the functions the commands run (src/ops/backup). Measured: page views while backups run back to
 * back against without one, alternating rounds (goal: under 5 % fewer); one backup's duration and
 * size; then the mistake (FLUSHALL through the operator user) and the restore of that backup with
 * its sessions, timed until a bench user's page is served again, the restored counts checked
 * against the manifest (goal: 60 s).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../../app/security/password.ts';
import { withRedis } from '../../ha/probes.ts';
import { formatCounts, type KindCounts } from '../../ops/backup/kinds.ts';
import { haproxyGate } from '../../ops/backup/maintenance.ts';
import type { Manifest } from '../../ops/backup/manifest.ts';
import { restoreBackup } from '../../ops/backup/restore.ts';
import { takeBackup } from '../../ops/backup/take.ts';
import { countKinds, runProgram } from '../../ops/backup/tools.ts';
import { CliError } from '../../ops/commands/context.ts';
import { RunDir } from '../../ops/supervisor/rundir.ts';
import { accountPassword } from '../loadgen/password.ts';
import { type Alternation, alternate, formatAlternation } from './alternate.ts';
import type { BenchArgs } from './args.ts';
import type { CaseResult } from './cases.ts';
import { type FillSpec, fill, replicasCaughtUp, usedMemory } from './fill.ts';
import { type BenchUser, createBenchUsers } from './fixtures.ts';
import { round } from './redis-stats.ts';
import type { BenchTarget } from './target.ts';

export interface BackupBenchReport {
  settings: { sessions: number; storedUsers: number; rounds: number; durationS: number; connections: number };
  fillS: number;
  usedMemoryMiB: number;
  /** Page views while backups ran back to back (how many in each round) against without. */
  pageViews: Alternation & { backupsPerRound: number[] };
  /**
   * The same with only the backup's first step running back to back: the replica's snapshot
   * streamed by `redis-cli --rdb` (its fork and the copy), without the checks that follow it
   * (the RDB checker, the scratch server's load and count, the SHA-256).
   */
  copyOnly: Alternation & { copiesPerRound: number[] };
  backup: { id: string; seconds: number; bytes: number; counts: KindCounts; source: string };
  restore: {
    /** `restoreBackup` from its start until it reopened the site. */
    seconds: number;
    /** From the restore's start until a bench user's GET /get through HAProxy answered 200 again. */
    servingS: number;
    counts: KindCounts;
    /** Counted on the master after the restore, against the manifest's. */
    matches: boolean;
  };
  checks: { what: string; value: string; holds: boolean }[];
}

const GOAL_COST_PCT = 5;
const GOAL_RESTORE_S = 60;

/** Accounts and carts exactly as the manifest; sessions no more (some may have expired). */
function sameAsManifest(m: KindCounts, got: KindCounts): boolean {
  return got.accounts === m.accounts && got.carts === m.carts && got.sessions <= m.sessions;
}

async function pageServed(target: BenchTarget, user: BenchUser, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${target.frontUrl}/get`, {
      headers: { cookie: user.cookie },
      redirect: 'manual',
      signal: AbortSignal.timeout(2000),
    }).catch(() => undefined);
    await res?.text().catch(() => undefined);
    if (res?.status === 200) return;
    if (Date.now() > deadline) throw new CliError(`GET /get still answers ${res?.status ?? 'nothing'}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function runBackupBench(
  args: BenchArgs,
  target: BenchTarget,
  say: (m: string) => void,
): Promise<BackupBenchReport> {
  const { sessions, storedUsers, durationS, connections } = args.scale;
  const rounds = args.rounds;
  const dir = mkdtempSync(join(tmpdir(), 'ha-stack-bench-backups-'));
  try {
    const users = await createBenchUsers(target.frontUrl, undefined, connections);
    const m = await target.actions.currentMaster();
    if (!m) throw new CliError('the Sentinels name no master');
    const { fillS, usedMiB } = await withRedis(
      m.host,
      m.port,
      target.actions.login,
      async (r) => {
        const spec: FillSpec = {
          tag: Date.now().toString(36),
          passwordHash: await hashPassword(accountPassword(), args.scryptCost ?? 16384),
        };
        say(`storing ${sessions} sessions, then ${storedUsers} accounts and their carts...`);
        let s = await fill(r, 'session', spec, 0, sessions);
        s += await fill(r, 'user', spec, 0, storedUsers);
        s += await fill(r, 'cart', spec, 0, storedUsers);
        await replicasCaughtUp(r);
        return { fillS: round(s, 1), usedMiB: round((await usedMemory(r)) / 2 ** 20, 1) };
      },
      600_000,
    );
    say(`  stored in ${fillS} s; used_memory ${usedMiB} MiB`);

    say(`page views with backups running back to back and without, ${rounds} rounds each`);
    const backupsPerRound: number[] = [];
    const during = async (measure: () => Promise<CaseResult>) => {
      let done = false;
      let n = 0;
      const loop = (async () => {
        while (!done) {
          const man = await takeBackup(target.actions, { dir });
          n++;
          rmSync(join(dir, `${man.id}.rdb`), { force: true });
          rmSync(join(dir, `${man.id}.json`), { force: true });
        }
      })();
      try {
        return await measure();
      } finally {
        done = true;
        await loop;
        backupsPerRound.push(n);
        say(`  (${n} backups during that round)`);
      }
    };
    const label: [string, string] = ['a backup running', 'no backup'];
    const pageViews = {
      ...(await alternate(target, users, { rounds, connections, durationS, label, during, say })),
      backupsPerRound,
    };

    say(`page views with only the snapshot's copy (redis-cli --rdb from a replica) running and without`);
    const copiesPerRound: number[] = [];
    const replica = target.actions.topology.redis.find((n) => n.name !== m.name)!;
    const copyDuring = async (measure: () => Promise<CaseResult>) => {
      let done = false;
      let n = 0;
      const file = join(dir, 'copy-only.rdb');
      const { username, password } = target.actions.login;
      const loop = (async () => {
        while (!done) {
          const argv = ['-h', replica.host, '-p', String(replica.port), '--user', username ?? 'operator'];
          const r = await runProgram('redis-cli', [...argv, '--no-auth-warning', '--rdb', file], {
            ...(password ? { REDISCLI_AUTH: password } : {}),
          });
          if (r.code !== 0) throw new CliError(`redis-cli --rdb failed: ${r.output.trim()}`);
          n++;
        }
      })();
      try {
        return await measure();
      } finally {
        done = true;
        await loop;
        rmSync(file, { force: true });
        copiesPerRound.push(n);
        say(`  (${n} copies during that round)`);
      }
    };
    const copyLabel: [string, string] = ['the copy alone running', 'no copy'];
    const copyOnly = {
      ...(await alternate(target, users, {
        ...{ rounds, connections, durationS, say },
        label: copyLabel,
        during: copyDuring,
      })),
      copiesPerRound,
    };

    say('one backup with the data set loaded, no load...');
    const man: Manifest = await takeBackup(target.actions, { dir });
    const backup = {
      id: man.id,
      seconds: man.seconds,
      bytes: man.rdb.bytes,
      counts: man.counts,
      source: man.source.node,
    };
    say(
      `  ${man.id}: ${man.seconds} s, ${round(man.rdb.bytes / 2 ** 20, 1)} MiB (${formatCounts(man.counts)})`,
    );

    say('the mistake: FLUSHALL through the operator user; then the restore, sessions included');
    const master = await target.actions.currentMaster();
    if (!master) throw new CliError('the Sentinels name no master');
    await withRedis(master.host, master.port, target.actions.login, (r) => r.call('FLUSHALL'), 60_000);
    const running = target.apps.map((a) => a.name);
    const gate = haproxyGate(join(new RunDir(target.workDir).nodeDir('haproxy'), 'admin.sock'), running);
    const t0 = performance.now();
    const result = await restoreBackup(target.actions, {
      backup: man.id,
      dir,
      withoutSessions: false,
      gate,
      log: (x) => say(`  ${x}`),
    });
    await pageServed(target, users[0]!, 120_000);
    const servingS = round((performance.now() - t0) / 1000, 2);
    const now = await target.actions.currentMaster();
    const counted = now
      ? await withRedis(now.host, now.port, target.actions.login, (r) => countKinds(r), 60_000)
      : result.counts;
    const matches = sameAsManifest(man.counts, counted);
    say(`  serving again after ${servingS} s; on the master: ${formatCounts(counted)}`);

    const failed = pageViews.with.failed + pageViews.without.failed;
    const checks: BackupBenchReport['checks'] = [
      {
        what: `page views while a backup runs cost under ${GOAL_COST_PCT} % (median of the rounds' ratios)`,
        value: `${pageViews.pairedCostPct} % (the sides' medians: ${pageViews.with.medianRps} against ${pageViews.without.medianRps} req/s, ${pageViews.costPct} %)`,
        holds: pageViews.pairedCostPct < GOAL_COST_PCT,
      },
      {
        what: `the restore serves again within ${GOAL_RESTORE_S} s`,
        value: `${servingS} s (the restore itself ${result.seconds} s)`,
        holds: servingS <= GOAL_RESTORE_S,
      },
      {
        what: 'every account and cart back, no more sessions than the manifest counts',
        value: `${formatCounts(counted)}; manifest ${formatCounts(man.counts)}`,
        holds: matches,
      },
      { what: 'no page view failed', value: String(failed), holds: failed === 0 },
    ];
    return {
      settings: { sessions, storedUsers, rounds, durationS, connections },
      fillS,
      usedMemoryMiB: usedMiB,
      pageViews,
      copyOnly,
      backup,
      restore: { seconds: result.seconds, servingS, counts: counted, matches },
      checks,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatBackupBench(r: BackupBenchReport): string {
  const s = r.settings;
  return [
    `data set: ${s.sessions} sessions, ${s.storedUsers} accounts and carts (used_memory ${r.usedMemoryMiB} MiB), stored in ${r.fillS} s`,
    ...formatAlternation(r.pageViews, ['a backup running', 'no backup']),
    `backups taken back to back during each round: ${r.pageViews.backupsPerRound.join(', ')}; page views ${r.pageViews.pairedCostPct} % fewer`,
    ...formatAlternation(r.copyOnly, ['the copy alone running', 'no copy']),
    `copies (redis-cli --rdb) back to back during each round: ${r.copyOnly.copiesPerRound.join(', ')}; page views ${r.copyOnly.pairedCostPct} % fewer`,
    `backup ${r.backup.id} from ${r.backup.source}: ${r.backup.seconds} s, ${round(r.backup.bytes / 2 ** 20, 1)} MiB (${formatCounts(r.backup.counts)})`,
    `restore after FLUSHALL: ${r.restore.seconds} s to reopen the site, ${r.restore.servingS} s until GET /get answers 200; counted ${formatCounts(r.restore.counts)}`,
    ...r.checks.map((c) => `  ${c.holds ? 'holds' : 'MISSED'}  ${c.what}: ${c.value}`),
  ].join('\n');
}
