import { readFileSync } from 'node:fs';
import { setPriority } from 'node:os';

/**
 * A backup is background work: its processes run at the lowest CPU priority (nice 19), so that on
 * a machine the stack keeps busy they take the cycles the stack leaves. Best effort: a process
 * that already ended, or one of another user, is left as it is.
 */
export const BACKGROUND_NICE = 19;

export function background(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    setPriority(pid, BACKGROUND_NICE);
  } catch {
    // Gone already, or not ours: nothing to lower.
  }
}

/** The children of a process (Linux: /proc/PID/task/PID/children), none when it cannot be read. */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/**
 * While `work` runs, every child process that `parent` forks (a replica's fork that streams its
 * data set to `--rdb`) is lowered to BACKGROUND_NICE, looked for every `everyMs`. For a server on
 * this machine only: `parent` is its `process_id`.
 */
export async function forksInBackground<T>(
  parent: number | undefined,
  work: Promise<T>,
  everyMs = 20,
): Promise<T> {
  if (parent === undefined) return work;
  const seen = new Set<number>();
  const look = () => {
    for (const child of childrenOf(parent))
      if (!seen.has(child)) {
        seen.add(child);
        background(child);
      }
  };
  const timer = setInterval(look, everyMs);
  look();
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}
