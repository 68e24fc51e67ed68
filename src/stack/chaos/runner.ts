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
  const users = await createUsers(
    actions.frontUrl,
    opts.users ?? 16,
    `${scenario.name}-${Date.now().toString(36)}`,
  );
  const controller = new AbortController();
  const load = runLoad(actions.frontUrl, users, controller.signal, opts.pauseMs ?? 20);
  const faults: number[] = [];
  let note: string | undefined;
  let error: string | undefined;
  try {
    await waitFor('the load to warm up', () => load.stats.writesAcked >= users.length, { timeoutMs: 30_000 });
    note = await scenario.inject({
      actions,
      rounds: opts.rounds ?? 1,
      fault: () => faults.push(performance.now()),
      log,
    });
    // Keep the load on a little after healing: requests must succeed again.
    const healed = load.stats.samples.length;
    await waitFor('requests after the fault', () => load.stats.samples.length >= healed + users.length * 4, {
      timeoutMs: 30_000,
    });
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
  } finally {
    controller.abort();
    await load.done;
  }
  const settledAt = performance.now();
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
  const row: ScenarioRow = {
    scenario: scenario.name,
    ...summary,
    writeWindowS: writeWindowS === Number.POSITIVE_INFINITY ? null : writeWindowS,
    writeWindowsS: windows.map((w) => (Number.isFinite(w) ? w : null)),
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
  samples: { kind: string; ok: boolean; status: number }[],
  downAfterMs: number,
): boolean {
  if (row.note?.includes('error:')) return false;
  if (row.writesLost > 0 || row.phantomWrites > 0 || row.sessionsLost > 0) return false;
  if (scenario.writesMayFail) {
    // Only clean refusals of writes; every read served; and writes work again at the end.
    const bad = samples.filter((s) => !s.ok && !(s.kind === 'write' && s.status === 503));
    const lastWrite = [...samples].reverse().find((s) => s.kind === 'write');
    return bad.length === 0 && !!lastWrite?.ok;
  }
  if (row.failed > 0) return false;
  if (scenario.boundedWindow && (row.writeWindowS === null || row.writeWindowS > downAfterMs / 1000 + 1.3))
    return false;
  return true;
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
    writesLost: 0,
    phantomWrites: 0,
    sessionsLost: 0,
    goal: scenario.goal,
    passed: false,
    note: `error: ${error}`,
  };
}
