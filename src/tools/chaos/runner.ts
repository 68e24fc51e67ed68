import { parseReplicationDetail } from '../../ha/info.ts';
import { keys } from '../../ha/keys.ts';
import { withRedis } from '../../ha/probes.ts';
import { SwitchWatcher } from '../../ha/switch.ts';
import type { StackActions } from '../../ops/actions.ts';
import { nodeStates } from '../../ops/observe.ts';
import { waitFor } from '../../ops/supervisor/wait.ts';
import { deleteAccounts, madeAccounts } from '../loadgen/cleanup.ts';
import { closeUsers, createUsers, type LoadUser, runLoad, split } from '../loadgen/load.ts';
import type { Sample } from '../loadgen/stats.ts';
import { compareCarts, type Discrepancy, readBack, rewrittenLosses } from './compare.ts';
import { healthyNodes, type Scenario, waitWhole } from './faults.ts';
import { describeGoal, goalFor, missedGoals } from './judge.ts';
import { watchModes } from './modes.ts';
import { describeShortfalls, type ScenarioRow, summarize } from './report.ts';

export { judge, missedGoals, windowMet } from './judge.ts';

export interface ChaosOptions {
  rounds?: number;
  /** Users at a time (a quarter of them on the JSON API, the others in a browser). */
  users?: number;
  /** Pause between one user's requests (bounds the load). */
  pauseMs?: number;
  log?: (message: string) => void;
  /** Runs once the load has stopped, before the read-back (a test tampers with the data here). */
  beforeCheck?: (users: LoadUser[]) => Promise<void>;
}

/**
 * Runs one scenario under a steady load through the front door: users sign up, the load starts,
 * the fault is injected and heals, the load stops, and what was acknowledged is compared with
 * what the master holds. Each app's /readyz is polled meanwhile for the modes it reports.
 */
export async function runScenario(
  actions: StackActions,
  scenario: Scenario,
  opts: ChaosOptions = {},
): Promise<ScenarioRow> {
  const log = opts.log ?? (() => undefined);
  const skip = await scenario.unsupported?.(actions);
  if (skip) return { ...failedRow(scenario, ''), error: undefined, missed: [], passed: true, skipped: skip };
  try {
    await waitWhole(actions);
  } catch (err) {
    return failedRow(scenario, `the stack was not whole before the fault: ${(err as Error).message}`);
  }
  // A user has ~600 writes before every quantity reaches 99: spares take over on long runs.
  const concurrency = opts.users ?? 16;
  const rounds = opts.rounds ?? 1;
  const each = split(concurrency);
  const spares = 1 + Math.ceil(rounds / 3);
  let users: LoadUser[];
  try {
    users = await createUsers(
      actions.frontUrl,
      { page: each.page * spares, api: each.api * spares },
      `${scenario.name}-${Date.now().toString(36)}`,
    );
  } catch (err) {
    return failedRow(scenario, `users could not sign up: ${(err as Error).message}`);
  }
  // The run's accounts go at its end, passed or not (best effort: the log says which).
  const cleanUp = async () => log(await deleteAccounts(actions, madeAccounts(users)));
  const controller = new AbortController();
  const load = runLoad(users, controller.signal, opts.pauseMs ?? 20, concurrency);
  const modes = watchModes(actions.topology, actions.stats.password, actions.appScheme);
  const faults: number[] = [];
  const switches = watchSwitches(actions);
  let note: string | undefined;
  let error: string | undefined;
  let twoMastersS: number | undefined;
  try {
    await waitFor('the load to warm up', () => load.stats.writesAcked >= concurrency, { timeoutMs: 30_000 });
    note = await scenario.inject({
      actions,
      rounds,
      fault: () => faults.push(performance.now()),
      log,
      twoMasters: (seconds) => {
        twoMastersS = seconds;
      },
    });
    // Keep the load on a little after healing: requests must succeed again. Until a read and a
    // write have (a site whose apps start after its Redis nodes answers 503 quickly, and as many
    // quick failures would end the load before the apps are up), or 30 s: then the judge says so.
    const healed = load.stats.samples.length;
    const served = (kind: 'read' | 'write') =>
      load.stats.samples.slice(healed).some((s) => s.ok && s.kind === kind);
    await waitFor(
      'requests after the fault, a read and a write of them served',
      () => load.stats.samples.length >= healed + concurrency * 4 && served('read') && served('write'),
      { timeoutMs: 30_000 },
    ).catch(() => undefined);
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
  } finally {
    controller.abort();
    await load.done;
    switches.close();
    await modes.close();
  }
  const settledAt = performance.now();
  // Counted once the stack settled by itself (a replica still syncing after a whole-site restart
  // is not yet linked), within 60 s: a node still missing then is missing, and the row says how
  // each node stood.
  await waitWhole(actions, 60_000).catch(() => undefined);
  const nodesAtEnd = await healthyNodes(actions).catch(() => null);
  if (nodesAtEnd !== null && nodesAtEnd < actions.topology.redis.length) {
    const states = await nodeStates(actions.topology, actions.login).catch(() => new Map());
    const at = [...states.entries()].map(([name, s]) =>
      s
        ? `${name} ${s.role}${s.role === 'slave' ? ` of ${s.masterHost}:${s.masterPort} link ${s.linkUp ? 'up' : 'down'}` : ''}`
        : `${name} not answering`,
    );
    note = `${note ? `${note}; ` : ''}at the end: ${at.join(', ')}`;
  }
  const goal = goalFor(scenario.goal, actions.topology.redis.length);
  let back: Awaited<ReturnType<typeof readBack>>;
  try {
    await opts.beforeCheck?.(users);
    try {
      back = await readBack(actions, users);
    } catch (err) {
      await cleanUp();
      return failedRow(scenario, `could not read the data back: ${(err as Error).message}`);
    }
  } finally {
    closeUsers(users);
  }
  const diff = compareCarts(users, back.carts);
  const lost = diff.filter((d) => d.kind === 'lost');
  // Lost, then written again higher before the end: the read-back cannot see those, the load did.
  const rewritten = rewrittenLosses(lost, load.stats.missingOnMaster);
  const nodesDetail =
    lost.length || back.sessionsLost
      ? await describeNodes(actions, back.master, back.missingSessions, lost).catch(
          (err: Error) => `could not look at the nodes: ${err.message}`,
        )
      : undefined;
  const lossDetail =
    [
      nodesDetail,
      rewritten.length
        ? `${rewritten.length} acknowledged value(s) missing from the master's own answers, written again before the end: ${describeShortfalls(rewritten, faults[0] ?? settledAt)}`
        : undefined,
    ]
      .filter(Boolean)
      .join('; ') || undefined;
  if (lossDetail) log(`loss: ${lossDetail}`);
  const firstFault = faults[0] ?? settledAt;
  // With several rounds, the window reported is the longest one.
  const windows = faults.map(
    (f, i) => summarize(load.stats, f, faults[i + 1] ?? settledAt).writeWindowS ?? Number.POSITIVE_INFINITY,
  );
  const writeWindowS = windows.length ? Math.max(...windows) : null;
  // When Sentinel announced each fault's new master (+switch-master). An announcement belongs to
  // the last fault at least 250 ms before it: none can follow its own fault that fast, but one can
  // arrive just after a second fault that was injected the moment a Sentinel named the new master.
  const owner = (t: number) => faults.findLastIndex((f) => f <= t - 250);
  const switchesS = faults.map((f, i) => {
    const at = switches.times.find((t) => t < settledAt && owner(t) === i);
    return at === undefined ? null : Math.round(at - f) / 1000;
  });
  const seen = modes.seen();
  const rel = (at: number) => Math.round((at - firstFault) / 100) / 10;
  const row: ScenarioRow = {
    scenario: scenario.name,
    ...summarize(load.stats, firstFault, settledAt),
    writeWindowS: writeWindowS === Number.POSITIVE_INFINITY ? null : writeWindowS,
    writeWindowsS: windows.map((w) => (Number.isFinite(w) ? w : null)),
    switchesS,
    writesLost: lost.length + rewritten.length,
    phantomWrites: diff.filter((d) => d.kind === 'phantom').length,
    sessionsLost: back.sessionsLost,
    modesSeen: seen.map((s) => s.mode),
    modeSpansS: seen.map((s) => ({
      mode: s.mode,
      fromS: rel(s.firstAt),
      toS: rel(s.lastAt),
      polls: s.polls,
    })),
    nodesAtEnd,
    ...(twoMastersS === undefined ? {} : { twoMastersS }),
    ...(lossDetail ? { lossDetail } : {}),
    goal: describeGoal(goal),
    passed: false,
    missed: [],
    error,
    note,
    slowest: slowest(load.stats.samples, firstFault),
  };
  row.missed = missedGoals(row, goal, load.stats.samples, actions.topology.downAfterMs);
  row.passed = row.missed.length === 0;
  await cleanUp();
  return row;
}

/** Each Redis node's view of the data that the read-back found missing (see ScenarioRow.lossDetail). */
async function describeNodes(
  actions: StackActions,
  readFrom: string,
  missingSessions: string[],
  lost: Discrepancy[],
): Promise<string> {
  const sids = missingSessions.filter((s) => s !== '');
  const parts = await Promise.all(
    actions.topology.redis.map(async (node) => {
      try {
        return await withRedis(node.host, node.port, actions.login, async (r) => {
          const info = parseReplicationDetail((await r.call('INFO', 'replication')) as string);
          let sessions = 0;
          for (const sid of sids) sessions += await r.exists(keys.session(sid));
          let values = 0;
          for (const d of lost) {
            if (Number(await r.hget(keys.cart(d.email), d.product)) >= d.acked) values++;
          }
          const role = info.role === 'slave' ? `replica of ${info.masterPort}` : info.role;
          return `${node.name}${node.name === readFrom ? ' (read)' : ''}: ${role}, replid ${info.replid.slice(0, 8)} offset ${info.offset}, ${await r.dbsize()} keys, ${sessions}/${sids.length} missing sessions, ${values}/${lost.length} lost values`;
        });
      } catch (err) {
        return `${node.name}: ${(err as Error).message}`;
      }
    }),
  );
  return parts.join('; ');
}

/** Records when any Sentinel announces +switch-master (performance.now() time). */
function watchSwitches(actions: StackActions): { times: number[]; close: () => void } {
  const times: number[] = [];
  const t = actions.topology;
  const watcher = new SwitchWatcher(
    { sentinels: t.sentinels, masterName: t.masterName, sentinelPassword: actions.sentinelPassword },
    () => times.push(performance.now()),
  );
  return { times, close: () => watcher.close() };
}

function failedRow(scenario: Scenario, error: string): ScenarioRow {
  return {
    scenario: scenario.name,
    requests: 0,
    reads: 0,
    writes: 0,
    pageRequests: 0,
    apiRequests: 0,
    failed: 0,
    failedReads: 0,
    failedWrites: 0,
    failedWhy: {},
    writesAcked: 0,
    staleReads: 0,
    resent: 0,
    p99Ms: 0,
    maxMs: 0,
    writeWindowS: null,
    writeWindowsS: [],
    switchesS: [],
    writesLost: 0,
    phantomWrites: 0,
    sessionsLost: 0,
    modesSeen: [],
    modeSpansS: [],
    nodesAtEnd: null,
    goal: describeGoal(scenario.goal),
    passed: false,
    missed: ['the scenario did not complete'],
    error,
  };
}

/** The slowest request, when one took longer than a second: what it was and when it left. */
function slowest(samples: Sample[], faultAt: number): string | undefined {
  const worst = samples.reduce<(typeof samples)[number] | undefined>(
    (w, x) => ((x.ms ?? 0) > (w?.ms ?? 0) ? x : w),
    undefined,
  );
  if (!worst || (worst.ms ?? 0) < 1000) return undefined;
  const from = Math.round(((worst.at ?? 0) - faultAt) / 100) / 10;
  return `slowest: ${worst.surface ?? ''} ${worst.kind} ${worst.status || 'no answer'} after ${worst.ms} ms, sent ${from} s from the fault`;
}
