import { waitForMaster } from '../../ops/observe.ts';
import { waitFor } from '../../ops/supervisor/wait.ts';
import { percentile, summarize } from '../chaos/report.ts';
import { waitWhole } from '../chaos/scenarios.ts';
import { deleteAccounts, madeAccounts } from '../loadgen/cleanup.ts';
import { createUsers, runLoad } from '../loadgen/load.ts';
import type { BenchTarget } from './target.ts';

export interface Distribution {
  min: number;
  median: number;
  max: number;
}

export interface FailoverRound {
  round: number;
  killed: string;
  promoted: string;
  /** Seconds from the kill to the end of the first write started after it that succeeded. */
  writeWindowS: number | null;
  /** Reads that started during the write window: how many, and their latency. */
  readsInWindow: number;
  readP50Ms: number | null;
  readMaxMs: number | null;
  failed: number;
}

export interface FailoverReport {
  rounds: FailoverRound[];
  users: number;
  downAfterMs: number;
  requests: number;
  failed: number;
  failedWhy: Record<string, number>;
  writeWindowS: Distribution | null;
  /** Latency of every read that started inside a write window, all rounds together. */
  readLatencyInWindowMs: (Distribution & { p99: number }) | null;
}

function distribution(values: number[]): Distribution | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  return { min: s[0]!, median: percentile(s, 50), max: s[s.length - 1]! };
}

/**
 * Kills the master `rounds` times under a light steady load through HAProxy (the chaos load:
 * `users` users, each reading and writing its cart 20 ms apart), waiting after each round until the
 * old master is back as a replica by itself, and reports how long writes waited and how reads fared.
 */
export async function runFailover(
  target: BenchTarget,
  opts: { rounds: number; users: number; log: (m: string) => void },
): Promise<FailoverReport> {
  const { actions } = target;
  await waitWhole(actions);
  const users = await createUsers(
    target.frontUrl,
    opts.users * (1 + Math.ceil(opts.rounds / 3)),
    `bench-failover-${Date.now().toString(36)}`,
  );
  const controller = new AbortController();
  const load = runLoad(users, controller.signal, 20, opts.users);
  const faults: { at: number; killed: string; promoted: string }[] = [];
  try {
    await waitFor('the load to warm up', () => load.stats.writesAcked >= opts.users, { timeoutMs: 30_000 });
    for (let round = 1; round <= opts.rounds; round++) {
      const old = await actions.currentMaster();
      if (!old) throw new Error('no master before the kill');
      const at = performance.now();
      await actions.kill(old.name);
      const next = await waitForMaster(actions.topology, actions, (m) => m.name !== old.name);
      faults.push({ at, killed: old.name, promoted: next.name });
      opts.log(`round ${round}/${opts.rounds}: ${old.name} killed, ${next.name} promoted`);
      // The supervisor (or compose's restart policy) brings the old master back as a replica.
      await waitWhole(actions);
    }
    const seen = load.stats.samples.length;
    await waitFor('requests after the last round', () => load.stats.samples.length >= seen + opts.users * 4, {
      timeoutMs: 30_000,
    });
  } finally {
    controller.abort();
    await load.done;
    // The run's accounts go, also when it fails (best effort: the line says which).
    opts.log(await deleteAccounts(actions, madeAccounts(users)));
  }
  const end = performance.now();
  const samples = load.stats.samples;
  const inWindows: number[] = [];
  const rounds = faults.map((f, i): FailoverRound => {
    const until = faults[i + 1]?.at ?? end;
    const window = summarize(load.stats, f.at, until).writeWindowS;
    const windowEnd = f.at + (window ?? 0) * 1000;
    const reads = samples
      .filter((s) => s.kind === 'read' && s.at >= f.at && s.at <= windowEnd)
      .map((s) => s.ms);
    inWindows.push(...reads);
    const d = distribution(reads);
    return {
      round: i + 1,
      killed: f.killed,
      promoted: f.promoted,
      writeWindowS: window,
      readsInWindow: reads.length,
      readP50Ms: d && Math.round(d.median),
      readMaxMs: d && Math.round(d.max),
      failed: samples.filter((s) => !s.ok && s.at >= f.at && s.at < until).length,
    };
  });
  const windows = distribution(rounds.flatMap((r) => (r.writeWindowS === null ? [] : [r.writeWindowS])));
  const reads = distribution(inWindows);
  return {
    rounds,
    users: opts.users,
    downAfterMs: actions.topology.downAfterMs,
    requests: samples.length,
    failed: samples.filter((s) => !s.ok).length,
    failedWhy: Object.fromEntries(load.stats.failures),
    writeWindowS: windows,
    readLatencyInWindowMs: reads && {
      min: Math.round(reads.min),
      median: Math.round(reads.median),
      max: Math.round(reads.max),
      p99: Math.round(percentile(inWindows, 99)),
    },
  };
}

export function formatFailover(r: FailoverReport): string {
  const lines = [
    '| round | killed | promoted | write window s | reads in window | read p50 ms | read max ms | failed |',
    '|---|---|---|---|---|---|---|---|',
    ...r.rounds.map(
      (x) =>
        `| ${x.round} | ${x.killed} | ${x.promoted} | ${x.writeWindowS ?? '-'} | ${x.readsInWindow} | ${x.readP50Ms ?? '-'} | ${x.readMaxMs ?? '-'} | ${x.failed} |`,
    ),
  ];
  const w = r.writeWindowS;
  const l = r.readLatencyInWindowMs;
  lines.push(
    '',
    `write window (s): ${w ? `min ${w.min}, median ${w.median}, max ${w.max}` : 'none measured'} (down-after ${r.downAfterMs} ms)`,
    `read latency during the window (ms): ${l ? `min ${l.min}, median ${l.median}, p99 ${l.p99}, max ${l.max}` : 'no read in a window'}`,
    `requests ${r.requests}, failed ${r.failed}${r.failed ? ` ${JSON.stringify(r.failedWhy)}` : ''}`,
  );
  return lines.join('\n');
}
