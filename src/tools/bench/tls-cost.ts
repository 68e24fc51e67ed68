// Where TLS's cost goes (`bench tls`): the CPU each part of the stack spends per request, with and
// without TLS, and what a new connection costs when every request opens one (a full handshake each
// time with TLS). CPU per request is read from /proc, so it holds on a busy machine where the
// requests per second of one round do not.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { stackTls } from '../../ha/tls.ts';
import { cpuSeconds } from './procs.ts';
import { round } from './redis-stats.ts';
import type { BenchTarget } from './target.ts';

/** The parts whose CPU is counted: the front, the apps, the Redis nodes, the Sentinels, the load. */
export const PARTS = ['haproxy', 'apps', 'redis', 'sentinels', 'client'] as const;
export type Part = (typeof PARTS)[number];
export type PartCpu = Record<Part, number>;

function partPids(target: BenchTarget): Record<Exclude<Part, 'client'>, (number | undefined)[]> {
  const t = target.actions.topology;
  return {
    haproxy: [target.pidOf('haproxy')],
    apps: t.apps.map((a) => target.pidOf(a.name)),
    redis: t.redis.map((r) => target.pidOf(r.name)),
    sentinels: t.sentinels.map((s) => target.pidOf(s.name)),
  };
}

/** CPU seconds each part has used so far (the client: this process, which drives the load). */
export function partCpu(target: BenchTarget): PartCpu {
  const pids = partPids(target);
  const sum = (xs: (number | undefined)[]): number =>
    xs.reduce<number>((n, pid) => n + (cpuSeconds(pid) ?? 0), 0);
  const self = process.cpuUsage();
  return {
    haproxy: sum(pids.haproxy),
    apps: sum(pids.apps),
    redis: sum(pids.redis),
    sentinels: sum(pids.sentinels),
    client: (self.user + self.system) / 1e6,
  };
}

/** Microseconds of CPU per request of each part between two readings. */
export function perRequest(before: PartCpu, after: PartCpu, requests: number): PartCpu {
  const out = {} as PartCpu;
  for (const p of PARTS) out[p] = requests > 0 ? round(((after[p] - before[p]) * 1e6) / requests, 1) : 0;
  return out;
}

export interface HandshakeResult {
  /** Requests answered, each on a connection of its own. */
  requests: number;
  failed: number;
  perS: number;
  /** HAProxy's CPU per new connection (µs): the handshake, with TLS, is where it goes. */
  haproxyUsPerConnection: number;
}

/**
 * `parallel` loops, each sending `GET /healthz` through the front on a new connection (no keep-alive,
 * no TLS session reused) for `seconds`: the price of a connection's set-up, which keep-alive on
 * every hop makes rare in the other cases.
 */
export async function handshakes(
  target: BenchTarget,
  seconds: number,
  parallel = 8,
): Promise<HandshakeResult> {
  const url = new URL('/healthz', target.frontUrl);
  const https = url.protocol === 'https:';
  const ca = https ? stackTls()?.ca : undefined;
  const once = () =>
    new Promise<boolean>((resolve) => {
      const options = { agent: false as const, headers: { connection: 'close' }, timeout: 5000 };
      const req = https
        ? httpsRequest(url, { ...options, ...(ca ? { ca } : {}) })
        : httpRequest(url, options);
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => resolve(false));
      req.end();
    });
  const haproxy0 = cpuSeconds(target.pidOf('haproxy')) ?? 0;
  const end = Date.now() + seconds * 1000;
  let ok = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (Date.now() < end) {
        if (await once()) ok++;
        else failed++;
      }
    }),
  );
  const haproxy1 = cpuSeconds(target.pidOf('haproxy')) ?? 0;
  return {
    requests: ok,
    failed,
    perS: Math.round(ok / seconds),
    haproxyUsPerConnection: ok > 0 ? round(((haproxy1 - haproxy0) * 1e6) / ok, 1) : 0,
  };
}
