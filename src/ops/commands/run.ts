import { ConfigError } from '../../config/index.ts';
import { PortInUseError } from '../supervisor/ports.ts';
import { UnsafeRunDirError } from '../supervisor/private-files.ts';
import { AlreadyRunningError } from '../supervisor/rundir.ts';
import { StackStartError } from '../supervisor/supervisor.ts';
import { CliError, UsageError } from './context.ts';

export type Command = (args: string[]) => Promise<void>;

/**
 * The one error boundary of a command line: a usage mistake prints the usage (exit 2), a known
 * failure its message (exit 1), anything else its stack. Both entry points (the operator's tool and
 * the test tools) run through it.
 */
export async function runCommand(
  commands: Record<string, Command>,
  usage: string,
  argv: string[],
): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage);
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`ha-stack: unknown command "${name}"\n\n${usage}`);
    return 2;
  }
  // Before the command's own parsing, which would refuse it as an unknown flag.
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(usage);
    return 0;
  }
  try {
    await command(args);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`ha-stack ${name}: ${err.message}\n\n${usage}`);
      return 2;
    }
    const known = [
      CliError,
      ConfigError,
      PortInUseError,
      AlreadyRunningError,
      StackStartError,
      UnsafeRunDirError,
    ];
    if (known.some((k) => err instanceof k)) {
      process.stderr.write(`ha-stack ${name}: ${(err as Error).message}\n`);
      return 1;
    }
    throw err;
  }
}

/** Runs `main` and exits with its code; an unknown error prints its stack and exits 1. */
export function exitWith(main: Promise<number>): void {
  main.then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`ha-stack: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
