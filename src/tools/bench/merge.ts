import type { CaseResult } from './cases.ts';
import { round } from './redis-stats.ts';

/** p50/p90/p99/max/mean of response times in ms (0.1 ms steps); zeros when there are none. */
export function latencyOf(samples: number[]): CaseResult['latencyMs'] {
  if (samples.length === 0) return { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
  const s = Float64Array.from(samples).sort();
  const at = (q: number) => round(s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!, 1);
  return {
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: round(s[s.length - 1]!, 1),
    mean: round(sumOf(samples) / s.length, 2),
  };
}

const sumOrNull = (xs: (number | null)[]) =>
  xs.some((x) => x === null) ? null : round(sumOf(xs as number[]), 2);

function sumOf(xs: number[]): number {
  let sum = 0;
  for (const x of xs) sum += x;
  return sum;
}

/**
 * One case measured in several slices (alternating with the other cases) as one result: the
 * requests, time, failures, Redis commands and CPU added up, the latency percentiles of every
 * response of every slice.
 */
export function mergeSlices(slices: CaseResult[], samples: number[]): CaseResult {
  const first = slices[0];
  if (!first) throw new Error('no slice to merge');
  const total = (f: (r: CaseResult) => number) => sumOf(slices.map(f));
  const requests = total((r) => r.requests);
  const durationS = round(
    total((r) => r.durationS),
    2,
  );
  const perRequest = (f: (r: CaseResult) => number) =>
    round(total((r) => f(r) * r.requests) / Math.max(1, requests), 3);
  const byCommand: Record<string, number> = {};
  for (const name of new Set(slices.flatMap((r) => Object.keys(r.redis.byCommand))))
    byCommand[name] = perRequest((r) => r.redis.byCommand[name] ?? 0);
  const cpuS = sumOrNull(slices.map((r) => r.cpuS));
  return {
    ...first,
    durationS,
    requests,
    requestsPerS: durationS > 0 ? Math.round(requests / durationS) : 0,
    latencyMs: latencyOf(samples),
    errors: total((r) => r.errors),
    timeouts: total((r) => r.timeouts),
    non2xx: total((r) => r.non2xx),
    redis: {
      commandsPerRequest: perRequest((r) => r.redis.commandsPerRequest),
      byCommand,
      connectionsOpened: total((r) => r.redis.connectionsOpened),
      newClientConnections: slices.flatMap((r) => r.redis.newClientConnections),
      redisCpuS: round(
        total((r) => r.redis.redisCpuS),
        2,
      ),
      commandUsPerRequest: round(
        perRequest((r) => r.redis.commandUsPerRequest),
        1,
      ),
      expireCycleMs: total((r) => r.redis.expireCycleMs),
    },
    cpuS,
    cpuUsPerRequest: cpuS === null || requests === 0 ? null : Math.round((cpuS * 1e6) / requests),
    haproxyCpuS: sumOrNull(slices.map((r) => r.haproxyCpuS)),
    slices: slices.length,
  };
}
