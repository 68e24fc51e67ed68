// The test and measurement tools' commands, `ha-stack chaos|soak|bench`: a checkout with the dev
// dependencies runs them (bin/ha-stack.js sends these three names here); the operator's tool never
// imports them.

import { USAGE } from '../ops/cli.ts';
import { type Command, exitWith, runCommand } from '../ops/commands/run.ts';

const COMMANDS: Record<string, Command> = {
  chaos: async (a) => (await import('./commands/chaos.ts')).chaos(a),
  soak: async (a) => (await import('./commands/soak.ts')).soak(a),
  bench: async (a) => (await import('./bench/main.ts')).bench(a),
};

export const TOOL_COMMANDS = Object.keys(COMMANDS);

/** Runs one command line of the test tools and exits with its code. */
export function run(argv: string[]): void {
  exitWith(runCommand(COMMANDS, USAGE, argv));
}
