import { UsageError } from '../../ops/commands/context.ts';
import { CASE_IDS } from './cases.ts';

export interface BenchArgs {
  mode: 'load' | 'failover' | 'scale' | 'profile';
  url: string | undefined;
  connections: number;
  durationS: number;
  warmupS: number;
  cases: string[];
  /**
   * Parts each case's load time is cut into, the cases taking turns slice by slice, so that every
   * case sees the same moments of a machine whose speed drifts (logins run whole, last).
   */
  slices: number;
  json: string;
  progress: boolean;
  scryptCost: number | undefined;
  rounds: number;
  /** Users of the failover load (each one request at a time, 20 ms apart). */
  users: number;
  /** `scale`: sessions and accounts stored, the small set compared with, and the load of each case. */
  scale: {
    sessions: number;
    storedUsers: number;
    baselineSessions: number;
    durationS: number;
    connections: number;
  };
}

function positive(flag: string, raw: string | undefined, integer = true): number {
  const n = Number(raw);
  if (raw === undefined || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
    throw new UsageError(`${flag} needs a positive ${integer ? 'whole ' : ''}number`);
  return n;
}

export function parseBenchArgs(argv: string[]): BenchArgs {
  const out: BenchArgs = {
    mode: 'load',
    url: undefined,
    connections: 32,
    durationS: 15,
    warmupS: 3,
    cases: [...CASE_IDS],
    slices: 5,
    json: '',
    progress: process.stdout.isTTY === true,
    scryptCost: undefined,
    rounds: 5,
    users: 8,
    scale: {
      sessions: 1_000_000,
      storedUsers: 100_000,
      baselineSessions: 1000,
      durationS: 10,
      connections: 32,
    },
  };
  const args = [...argv];
  if (args[0] === 'failover' || args[0] === 'scale' || args[0] === 'profile') {
    out.mode = args[0];
    args.shift();
  }
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = () => args[++i];
    if (a === '--url') {
      out.url = value();
      if (!out.url || !/^https?:\/\//.test(out.url)) throw new UsageError('--url needs an http:// URL');
    } else if (a === '--connections' || a === '-c') out.connections = positive(a, value());
    else if (a === '--duration' || a === '-d') out.durationS = out.scale.durationS = positive(a, value());
    else if (a === '--warmup') {
      const v = Number(value());
      if (!Number.isFinite(v) || v < 0) throw new UsageError('--warmup needs seconds (0 for none)');
      out.warmupS = v;
    } else if (a === '--cases') {
      out.cases = (value() ?? '').split(',').filter(Boolean);
      const unknown = out.cases.filter((c) => !CASE_IDS.includes(c));
      if (unknown.length || out.cases.length === 0)
        throw new UsageError(`--cases takes a comma-separated list of: ${CASE_IDS.join(', ')}`);
    } else if (a === '--slices') out.slices = positive(a, value());
    else if (a === '--json') {
      out.json = value() ?? '';
      if (!out.json) throw new UsageError('--json needs a file name');
    } else if (a === '--no-progress') out.progress = false;
    else if (a === '--progress') out.progress = true;
    else if (a === '--scrypt-cost') out.scryptCost = positive(a, value());
    else if (a === '--rounds') out.rounds = positive(a, value());
    else if (a === '--users') out.users = positive(a, value());
    else if (a === '--sessions') out.scale.sessions = positive(a, value());
    else if (a === '--stored-users') out.scale.storedUsers = positive(a, value());
    else if (a === '--baseline-sessions') out.scale.baselineSessions = positive(a, value());
    else throw new UsageError(`unknown argument "${a}"`);
  }
  out.json ||= {
    load: 'results/bench.json',
    failover: 'results/bench-failover.json',
    scale: 'results/bench-scale.json',
    profile: 'results/bench-profile.json',
  }[out.mode];
  out.scale.connections = out.connections;
  if (out.scale.baselineSessions >= out.scale.sessions)
    throw new UsageError('--baseline-sessions must be fewer than --sessions');
  return out;
}
