import type { Redis } from 'ioredis';
import { UnavailableError } from './errors.ts';

/**
 * The app's Lua runs as Redis functions of one library, loaded by the operator (`FUNCTION LOAD
 * REPLACE`): the app's ACL user may call them (`FCALL`) but may neither run its own Lua (`EVAL`)
 * nor load any (`SCRIPT`, `FUNCTION`). The version is in the name: a library whose functions
 * change meaning gets a new name, so apps of the old and the new version can run side by side.
 * The library replicates and is kept in the RDB and AOF, so a promoted replica has it.
 */
export const FUNCTION_LIBRARY = 'hastack_v1';

const NAME = /^[a-z][a-z0-9_]*$/;

/**
 * The library's source: each script body becomes one function, `KEYS` and `ARGV` as under EVAL,
 * so a body runs unchanged.
 */
export function libraryCode(library: string, functions: Readonly<Record<string, string>>): string {
  if (!NAME.test(library)) throw new Error(`bad library name: ${library}`);
  const parts = Object.entries(functions).map(([name, body]) => {
    if (!NAME.test(name)) throw new Error(`bad function name: ${name}`);
    return `redis.register_function('${name}', function(KEYS, ARGV)\n${body.trim()}\nend)`;
  });
  return `#!lua name=${library}\n${parts.join('\n\n')}\n`;
}

/** The library is not loaded on the master: the operator's start step has not run (or was lost). */
export class FunctionMissingError extends UnavailableError {
  constructor(name: string) {
    super(
      `the Redis function ${name} is missing: the library ${FUNCTION_LIBRARY} is not loaded on the master (the stack's functions step loads it)`,
      5,
    );
    this.name = 'FunctionMissingError';
  }
}

/** Redis's answer to FCALL of a function no library defines. */
export function isFunctionMissing(err: unknown): boolean {
  return err instanceof Error && /^ERR Function not found/i.test(err.message);
}

/** `FCALL name numKeys key... arg...`; a missing function becomes a FunctionMissingError (HTTP 503). */
export async function callFunction<N extends string>(
  r: Pick<Redis, 'call'>,
  name: N,
  numKeys: number,
  ...args: (string | number)[]
): Promise<unknown> {
  try {
    return await r.call('FCALL', name, numKeys, ...args);
  } catch (err) {
    if (isFunctionMissing(err)) throw new FunctionMissingError(name);
    throw err;
  }
}

/** Loads (or replaces) the library on one node, as a user allowed to: returns the library's name. */
export async function loadLibrary(r: Pick<Redis, 'call'>, code: string): Promise<string> {
  return String(await r.call('FUNCTION', 'LOAD', 'REPLACE', code));
}

/** Whether the node has the library (`FUNCTION LIST LIBRARYNAME`). */
export async function hasLibrary(r: Pick<Redis, 'call'>, library = FUNCTION_LIBRARY): Promise<boolean> {
  const list = (await r.call('FUNCTION', 'LIST', 'LIBRARYNAME', library)) as unknown[];
  // LIBRARYNAME matches as a pattern prefix; the exact name must be among the answers.
  return list.some((entry) => Array.isArray(entry) && entry[1] === library);
}
