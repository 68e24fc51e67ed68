/**
 * `npm run bench -- scale`: the stack with a million sessions stored. Page views, form posts and
 * logins are measured with a small data set, then with `--sessions` sessions and `--stored-users`
 * accounts with full carts, then with the small set again (the machine's speed drifts; the loaded
 * figures are compared with the mean of the two small-set runs). Also: Redis memory per session,
 * account and cart, a replica's full resync of the loaded data set, and the failover window with it
 * loaded (kill -9 of the master under a light load).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { hashPassword } from '../../app/security/password.ts';
import { parseReplicationDetail } from '../../ha/info.ts';
import { withRedis } from '../../ha/probes.ts';
import { CliError } from '../../ops/commands/context.ts';
import { waitFor } from '../../ops/supervisor/wait.ts';
import { deleteAccounts } from '../loadgen/cleanup.ts';
import { accountPassword } from '../loadgen/password.ts';
import type { BenchArgs } from './args.ts';
import { allCases, type BenchCase, type CaseResult, drive, runCase } from './cases.ts';
import { type FailoverReport, runFailover } from './failover.ts';
import {
  accountBytes,
  type FillSpec,
  fill,
  type Kind,
  memoryUsage,
  replicasCaughtUp,
  unfill,
  usedMemory,
} from './fill.ts';
import { type BenchUser, benchAccounts, createBenchUsers } from './fixtures.ts';
import { RedisStats, round } from './redis-stats.ts';
import { nodesSettled, type Settled } from './tables.ts';
import type { BenchTarget } from './target.ts';

const CASES = ['get-haproxy', 'add-haproxy', 'login-haproxy'] as const;

export interface ScaleReport {
  settings: {
    sessions: number;
    storedUsers: number;
    baselineSessions: number;
    durationS: number;
    connections: number;
  };
  fillS: Record<Kind, number>;
  /** Seconds the nodes then spent rewriting their AOF and resizing their key tables, before the loaded measurement (and after the removal). */
  settleS: { loaded: Settled; smallAfter: Settled };
  memory: {
    usedMemoryMiB: { before: number; sessions: number; users: number; carts: number };
    /** Bytes per entry: the used_memory delta of the whole kind / its count, and MEMORY USAGE of samples. */
    perSession: { delta: number; memoryUsage: number };
    perUser: { delta: number; memoryUsage: number };
    perCart: { delta: number; memoryUsage: number };
    /** Where an account's bytes go (key, each field's name and value, Redis's overhead). */
    account: Record<string, number>;
  };
  cases: { small: CaseResult[]; loaded: CaseResult[]; smallAfter: CaseResult[] };
  /** Loaded / the mean of the two small-set runs, per case (requests per second). */
  ratios: Record<string, number | null>;
  resync: { replica: string; seconds: number; datasetMiB: number };
  failover: FailoverReport;
  checks: { what: string; value: string; holds: boolean }[];
}

async function masterClient(target: BenchTarget): Promise<{ r: Redis; name: string }> {
  const m = await target.actions.currentMaster();
  if (!m) throw new CliError('the Sentinels name no master');
  const { username, password } = target.actions.login;
  const r = new Redis({ host: m.host, port: m.port, username, password, lazyConnect: true });
  r.on('error', () => undefined);
  await r.connect();
  return { r, name: m.name };
}

/** A replica forgets its data and syncs it all again from the master: seconds until it is in sync. */
async function fullResync(
  target: BenchTarget,
  master: string,
): Promise<{ replica: string; seconds: number }> {
  const { actions } = target;
  const replica = actions.topology.redis.find((n) => n.name !== master)!;
  await actions.stop(replica.name);
  const dir = join(target.workDir, 'nodes', replica.name);
  rmSync(join(dir, 'appendonlydir'), { recursive: true, force: true });
  rmSync(join(dir, 'dump.rdb'), { force: true });
  const t0 = performance.now();
  await actions.start(replica.name);
  await waitFor(
    `${replica.name} to finish its full resync`,
    () =>
      withRedis(replica.host, replica.port, actions.login, async (r) => {
        const info = parseReplicationDetail(await r.info('replication'));
        return info.linkUp && !info.syncing;
      }).catch(() => false),
    { timeoutMs: 300_000, intervalMs: 50 },
  );
  return { replica: replica.name, seconds: round((performance.now() - t0) / 1000, 2) };
}

export async function runScale(
  args: BenchArgs,
  target: BenchTarget,
  say: (m: string) => void,
): Promise<ScaleReport> {
  const users = await createBenchUsers(target.frontUrl, undefined, args.scale.connections);
  try {
    return await measureScale(args, target, say, users);
  } finally {
    // The run's accounts go at its end, also when it fails (best effort: the line says which).
    say(await deleteAccounts(target.actions, benchAccounts(users)));
  }
}

async function measureScale(
  args: BenchArgs,
  target: BenchTarget,
  say: (m: string) => void,
  users: BenchUser[],
): Promise<ScaleReport> {
  const { sessions, storedUsers, baselineSessions, durationS, connections } = args.scale;
  // Only the app's own cases; the ceiling's and the peer's endpoints are not started in this mode.
  const front = {
    url: target.frontUrl,
    pids: () => target.apps.map((a) => target.pidOf(a.name)),
    haproxyPid: () => target.pidOf('haproxy'),
  };
  const pair = { front, direct: front };
  const cases = allCases({ app: pair, ceiling: pair, peer: pair }).filter((c) =>
    (CASES as readonly string[]).includes(c.id),
  );
  const measure = async (label: string): Promise<CaseResult[]> => {
    const m = await target.actions.currentMaster();
    if (!m) throw new CliError('the Sentinels name no master');
    const stats = await RedisStats.open(m.host, m.port, target.actions.login);
    try {
      const out: CaseResult[] = [];
      for (const c of cases as BenchCase[]) {
        const r = await runCase(c, users, stats, { connections, durationS, progress: false });
        const redisUs = Math.round((r.redis.redisCpuS * 1e6) / Math.max(1, r.requests));
        say(
          `  ${label} ${c.id}: ${r.requestsPerS} req/s, p99 ${r.latencyMs.p99} ms; CPU µs a request: apps ${r.cpuUsPerRequest ?? '-'}, Redis ${redisUs} (commands ${r.redis.commandUsPerRequest}), expiry ${r.redis.expireCycleMs} ms`,
        );
        out.push(r);
      }
      return out;
    } finally {
      await stats.close();
    }
  };

  const tag = Date.now().toString(36);
  const spec: FillSpec = {
    tag,
    passwordHash: await hashPassword(accountPassword(), args.scryptCost ?? 16384),
  };
  const { r, name: master } = await masterClient(target);
  try {
    say(`small data set: ${baselineSessions} sessions`);
    await fill(r, 'session', spec, 0, baselineSessions);
    // A first pass unmeasured: connections opened, code paths compiled.
    for (const c of cases)
      if (c.id !== 'login-haproxy') await drive(c, users, { connections, durationS: 2, progress: false });
    const small = await measure('small');

    const before = await usedMemory(r);
    say(`storing ${sessions} sessions, then ${storedUsers} accounts and their carts...`);
    const fillS = { session: 0, user: 0, cart: 0 } as Record<Kind, number>;
    fillS.session = await fill(r, 'session', spec, baselineSessions, sessions);
    const afterSessions = await usedMemory(r);
    fillS.user = await fill(r, 'user', spec, 0, storedUsers);
    const afterUsers = await usedMemory(r);
    fillS.cart = await fill(r, 'cart', spec, 0, storedUsers);
    const afterCarts = await usedMemory(r);
    say(`  stored in ${fillS.session} s (sessions), ${fillS.user} s (accounts), ${fillS.cart} s (carts)`);
    await replicasCaughtUp(r);
    const per = (delta: number, n: number) => (n > 0 ? Math.round(delta / n) : 0);
    const mib = (b: number) => round(b / 2 ** 20, 1);
    const memory: ScaleReport['memory'] = {
      usedMemoryMiB: {
        before: mib(before),
        sessions: mib(afterSessions),
        users: mib(afterUsers),
        carts: mib(afterCarts),
      },
      perSession: {
        delta: per(afterSessions - before, sessions - baselineSessions),
        memoryUsage: await memoryUsage(r, 'session', tag, sessions),
      },
      perUser: {
        delta: per(afterUsers - afterSessions, storedUsers),
        memoryUsage: await memoryUsage(r, 'user', tag, storedUsers),
      },
      perCart: {
        delta: per(afterCarts - afterUsers, storedUsers),
        memoryUsage: await memoryUsage(r, 'cart', tag, storedUsers),
      },
      account: await accountBytes(r, tag),
    };
    say(
      `  bytes per session ${memory.perSession.delta} (MEMORY USAGE ${memory.perSession.memoryUsage}), per account ${memory.perUser.delta} (${memory.perUser.memoryUsage}), per cart ${memory.perCart.delta} (${memory.perCart.memoryUsage})`,
    );

    const settledLoaded = await nodesSettled(target);
    say(
      `  every node done with its AOF rewrite after ${settledLoaded.rewriteS} s more, with growing its key tables after ${settledLoaded.tablesS} s more`,
    );
    const loaded = await measure('loaded');
    say('full resync of a replica with the data set loaded...');
    const resync = { ...(await fullResync(target, master)), datasetMiB: mib(afterCarts) };
    say(`  ${resync.replica} in sync again after ${resync.seconds} s`);
    say('failover with the data set loaded (kill -9 of the master under a light load)...');
    const failover = await runFailover(target, { rounds: 1, users: 8, log: (m) => say(`  ${m}`) });

    say('removing the stored data set...');
    const { r: now } = await masterClient(target);
    try {
      await unfill(now, 'session', tag, baselineSessions, sessions);
      await unfill(now, 'user', tag, 0, storedUsers);
      await unfill(now, 'cart', tag, 0, storedUsers);
      await replicasCaughtUp(now);
    } finally {
      now.disconnect();
    }
    const settledAfter = await nodesSettled(target);
    const smallAfter = await measure('small again');

    const ratios: Record<string, number | null> = {};
    for (const id of CASES) {
      const rps = (rows: CaseResult[]) => rows.find((x) => x.case === id)?.requestsPerS ?? 0;
      const base = (rps(small) + rps(smallAfter)) / 2;
      ratios[id] = base > 0 ? round(rps(loaded) / base, 2) : null;
    }
    const checks: ScaleReport['checks'] = CASES.map((id) => ({
      what: `${id} with ${sessions} sessions >= 0.9 x with ${baselineSessions}`,
      value: `${ratios[id] ?? '-'} x`,
      holds: (ratios[id] ?? 0) >= 0.9,
    }));
    // MEMORY USAGE counts the key and its value; the used_memory delta also counts the entries of
    // Redis's key and expiry tables, which grow by doubling (so it depends on the count).
    checks.push({
      what: 'a session takes under 200 bytes of Redis memory (MEMORY USAGE)',
      value: `${memory.perSession.memoryUsage} B (used_memory delta per session: ${memory.perSession.delta} B)`,
      holds: memory.perSession.memoryUsage < 200,
    });
    const failed = [...small, ...loaded, ...smallAfter].filter((x) => x.errors + x.timeouts + x.non2xx > 0);
    checks.push({
      what: 'no request failed (the cases and the failover load)',
      value:
        failed.length || failover.failed
          ? `${failed.map((x) => x.case).join(', ')} failover ${failover.failed}`
          : 'none',
      holds: failed.length === 0 && failover.failed === 0,
    });
    return {
      settings: args.scale,
      fillS,
      settleS: { loaded: settledLoaded, smallAfter: settledAfter },
      memory,
      cases: { small, loaded, smallAfter },
      ratios,
      resync,
      failover,
      checks,
    };
  } finally {
    r.disconnect();
  }
}

export function formatScale(r: ScaleReport): string {
  const row = (label: string, rows: CaseResult[]) =>
    `| ${label} | ${CASES.map((id) => {
      const x = rows.find((c) => c.case === id);
      return x ? `${x.requestsPerS} req/s, p99 ${x.latencyMs.p99} ms` : '-';
    }).join(' | ')} |`;
  const m = r.memory;
  const s = r.settings;
  return [
    `| data set | ${CASES.join(' | ')} |`,
    `|---|${CASES.map(() => '---').join('|')}|`,
    row(`${s.baselineSessions} sessions`, r.cases.small),
    row(`${s.sessions} sessions, ${s.storedUsers} accounts`, r.cases.loaded),
    row(`${s.baselineSessions} sessions again`, r.cases.smallAfter),
    `| loaded / small | ${CASES.map((id) => `${r.ratios[id] ?? '-'} x`).join(' | ')} |`,
    '',
    `stored in ${r.fillS.session} s (sessions), ${r.fillS.user} s (accounts), ${r.fillS.cart} s (carts), then AOF rewrites for ${r.settleS.loaded.rewriteS} s and key tables growing for ${r.settleS.loaded.tablesS} s more; used_memory ${m.usedMemoryMiB.before} -> ${m.usedMemoryMiB.carts} MiB`,
    `bytes per session ${m.perSession.delta} (MEMORY USAGE ${m.perSession.memoryUsage}), per account ${m.perUser.delta} (${m.perUser.memoryUsage}), per cart ${m.perCart.delta} (${m.perCart.memoryUsage})`,
    `an account: ${Object.entries(m.account)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')} bytes`,
    `full resync of ${r.resync.replica} (${r.resync.datasetMiB} MiB): ${r.resync.seconds} s`,
    `failover with the data loaded: write window ${r.failover.rounds.map((x) => x.writeWindowS ?? '-').join(', ')} s, ${r.failover.failed} of ${r.failover.requests} requests failed`,
    ...r.checks.map((c) => `  ${c.holds ? 'holds' : 'MISSED'}  ${c.what}: ${c.value}`),
  ].join('\n');
}
