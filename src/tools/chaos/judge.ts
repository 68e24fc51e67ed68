import type { ScenarioRow } from './report.ts';

/**
 * What a scenario must achieve, as data. Whatever the goal, a read must never fail, no
 * acknowledged write may be lost, no value may appear that nobody wrote, no session may be lost.
 */
export interface Goal {
  /**
   * Writes may be refused while the fault lasts, but only with 503 and Retry-After, and writes
   * must work again by the end. Without it, no write may fail either.
   */
  writesMayFail?: boolean;
  /** Each fault's write window within down-after + 1.3 s (see windowMet), or `windowOverDownAfterS`. */
  boundedWindow?: boolean;
  /**
   * With boundedWindow, a flat bound instead of windowMet's: the window within down-after + this
   * (the hosts' scenarios: a network between the Sentinels, TLS on every hop, down-after + 2 s).
   */
  windowOverDownAfterS?: number;
  /** Healthy Redis nodes (the master and the replicas linked to it) once the scenario ended. */
  nodesAtEnd?: number;
  /**
   * The master is lost for a while, so reads are served by a replica, which may lag a moment
   * behind: up to STALE_SHARE of the reads may be stale. Without it (the master always there),
   * none may.
   */
  replicaReads?: boolean;
  /**
   * The site itself is down or its links fail while the fault lasts (every host off, the host of
   * the front door until its address moves, lossy or slow links): reads and writes may fail then,
   * and are counted; both must work again by the end. Nothing acknowledged may be lost, as always.
   */
  outage?: boolean;
  /** The longest a request may take, when not MAX_REQUEST_MS (a request in flight on a lost host). */
  maxRequestMs?: number;
  /** Two nodes may report role:master at most this long (where the scenario samples the roles). */
  maxTwoMastersS?: number;
}

/** A goal as a scenario states it: `nodesAtEnd: 'all'` is every Redis node of the stack it runs on. */
export type ScenarioGoal = Omit<Goal, 'nodesAtEnd'> & { nodesAtEnd?: number | 'all' };

/** The goal on a stack of `redisNodes` Redis nodes. */
export function goalFor(goal: ScenarioGoal, redisNodes: number): Goal {
  return { ...goal, nodesAtEnd: goal.nodesAtEnd === 'all' ? redisNodes : goal.nodesAtEnd };
}

/**
 * Share of the reads a replica serving them may show older than an acknowledged write (`WAIT 1`
 * confirms one of two replicas: the one serving reads may lack the last writes before the fault).
 * In sentinel-tilt nearly every read of the scenario comes from a replica for 10 s; 1.1 % was seen.
 */
export const STALE_SHARE = 0.02;

/**
 * No request may take longer than this, whatever the fault: the app gives up on a write after 6 s
 * (WRITE_DEADLINE_MS) and on a read's last chance as well; the rest is the margin of a loaded machine.
 */
export const MAX_REQUEST_MS = 8000;

/** The goal in words, for the report: built from the data so that the two cannot disagree. */
export function describeGoal(goal: ScenarioGoal): string {
  const parts = [
    goal.outage ? 'reads may fail while the fault lasts, then served again' : '0 failed reads',
    goal.outage
      ? 'writes may fail while the fault lasts, then served again'
      : goal.writesMayFail
        ? 'writes refused only with 503 + Retry-After, then served again'
        : '0 failed writes',
    '0 lost',
  ];
  parts.push(goal.replicaReads ? `stale reads <= ${STALE_SHARE * 100} %` : '0 stale reads');
  parts.push(`every answer within ${(goal.maxRequestMs ?? MAX_REQUEST_MS) / 1000} s`);
  if (goal.boundedWindow) parts.push(`write window <= down-after + ${goal.windowOverDownAfterS ?? 1.3} s`);
  if (goal.maxTwoMastersS !== undefined)
    parts.push(`two masters taking writes at most ${goal.maxTwoMastersS} s`);
  if (goal.nodesAtEnd === 'all') parts.push('every Redis node healthy at the end');
  else if (goal.nodesAtEnd !== undefined) parts.push(`${goal.nodesAtEnd} healthy Redis nodes at the end`);
  return parts.join(', ');
}

/** What the judge needs of each request. */
export interface JudgedSample {
  kind: string;
  ok: boolean;
  status: number;
  at?: number;
  ms?: number;
  retryAfter?: boolean;
}

/** The goals a run missed, in words; empty when it met them all. */
export function missedGoals(
  row: ScenarioRow,
  goal: Goal,
  samples: JudgedSample[],
  downAfterMs: number,
): string[] {
  const out: string[] = [];
  if (row.error) out.push('the scenario did not complete');
  if (row.requests === 0) out.push('no request was made');
  if (row.failedReads > 0 && !goal.outage) out.push(`${row.failedReads} read(s) failed`);
  if (row.writesLost > 0) out.push(`${row.writesLost} acknowledged write(s) lost`);
  if (row.phantomWrites > 0) out.push(`${row.phantomWrites} value(s) nobody wrote`);
  if (row.sessionsLost > 0) out.push(`${row.sessionsLost} session(s) lost`);
  const staleAllowed = goal.replicaReads ? Math.floor(row.reads * STALE_SHARE) : 0;
  if (row.staleReads > staleAllowed)
    out.push(
      `${row.staleReads} stale read(s) of ${row.reads}, more than ${staleAllowed}${row.staleDetail ? ` (${row.staleDetail})` : ''}`,
    );
  const maxMs = goal.maxRequestMs ?? MAX_REQUEST_MS;
  if (row.maxMs > maxMs && !goal.outage) out.push(`a request took ${row.maxMs} ms, more than ${maxMs}`);
  if (goal.outage) {
    if (!workingAgain(samples)) out.push('writes did not work again by the end');
    if (!workingAgain(samples, 'read')) out.push('reads did not work again by the end');
  } else if (goal.writesMayFail) {
    const unclean = samples.filter(
      (s) => s.kind === 'write' && !s.ok && !(s.status === 503 && s.retryAfter),
    ).length;
    if (unclean > 0) out.push(`${unclean} write(s) failed otherwise than 503 with Retry-After`);
    if (!workingAgain(samples)) out.push('writes did not work again by the end');
  } else if (row.failedWrites > 0) out.push(`${row.failedWrites} write(s) failed`);
  if (goal.boundedWindow) {
    if (row.writeWindowsS.length === 0) out.push('no fault was measured');
    const over = goal.windowOverDownAfterS;
    row.writeWindowsS.forEach((w, i) => {
      const met =
        over === undefined
          ? windowMet(w, row.switchesS[i] ?? null, downAfterMs)
          : w !== null && w <= downAfterMs / 1000 + over;
      if (!met)
        out.push(`fault ${i + 1}: write window ${w ?? 'never closed'} s > down-after + ${over ?? 1.3} s`);
    });
  }
  if (goal.maxTwoMastersS !== undefined && (row.twoMastersS ?? 0) > goal.maxTwoMastersS)
    out.push(`two masters taking writes for ${row.twoMastersS} s, more than ${goal.maxTwoMastersS} s`);
  if (goal.nodesAtEnd !== undefined && (row.nodesAtEnd ?? 0) < goal.nodesAtEnd)
    out.push(`${row.nodesAtEnd ?? 'no'} healthy Redis node(s) at the end, not ${goal.nodesAtEnd}`);
  return out;
}

export function judge(row: ScenarioRow, goal: Goal, samples: JudgedSample[], downAfterMs: number): boolean {
  return missedGoals(row, goal, samples, downAfterMs).length === 0;
}

/**
 * Writes (`kind`, or reads) work again at the end: the last one sent succeeded, and so did one
 * sent after the last failed one had been answered. One that got no answer at all (status 0: sent
 * into a lossy link, it may end long after the fault, even after the load stopped) says only that
 * they did not work when it was sent.
 */
export function workingAgain(samples: JudgedSample[], kind = 'write'): boolean {
  const sent = samples
    .filter((s) => s.kind === kind)
    .map((s, i) => ({ s, i }))
    .sort((a, b) => (a.s.at ?? a.i) - (b.s.at ?? b.i) || a.i - b.i)
    .map(({ s }) => s);
  if (!sent.at(-1)?.ok) return false;
  const failedUntil = Math.max(
    Number.NEGATIVE_INFINITY,
    ...sent.filter((s) => !s.ok).map((s) => (s.at ?? 0) + (s.status === 0 ? 0 : (s.ms ?? 0))),
  );
  return sent.some((s) => s.ok && (s.at ?? 0) >= failedUntil);
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
