/**
 * `npm run bench -- profile`: where an app instance's CPU goes for `GET /get` and `PUT /api/cart`.
 * For each route a stack of its own is started with its apps under `node --cpu-prof`, one instance
 * is loaded directly, and its profile (written when it stops) is summed up over the samples of the
 * measured run only: self time per function and per part (the app's code, each package, Node's
 * internals, the garbage collector), and CPU time per request.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { defaultAppCommand } from '../../ops/supervisor/app-command.ts';
import { REPO_ROOT } from '../../ops/supervisor/supervisor.ts';
import type { BenchArgs } from './args.ts';
import { allCases, type CaseResult, drive, runCase } from './cases.ts';
import { createBenchUsers } from './fixtures.ts';
import { RedisStats, round } from './redis-stats.ts';
import { ownStack } from './target.ts';

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileEntry {
  name: string;
  selfMs: number;
  percent: number;
}

export interface ProfileSummary {
  case: string;
  requests: number;
  requestsPerS: number;
  /** CPU time the samples of the run show busy (idle left out), in ms, and per request in µs. */
  busyMs: number;
  usPerRequest: number;
  /** Whether the samples could be cut to the measured run (otherwise the whole life of the process). */
  windowed: boolean;
  byPart: ProfileEntry[];
  topFunctions: ProfileEntry[];
}

/** The part of the program a function belongs to: a package, the app's own code, Node, V8. */
export function partOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node internals';
  const src = /\/(src|dist)\/(.+)$/.exec(url);
  if (src) {
    const file = src[2]!;
    return file.includes('/') ? `app ${file.replace(/\/[^/]+$/, '/')}` : 'app';
  }
  return url;
}

/** Self time per function and per part over the samples taken between `fromUs` and `toUs` (monotonic µs). */
export function summarize(
  p: CpuProfile,
  window: { fromUs: number; toUs: number } | null,
  top = 15,
): { busyMs: number; windowed: boolean; byPart: ProfileEntry[]; topFunctions: ProfileEntry[] } {
  const byId = new Map(p.nodes.map((n) => [n.id, n.callFrame]));
  const self = new Map<number, number>();
  let t = p.startTime;
  let inWindow = 0;
  const count = (useWindow: boolean) => {
    self.clear();
    t = p.startTime;
    inWindow = 0;
    for (let i = 0; i < p.samples.length; i++) {
      const dt = p.timeDeltas[i] ?? 0;
      t += dt;
      if (useWindow && window && (t < window.fromUs || t > window.toUs)) continue;
      inWindow++;
      const id = p.samples[i]!;
      // A sample's time is the gap to the next sample.
      const span = p.timeDeltas[i + 1] ?? dt;
      self.set(id, (self.get(id) ?? 0) + span);
    }
  };
  count(true);
  const windowed = window !== null && inWindow > 0;
  if (!windowed) count(false);
  const fns = new Map<string, number>();
  const parts = new Map<string, number>();
  let busy = 0;
  for (const [id, us] of self) {
    const f = byId.get(id);
    if (!f || f.functionName === '(idle)') continue;
    busy += us;
    const where = f.url ? `${relative(REPO_ROOT, f.url.replace(/^file:\/\//, ''))}:${f.lineNumber + 1}` : '';
    const name = `${f.functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
    fns.set(name, (fns.get(name) ?? 0) + us);
    const part = partOf(f.url, f.functionName);
    parts.set(part, (parts.get(part) ?? 0) + us);
  }
  const entries = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({
        name,
        selfMs: round(us / 1000, 1),
        percent: round((us / Math.max(busy, 1)) * 100, 1),
      }));
  return {
    busyMs: round(busy / 1000, 1),
    windowed,
    byPart: entries(parts, 12),
    topFunctions: entries(fns, top),
  };
}

const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

export async function runProfile(args: BenchArgs, say: (m: string) => void): Promise<ProfileSummary[]> {
  const out: ProfileSummary[] = [];
  for (const id of ['get-app', 'put-app']) {
    const dir = mkdtempSync(join(tmpdir(), 'ha-stack-profile-'));
    const [node, ...rest] = defaultAppCommand(REPO_ROOT);
    say(`${id}: a stack of its own, its apps under --cpu-prof...`);
    const target = await ownStack({
      scryptCost: args.scryptCost,
      appCommand: [node!, '--cpu-prof', '--cpu-prof-dir', dir, ...rest],
    });
    let result: CaseResult;
    let window: { fromUs: number; toUs: number };
    let pid: number | undefined;
    try {
      const users = await createBenchUsers(target.frontUrl, undefined, args.connections);
      const front = { url: target.frontUrl, pids: () => [] };
      const direct = {
        url: target.directUrl,
        pids: () => [target.pidOf(target.apps[0]!.name)],
      };
      const pair = { front, direct };
      const c = allCases({ app: pair, ceiling: pair, peer: pair }).find((x) => x.id === id)!;
      await drive(c, users, { connections: args.connections, durationS: 2, progress: false });
      const master = await target.actions.currentMaster();
      const stats = await RedisStats.open(master!.host, master!.port, target.actions.login);
      pid = target.pidOf(target.apps[0]!.name);
      const fromUs = monotonicUs();
      try {
        result = await runCase(c, users, stats, {
          connections: args.connections,
          durationS: args.durationS,
          progress: false,
        });
      } finally {
        await stats.close();
      }
      window = { fromUs, toUs: monotonicUs() };
    } finally {
      await target.stop();
    }
    try {
      const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile') && f.includes(`.${pid}.`));
      if (!file) throw new Error(`no profile of ${target.apps[0]!.name} (pid ${pid}) in ${dir}`);
      const s = summarize(JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile, window);
      out.push({
        case: id,
        requests: result.requests,
        requestsPerS: result.requestsPerS,
        busyMs: s.busyMs,
        usPerRequest: result.requests ? Math.round((s.busyMs * 1000) / result.requests) : 0,
        windowed: s.windowed,
        byPart: s.byPart,
        topFunctions: s.topFunctions,
      });
      say(
        `  ${id}: ${result.requestsPerS} req/s, ${out.at(-1)!.usPerRequest} µs of the app's main thread per request`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return out;
}

export function formatProfile(rows: ProfileSummary[]): string {
  return rows
    .map((r) =>
      [
        `${r.case}: ${r.requests} requests (${r.requestsPerS}/s), main thread busy ${r.busyMs} ms = ${r.usPerRequest} µs per request${r.windowed ? '' : ' (whole process life: the run could not be cut out)'}`,
        `  by part: ${r.byPart.map((p) => `${p.name} ${p.percent} %`).join(', ')}`,
        '  top functions (self time):',
        ...r.topFunctions.map((f) => `    ${String(f.percent).padStart(5)} %  ${f.name}`),
      ].join('\n'),
    )
    .join('\n\n');
}
