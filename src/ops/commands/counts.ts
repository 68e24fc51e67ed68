import {
  COUNT_SOURCES,
  countWarnings,
  givenCounts,
  resolveCounts,
  type TopologyCounts,
  TopologyError,
} from '../topology.ts';
import { CliError, UsageError } from './context.ts';

export interface CountsLine {
  counts: TopologyCounts;
  /** The arguments that were not counts, for the command's own parsing. */
  rest: string[];
  /** Counts that work but weaken the stack, to print. */
  warnings: string[];
}

/**
 * The counts of `up` and `render`: `--redis-nodes N --sentinels N --apps N --quorum N` over
 * REDIS_NODES, SENTINELS, APPS and SENTINEL_QUORUM, over the defaults.
 */
export function countsFromCommandLine(args: string[], env = process.env): CountsLine {
  const flags = new Map(
    (Object.keys(COUNT_SOURCES) as (keyof TopologyCounts)[]).map((k) => [COUNT_SOURCES[k].flag as string, k]),
  );
  const fromFlags: Partial<TopologyCounts> = {};
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = args[i]!.split('=', 2) as [string, string | undefined];
    const key = flags.get(flag);
    if (!key) {
      rest.push(args[i]!);
      continue;
    }
    const value = inline ?? args[++i];
    if (value === undefined || !/^\d{1,6}$/.test(value))
      throw new UsageError(
        `${flag} needs a whole number, got ${value === undefined ? 'nothing' : `"${value}"`}`,
      );
    fromFlags[key] = Number(value);
  }
  try {
    const counts = resolveCounts({ ...givenCounts(env), ...fromFlags });
    return { counts, rest, warnings: countWarnings(counts) };
  } catch (err) {
    if (err instanceof TopologyError) throw new CliError(err.message);
    throw err;
  }
}
