import type { StackActions } from '../../ops/actions.ts';
import { waitWhole } from '../chaos/faults.ts';
import { percentile } from '../chaos/report.ts';
import { deleteAccounts, madeAccounts } from '../loadgen/cleanup.ts';
import { closeUsers, createUsers, split } from '../loadgen/load.ts';
import type { MonitoringAccess } from '../monitor/api.ts';
import {
  type DriftJudgement,
  type GrowthJudgement,
  type IntervalRow,
  intervalRow,
  judgeDrift,
  judgeGrowth,
} from './aggregate.ts';
import { type AlertSeen, waitMonitoringQuiet, watchAlerts } from './alert-watch.ts';
import { headerLine, judgementLines, rowLine } from './format.ts';
import { type KillRecord, killMasters } from './kills.ts';
import { expectedSessions, type MixedLoad, runMixedLoad } from './mixed.ts';
import { type ReadBack, readBack } from './read-back.ts';
import { type Probe, watchResources } from './resources.ts';
import type { SessionCounters } from './session.ts';

export interface SoakOptions {
  minutes: number;
  /** Minutes between two master kills; 0: none. */
  killEveryMinutes: number;
  /** Users at a time (a quarter of them on the JSON API). */
  users: number;
  /** Length of a reporting interval (60: one line a minute). */
  intervalS: number;
  /** Pause between two requests of a user. */
  pauseMs: number;
  /** Mean length of a user's visit between login and logout. */
  visitS: number;
  /** The app instances' pids now (their RSS is read from /proc). */
  appPids: () => Record<string, number | undefined>;
  log: (line: string) => void;
  /** With it, Alertmanager is watched all along and any alert it holds misses a target. */
  monitoring?: MonitoringAccess | undefined;
}

export const SOAK_DEFAULTS = { killEveryMinutes: 3, users: 16, intervalS: 60, pauseMs: 200, visitS: 120 };

/** Share of the visits after which the user leaves and a new one registers. */
const LEAVE_SHARE = 0.25;

export interface SoakTotals extends SessionCounters {
  requests: number;
  reads: number;
  writes: number;
  failedReads: number;
  failedWrites: number;
  failedRetryAfter: number;
  failedWhy: Record<string, number>;
  p99Ms: number;
  maxMs: number;
  writesAcked: number;
  staleReads: number;
  resent: number;
  users: number;
}

export interface SoakResult {
  rows: IntervalRow[];
  kills: KillRecord[];
  totals: SoakTotals;
  check: ReadBack | null;
  growth: GrowthJudgement;
  drift: DriftJudgement;
  passed: boolean;
  missed: string[];
  error?: string;
  /** With monitoring: what Alertmanager held during the run, and what Prometheus's ALERTS kept. */
  alerts?: {
    raised: AlertSeen[];
    firedInPrometheus: string[];
    pendingInPrometheus: string[];
    failedLooks: number;
  };
}

const wait = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/**
 * The soak: the mixed load for `minutes`, a master kill every `killEveryMinutes` (the stack heals
 * itself in between), one line of figures per interval, then the read-back of every acknowledged
 * write, account and session from the master, and the judgement against the targets.
 */
export async function runSoak(actions: StackActions, opts: SoakOptions): Promise<SoakResult> {
  const durationS = opts.minutes * 60;
  await waitWhole(actions);
  if (opts.monitoring) await waitMonitoringQuiet(opts.monitoring);
  const watch = opts.monitoring ? watchAlerts(opts.monitoring) : undefined;
  const tag = Date.now().toString(36);
  const seated = await createUsers(actions.frontUrl, split(opts.users), `soak-${tag}`);
  const controller = new AbortController();
  const load = runMixedLoad(actions.frontUrl, seated, controller.signal, {
    pauseMs: opts.pauseMs,
    visitS: opts.visitS,
    leaveShare: LEAVE_SHARE,
    tag,
  });
  const start = performance.now();
  const resources = watchResources(actions, opts.appPids, Math.max(1000, (opts.intervalS * 1000) / 6));
  const kills: KillRecord[] = [];
  const stopKills = new AbortController();
  let error: string | undefined;
  const killing = killMasters(
    actions,
    start,
    start + durationS * 1000,
    opts.killEveryMinutes * 60_000,
    stopKills.signal,
    kills,
    (m) => opts.log(`  ${m}`),
  ).catch((err: Error) => {
    error = `the stack did not heal itself after a kill: ${err.message}`;
    opts.log(`  ${error}`);
  });
  const apps = Object.keys(opts.appPids()).sort();
  opts.log(headerLine(apps));
  const rows: IntervalRow[] = [];
  try {
    await report(rows, durationS, opts, apps, load, resources.probes, kills, start, async () => {
      if (watch) opts.log(`  alerts in Alertmanager: ${await watch.now()}`);
    });
  } finally {
    controller.abort();
    await load.done;
    stopKills.abort();
    await killing;
    await resources.close();
  }
  if (load.error) error ??= `a user's loop stopped: ${load.error}`;
  let check: ReadBack | null = null;
  try {
    await waitWhole(actions);
    check = await readBack(
      actions,
      load.users,
      expectedSessions(load.loggedIn),
      (u) => load.signedUp.has(u),
      load.stats.missingOnMaster,
    );
  } catch (err) {
    error ??= `could not read the data back: ${(err as Error).message}`;
  } finally {
    closeUsers(load.users);
    // The run's accounts go, passed or not (best effort: the log says which).
    opts.log(await deleteAccounts(actions, madeAccounts(load.users)));
  }
  const totals = total(load);
  const growth = judgeGrowth(rows, durationS);
  const drift = judgeDrift(rows, durationS);
  const missed = missedTargets(totals, check, kills, opts, durationS, error);
  missed.push(...growth.missed, ...drift.missed);
  for (const line of judgementLines(growth, drift)) opts.log(line);
  let alerts: SoakResult['alerts'];
  if (watch) {
    const seen = await watch.stop((performance.now() - start) / 1000 + 10);
    alerts = { raised: watch.raised, failedLooks: watch.failedLooks, ...seen };
    missed.push(...alertsMissed(alerts));
  }
  const result = { rows, kills, totals, check, growth, drift, passed: missed.length === 0, missed, error };
  return alerts ? { ...result, alerts } : result;
}

/** A healthy run raises no alert: none in Alertmanager, none firing in Prometheus, no blind look. */
export function alertsMissed(a: NonNullable<SoakResult['alerts']>): string[] {
  const missed: string[] = [];
  if (a.raised.length)
    missed.push(`${a.raised.length} alert(s) in Alertmanager: ${a.raised.map((x) => x.line).join('; ')}`);
  if (a.firedInPrometheus.length && !a.raised.length)
    missed.push(`alert(s) firing in Prometheus: ${a.firedInPrometheus.join('; ')}`);
  if (a.failedLooks) missed.push(`Alertmanager did not answer ${a.failedLooks} look(s)`);
  return missed;
}

/** One row and one line per interval, until the end of the run. */
async function report(
  rows: IntervalRow[],
  durationS: number,
  opts: SoakOptions,
  apps: string[],
  load: MixedLoad,
  probes: Probe[],
  kills: KillRecord[],
  start: number,
  afterRow: () => Promise<void>,
): Promise<void> {
  let taken = { samples: 0, probes: 0, acked: 0, sessions: { ...load.counters } };
  for (let i = 1; ; i++) {
    const toS = Math.min(i * opts.intervalS, durationS);
    await wait(start + toS * 1000 - performance.now());
    const now = { ...load.counters };
    // The interval's bounds as scheduled, not as the timer fired: a kill (scheduled on the same
    // clock, at or after its time) then falls in exactly one interval, however late either woke.
    rows.push(
      intervalRow({
        index: i,
        fromS: (i - 1) * opts.intervalS,
        toS,
        samples: load.stats.samples.slice(taken.samples),
        writesAcked: load.stats.writesAcked - taken.acked,
        sessions: {
          logins: now.logins - taken.sessions.logins,
          logouts: now.logouts - taken.sessions.logouts,
          registrations: now.registrations - taken.sessions.registrations,
        },
        probes: probes.slice(taken.probes),
        kills: kills.map((k) => ({
          atS: k.atS,
          wholeS: k.wholeAfterS === null ? null : k.atS + k.wholeAfterS,
        })),
      }),
    );
    opts.log(rowLine(rows.at(-1)!, apps));
    await afterRow();
    taken = {
      samples: load.stats.samples.length,
      probes: probes.length,
      acked: load.stats.writesAcked,
      sessions: now,
    };
    if (toS >= durationS) return;
  }
}

function total(load: MixedLoad): SoakTotals {
  const samples = load.stats.samples;
  const failedWhy: Record<string, number> = {};
  for (const [why, n] of load.stats.failures) failedWhy[why] = n;
  const failed = samples.filter((s) => !s.ok);
  const ms = samples.map((s) => s.ms);
  return {
    requests: samples.length,
    reads: samples.filter((s) => s.kind === 'read').length,
    writes: samples.filter((s) => s.kind === 'write').length,
    failedReads: failed.filter((s) => s.kind === 'read').length,
    failedWrites: failed.filter((s) => s.kind === 'write').length,
    failedRetryAfter: failed.filter((s) => s.status === 503 && s.retryAfter).length,
    failedWhy,
    p99Ms: Math.round(percentile(ms, 99)),
    maxMs: Math.round(ms.reduce((a, b) => Math.max(a, b), 0)),
    writesAcked: load.stats.writesAcked,
    staleReads: load.stats.staleReads,
    resent: load.stats.resent,
    users: load.users.length,
    ...load.counters,
  };
}

/**
 * The targets besides growth and drift: no request failed (a 503 with Retry-After included: the
 * chaos scenarios hold a master kill to 0 failed requests, and so does the soak), nothing
 * acknowledged lost, every kill healed by itself.
 */
export function missedTargets(
  totals: SoakTotals,
  check: ReadBack | null,
  kills: KillRecord[],
  opts: Pick<SoakOptions, 'killEveryMinutes'>,
  durationS: number,
  error: string | undefined,
): string[] {
  const missed: string[] = [];
  if (error) missed.push(error);
  const failed = totals.failedReads + totals.failedWrites;
  if (failed > 0)
    missed.push(
      `${failed} failed request(s) (${totals.failedReads} reads, ${totals.failedWrites} writes; ${totals.failedRetryAfter} of them 503 with Retry-After)`,
    );
  if (totals.writesAcked === 0) missed.push('no write was acknowledged');
  if (check) {
    if (check.writesLost) missed.push(`${check.writesLost} acknowledged write(s) lost`);
    if (check.phantomWrites) missed.push(`${check.phantomWrites} value(s) nobody wrote`);
    if (check.sessionsLost) missed.push(`${check.sessionsLost} session(s) lost`);
    if (check.accountsLost) missed.push(`${check.accountsLost} account(s) lost`);
  }
  const due = opts.killEveryMinutes > 0 ? Math.ceil(durationS / (opts.killEveryMinutes * 60)) - 1 : 0;
  if (kills.length < due) missed.push(`${kills.length} of ${due} master kill(s) happened`);
  if (kills.some((k) => k.wholeAfterS === null) && !error) missed.push('a kill did not heal');
  return missed;
}
