import { readFileSync } from 'node:fs';
import { setPriority } from 'node:os';

/**
 * A backup is background work: its processes run at the lowest CPU priority (nice 19), so that on
 * a machine the stack keeps busy they take the cycles the stack leaves. Best effort: a process
 * that already ended, or one of another user, is left as it is.
 */
export const BACKGROUND_NICE = 19;

/**
 * A priority is not enough on a machine with idle moments between requests: the backup then runs
 * at full speed beside the stack and slows it through what the two share (memory bandwidth, the
 * caches, the kernel's work on the copy's socket and file). So the backup's own processes also run
 * paced: stopped `pauseMs` of every `runMs + pauseMs`. The replica's fork that streams the copy is
 * paced by them without a signal of ours: it waits on the socket while the copy's reader is stopped.
 * A backup takes about twice as long; measured in docs/backups.md.
 */
export const BACKGROUND_PACE = { runMs: 50, pauseMs: 50 };

export function background(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    setPriority(pid, BACKGROUND_NICE);
  } catch {
    // Gone already, or not ours: nothing to lower.
  }
}

/**
 * Runs process `pid` at a duty cycle (SIGSTOP and SIGCONT: BACKGROUND_PACE) until the returned
 * function is called, which lets it run on; so does this process's exit, so that a paced child is
 * never left stopped.
 */
export function paced(pid: number | undefined, pace = BACKGROUND_PACE): () => void {
  if (pid === undefined) return () => undefined;
  let timer: NodeJS.Timeout | undefined;
  let done = false;
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(pid, s);
      return true;
    } catch {
      return false; // Gone: nothing more to pace.
    }
  };
  const release = () => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    process.off('exit', release);
    signal('SIGCONT');
  };
  const pause = () => {
    if (done || !signal('SIGSTOP')) return;
    timer = setTimeout(resume, pace.pauseMs);
  };
  const resume = () => {
    if (done || !signal('SIGCONT')) return;
    timer = setTimeout(pause, pace.runMs);
  };
  process.on('exit', release);
  timer = setTimeout(pause, pace.runMs);
  return release;
}

/**
 * A backup's own process (a tool it runs, its scratch server): lowered and paced; the returned
 * function lets it run on. The replica's fork is only lowered (forksInBackground): no signal of
 * ours goes to a server's process.
 */
export function ownBackground(pid: number | undefined): () => void {
  background(pid);
  return paced(pid);
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
