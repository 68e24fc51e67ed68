import { numberFlag, parseCommandLine } from '../../ops/commands/args.ts';
import { UsageError } from '../../ops/commands/context.ts';
import { CASE_IDS } from './cases.ts';

export interface BenchArgs {
  mode: 'load' | 'failover' | 'scale' | 'profile' | 'tls' | 'backup' | 'monitoring';
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

const MODES = ['failover', 'scale', 'profile', 'tls', 'backup', 'monitoring'] as const;

/** A flag's value as a positive (whole, unless `integer` is false) number, or undefined when absent. */
const positive = (flag: string, raw: string | undefined, integer = true) =>
  numberFlag(
    raw,
    (n) => n > 0 && (!integer || Number.isInteger(n)),
    `${flag} needs a positive ${integer ? 'whole ' : ''}number`,
  );

export function parseBenchArgs(argv: string[]): BenchArgs {
  const value = { type: 'string' } as const;
  const { values: v, positionals } = parseCommandLine(
    argv,
    {
      url: value,
      connections: { type: 'string', short: 'c' },
      duration: { type: 'string', short: 'd' },
      warmup: value,
      cases: value,
      slices: value,
      json: value,
      progress: { type: 'boolean' },
      'no-progress': { type: 'boolean' },
      'scrypt-cost': value,
      rounds: value,
      users: value,
      sessions: value,
      'stored-users': value,
      'baseline-sessions': value,
    },
    { max: 1 },
  );
  const [mode = 'load'] = positionals;
  if (mode !== 'load' && !(MODES as readonly string[]).includes(mode))
    throw new UsageError(`unknown bench "${mode}" (one of: ${MODES.join(', ')}; none: the load bench)`);
  if (v.url !== undefined && !/^https?:\/\//.test(v.url)) throw new UsageError('--url needs an http:// URL');
  const cases = v.cases === undefined ? [...CASE_IDS] : v.cases.split(',').filter(Boolean);
  if (cases.length === 0 || cases.some((c) => !CASE_IDS.includes(c)))
    throw new UsageError(`--cases takes a comma-separated list of: ${CASE_IDS.join(', ')}`);
  if (v.json === '') throw new UsageError('--json needs a file name');
  const warmupS = numberFlag(v.warmup, (n) => n >= 0, '--warmup needs seconds (0 for none)');
  const connections = positive('--connections', v.connections) ?? 32;
  const durationS = positive('--duration', v.duration);
  // The last of --progress and --no-progress wins, as a later flag overrides an earlier one.
  const progressFlags = argv.filter((a) => a === '--progress' || a === '--no-progress');
  const out: BenchArgs = {
    mode: mode as BenchArgs['mode'],
    url: v.url,
    connections,
    durationS: durationS ?? 15,
    warmupS: warmupS ?? 3,
    cases,
    slices: positive('--slices', v.slices) ?? 5,
    json:
      v.json ??
      {
        load: 'results/bench.json',
        failover: 'results/bench-failover.json',
        scale: 'results/bench-scale.json',
        profile: 'results/bench-profile.json',
        tls: 'results/bench-tls.json',
        backup: 'results/bench-backup.json',
        monitoring: 'results/bench-monitoring.json',
      }[mode as BenchArgs['mode']],
    progress: progressFlags.length ? progressFlags.at(-1) === '--progress' : process.stdout.isTTY === true,
    scryptCost: positive('--scrypt-cost', v['scrypt-cost']),
    rounds: positive('--rounds', v.rounds) ?? (mode === 'tls' ? 3 : 5),
    users: positive('--users', v.users) ?? 8,
    scale: {
      sessions: positive('--sessions', v.sessions) ?? 1_000_000,
      storedUsers: positive('--stored-users', v['stored-users']) ?? 100_000,
      baselineSessions: positive('--baseline-sessions', v['baseline-sessions']) ?? 1000,
      durationS: durationS ?? 10,
      connections,
    },
  };
  if (out.scale.baselineSessions >= out.scale.sessions)
    throw new UsageError('--baseline-sessions must be fewer than --sessions');
  return out;
}
