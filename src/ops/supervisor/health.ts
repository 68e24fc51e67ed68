import { readFileSync, renameSync, rmSync } from 'node:fs';
import type { ProcessStatus } from './managed.ts';
import { writePrivate } from './private-files.ts';

/**
 * What the supervisor says about one process: its process status, or `restarting` (a crashed
 * process waiting for its back-off or being started again) and `waiting-for-failover` (a Redis
 * node that crashed as master, waiting until the Sentinels name another master before it rejoins).
 */
export type NodeHealthStatus = ProcessStatus | 'restarting' | 'waiting-for-failover';

export interface LastExit {
  /** Exit code, null when a signal ended the process. */
  code: number | null;
  signal: string | null;
  at: string;
}

export interface NodeHealth {
  status: NodeHealthStatus;
  /** Restarts the supervisor made on its own (an operator's start or restart is not counted). */
  restarts: number;
  lastExit: LastExit | null;
  /** A Redis node: times the supervisor made it a replica because the Sentinels named another master. */
  demotions?: number;
  /** A Redis node: times the supervisor fenced off its writes (a master in doubt), and whether now. */
  fences?: number;
  fenced?: boolean;
}

/** `<runDir>/supervisor.json` (RunDir.stateFile): rewritten on every change while a stack runs. */
export interface SupervisorState {
  updated: string;
  nodes: Record<string, NodeHealth>;
}

/** Written to a temporary file and renamed, so a reader never sees half a file. */
export function writeState(file: string, state: SupervisorState): void {
  const tmp = `${file}.${process.pid}.tmp`;
  rmSync(tmp, { force: true });
  writePrivate(tmp, `${JSON.stringify(state, null, 2)}\n`, { exclusive: true });
  renameSync(tmp, file);
}

/** The state a supervisor wrote, or null when there is none (no stack ran from this directory). */
export function readState(file: string): SupervisorState | null {
  try {
    const s = JSON.parse(readFileSync(file, 'utf8')) as SupervisorState;
    return typeof s.updated === 'string' && s.nodes && typeof s.nodes === 'object' ? s : null;
  } catch {
    return null;
  }
}
