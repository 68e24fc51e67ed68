// One way to read a command line: node:util's parseArgs, strict, its errors turned into UsageError
// (the usage and exit code 2) with a message that names the flag.

import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './context.ts';

export type Flags = NonNullable<ParseArgsConfig['options']>;

interface Positionals {
  /** How many the command takes at most (Infinity: any number). */
  max: number;
  /** How many it needs, and what to say when they are missing. */
  min?: number;
  missing?: string;
}

function usageOf(err: unknown): unknown {
  const code = (err as { code?: string }).code;
  if (typeof code !== 'string' || !code.startsWith('ERR_PARSE_ARGS_')) return err;
  const message = (err as Error).message;
  // Node names the flag in quotes: '--json <value>', or '-c, --connections <value>'.
  const quoted = /'([^']*)'/.exec(message)?.[1] ?? '';
  const flag = /--[\w-]+/.exec(quoted)?.[0] ?? quoted.split(' ')[0];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return new UsageError(`unknown flag "${flag}"`);
  if (message.includes('does not take an argument')) return new UsageError(`${flag} takes no value`);
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE')
    return new UsageError(`${flag} needs a value (one that starts with "-" as ${flag}=-1)`);
  return new UsageError(message.split('\n')[0]!);
}

/** The flags and positional arguments of `args`, or a UsageError. */
export function parseCommandLine<const O extends Flags>(
  args: string[],
  options: O,
  positionals: Positionals = { max: 0 },
) {
  let parsed: ReturnType<
    typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: true }>
  >;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (err) {
    throw usageOf(err);
  }
  const extra = parsed.positionals[positionals.max];
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
  if (parsed.positionals.length < (positionals.min ?? 0))
    throw new UsageError(positionals.missing ?? 'missing arguments');
  return parsed;
}

/** A flag's value as a number, or undefined when the flag is absent; `ok` says which numbers it takes. */
export function numberFlag(
  value: string | undefined,
  ok: (n: number) => boolean,
  refusal: string,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || !ok(n)) throw new UsageError(refusal);
  return n;
}

/**
 * TLS is on unless turned off: `--no-tls`, or `TLS=0` / `TLS=false` in the environment (a plain
 * stack, for a measurement or a client that cannot do TLS). `--tls` and `TLS=1` say the default.
 */
export function tlsChoice(tls: boolean, noTls: boolean, env: Record<string, string | undefined>): boolean {
  if (tls && noTls) throw new UsageError('--tls and --no-tls: choose one');
  if (tls || noTls) return tls;
  const v = env['TLS'];
  if (v === undefined || v === '' || v === '1' || v === 'true') return true;
  if (v === '0' || v === 'false') return false;
  throw new UsageError(`TLS=${v}: use 1 (the default) or 0`);
}
