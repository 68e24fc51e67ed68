import { SwitchWatcher } from '../../redis/switch.ts';
import type { StackActions } from '../actions.ts';
import { withRedis } from '../process/probes.ts';
import { waitFor } from '../process/wait.ts';
import { compareCarts } from './check.ts';
import { createUsers, type LoadUser, runLoad } from './load.ts';
import { type ScenarioRow, summarize } from './report.ts';
import { type Scenario, waitWhole } from './scenarios.ts';

export interface ChaosOptions {
  rounds?: number;
  users?: number;
  /** Pause between one user's requests (bounds the load). */
  pauseMs?: number;
  log?: (message: string) => void;
  /** Runs once the load has stopped, before the read-back (a test tampers with the data here). */
  beforeCheck?: (users: LoadUser[]) => Promise<void>;
}

/** Reads every user's cart and session back from the current master. */
async function readBack(actions: StackActions, users: LoadUser[]) {
  const m = await actions.currentMaster();
  if (!m) throw new Error('no master to read back from');
  return withRedis(
    m.host,
    m.port,
    actions.password,
    async (r) => {
      const carts = new Map<string, Record<string, string>>();
      let sessionsLost = 0;
      for (const u of users) {
        carts.set(u.email, await r.hgetall(`cart:{${u.email}}`));
        const sid = u.cookie.slice('sid='.length).split('.')[0];
        if (!(await r.exists(`sess:${sid}`))) sessionsLost++;
      }
      return { carts, sessionsLost };
    },
    5000,
  );
}

/**
 * Runs one scenario under a steady load through the front door: users log in, the load starts,
 * the fault is injected and healed, the load stops, and what was acknowledged is compared with
 * what the master holds.
 */
export async function runScenario(
  actions: StackActions,
  scenario: Scenario,
  opts: ChaosOptions = {},
): Promise<ScenarioRow> {
  const log = opts.log ?? (() => undefined);
  const skip = await scenario.unsupported?.(actions);
  if (skip) return { ...failedRow(scenario, ''), passed: true, note: undefined, skipped: skip };
  try {
    await waitWhole(actions);
  } catch (err) {
    return failedRow(scenario, `the stack was not whole before the fault: ${(err as Error).message}`);
  }
  // A user has ~600 writes before every quantity reaches 99: spares take over on long runs.
  const concurrency = opts.users ?? 16;
  const rounds = opts.rounds ?? 1;
  const users = await createUsers(
    actions.frontUrl,
    concurrency * (1 + Math.ceil(rounds / 3)),
    `${scenario.name}-${Date.now().toString(36)}`,
  );
  const controller = new AbortController();
  const load = runLoad(actions.frontUrl, users, controller.signal, opts.pauseMs ?? 20, concurrency);
  const faults: number[] = [];
  const switches = watchSwitches(actions);
  let note: string | undefined;
  let error: string | undefined;
  try {
    await waitFor('the load to warm up', () => load.stats.writesAcked >= concurrency, { timeoutMs: 30_000 });
    note = await scenario.inject({
      actions,
      rounds: opts.rounds ?? 1,
      fault: () => faults.push(performance.now()),
      log,
    });
    // Keep the load on a little after healing: requests must succeed again.
    const healed = load.stats.samples.length;
    await waitFor('requests after the fault', () => load.stats.samples.length >= healed + concurrency * 4, {
      timeoutMs: 30_000,
    });
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
  } finally {
    controller.abort();
    await load.done;
    switches.close();
  }
  const settledAt = performance.now();
  await opts.beforeCheck?.(users);
  let back: Awaited<ReturnType<typeof readBack>>;
  try {
    back = await readBack(actions, users);
  } catch (err) {
    return failedRow(scenario, `could not read the data back: ${(err as Error).message}`);
  }
  const { carts, sessionsLost } = back;
  const diff = compareCarts(users, carts);
  const firstFault = faults[0] ?? settledAt;
  const summary = summarize(load.stats, firstFault, settledAt);
  // With several rounds, the window reported is the longest one.
  const windows = faults.map(
    (f, i) => summarize(load.stats, f, faults[i + 1] ?? settledAt).writeWindowS ?? Number.POSITIVE_INFINITY,
  );
  const writeWindowS = windows.length ? Math.max(...windows) : null;
  // When Sentinel announced each fault's new master (+switch-master), if it did before the next fault.
  const switchesS = faults.map((f, i) => {
    const at = switches.times.find((t) => t >= f && t < (faults[i + 1] ?? settledAt));
    return at === undefined ? null : Math.round(at - f) / 1000;
  });
  const row: ScenarioRow = {
    scenario: scenario.name,
    ...summary,
    writeWindowS: writeWindowS === Number.POSITIVE_INFINITY ? null : writeWindowS,
    writeWindowsS: windows.map((w) => (Number.isFinite(w) ? w : null)),
    switchesS,
    writesLost: diff.filter((d) => d.kind === 'lost').length,
    phantomWrites: diff.filter((d) => d.kind === 'phantom').length,
    sessionsLost,
    goal: scenario.goal,
    passed: false,
    note: [note, error && `error: ${error}`].filter(Boolean).join('; ') || undefined,
  };
  row.passed = judge(row, scenario, load.stats.samples, actions.topology.downAfterMs);
  return row;
}

export function judge(
  row: ScenarioRow,
  scenario: Scenario,
  samples: { kind: string; ok: boolean; status: number; retryAfter?: boolean }[],
  downAfterMs: number,
): boolean {
  if (row.note?.includes('error:')) return false;
  if (row.writesLost > 0 || row.phantomWrites > 0 || row.sessionsLost > 0) return false;
  if (scenario.writesMayFail) {
    // Only clean refusals of writes; every read served; and writes work again at the end.
    const bad = samples.filter((s) => !s.ok && !(s.kind === 'write' && s.status === 503 && s.retryAfter));
    const lastWrite = [...samples].reverse().find((s) => s.kind === 'write');
    return bad.length === 0 && !!lastWrite?.ok;
  }
  if (row.failed > 0) return false;
  if (scenario.boundedWindow) {
    if (row.writeWindowsS.length === 0) return false;
    return row.writeWindowsS.every((w, i) => windowMet(w, row.switchesS[i] ?? null, downAfterMs));
  }
  return true;
}

/**
 * The write window of one fault is met when it is within down-after + 1.3 s. Sentinel alone takes
 * down-after + 1.1 to 1.3 s on this kind of machine (its INFO period of 1 s while it waits for the
 * promotion dominates), and a second second when its first request for votes finds the others not
 * yet agreeing. So a round in which Sentinel itself announced the switch late also passes when the
 * app followed within 100 ms of the announcement, up to down-after + 2.3 s.
 */
export function windowMet(windowS: number | null, switchS: number | null, downAfterMs: number): boolean {
  if (windowS === null) return false;
  const d = downAfterMs / 1000;
  if (windowS <= d + 1.3) return true;
  return switchS !== null && windowS - switchS <= 0.1 && windowS <= d + 2.3;
}

/** Records when any Sentinel announces +switch-master (performance.now() time). */
function watchSwitches(actions: StackActions): { times: number[]; close: () => void } {
  const times: number[] = [];
  const t = actions.topology;
  const watcher = new SwitchWatcher({ sentinels: t.sentinels, masterName: t.masterName }, () =>
    times.push(performance.now()),
  );
  return { times, close: () => watcher.close() };
}

function failedRow(scenario: Scenario, error: string): ScenarioRow {
  return {
    scenario: scenario.name,
    requests: 0,
    failed: 0,
    failedWhy: {},
    writesAcked: 0,
    staleReads: 0,
    p99Ms: 0,
    maxMs: 0,
    writeWindowS: null,
    writeWindowsS: [],
    switchesS: [],
    writesLost: 0,
    phantomWrites: 0,
    sessionsLost: 0,
    goal: scenario.goal,
    passed: false,
    note: `error: ${error}`,
  };
}
