import type { CaseResult } from './cases.ts';
import { round } from './redis-stats.ts';

/** p50/p90/p99/max/mean of response times in ms (0.1 ms steps); zeros when there are none. */
export function latencyOf(samples: number[]): CaseResult['latencyMs'] {
  if (samples.length === 0) return { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
  const s = Float64Array.from(samples).sort();
  const at = (q: number) => round(s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!, 1);
  let sum = 0;
  for (const v of s) sum += v;
  return {
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: round(s[s.length - 1]!, 1),
    mean: round(sum / s.length, 2),
  };
}

const sumOrNull = (xs: (number | null)[]) =>
  xs.some((x) => x === null)
    ? null
    : round(
        xs.reduce<number>((a, x) => a + x!, 0),
        2,
      );

/**
 * One case measured in several slices (alternating with the other cases) as one result: the
 * requests, time, failures, Redis commands and CPU added up, the latency percentiles of every
 * response of every slice.
 */
export function mergeSlices(slices: CaseResult[], samples: number[]): CaseResult {
  const first = slices[0];
  if (!first) throw new Error('no slice to merge');
  const requests = slices.reduce((a, r) => a + r.requests, 0);
  const durationS = round(
    slices.reduce((a, r) => a + r.durationS, 0),
    2,
  );
  const perRequest = (f: (r: CaseResult) => number) =>
    round(slices.reduce((a, r) => a + f(r) * r.requests, 0) / Math.max(1, requests), 3);
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
    errors: slices.reduce((a, r) => a + r.errors, 0),
    timeouts: slices.reduce((a, r) => a + r.timeouts, 0),
    non2xx: slices.reduce((a, r) => a + r.non2xx, 0),
    redis: {
      commandsPerRequest: perRequest((r) => r.redis.commandsPerRequest),
      byCommand,
      connectionsOpened: slices.reduce((a, r) => a + r.redis.connectionsOpened, 0),
      newClientConnections: slices.flatMap((r) => r.redis.newClientConnections),
      redisCpuS: round(
        slices.reduce((a, r) => a + r.redis.redisCpuS, 0),
        2,
      ),
    },
    cpuS,
    cpuUsPerRequest: cpuS === null || requests === 0 ? null : Math.round((cpuS * 1e6) / requests),
    haproxyCpuS: sumOrNull(slices.map((r) => r.haproxyCpuS)),
    slices: slices.length,
  };
}
