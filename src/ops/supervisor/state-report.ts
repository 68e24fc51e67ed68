import type { StaleMasterDemoter } from './demoter.ts';
import type { Healer } from './healer.ts';
import { type NodeHealth, type SupervisorState, writeState } from './health.ts';
import type { ProcessSet } from './process-set.ts';

export interface StateReportDeps {
  readonly processes: ProcessSet;
  readonly healer: Pick<Healer, 'state'>;
  /** Counts the stale-master demotions of its Redis nodes (demoter.ts). */
  readonly demoter?: Pick<StaleMasterDemoter, 'demotions' | 'manages' | 'fences'> | undefined;
  /** `<runDir>/supervisor.json` (RunDir.stateFile). */
  readonly file: string;
  log(message: string): void;
}

/**
 * What the supervisor says about each process, from the process itself and from the healer, and
 * the file it is written to whenever that changes (read by `ha-stack status` and the apps).
 */
export class StateReport {
  private written = '';

  constructor(private readonly deps: StateReportDeps) {}

  /** Each process: its status (or what a restart waits for), its automatic restarts, its last exit. */
  health(): Record<string, NodeHealth> {
    const out: Record<string, NodeHealth> = {};
    for (const name of this.deps.processes.names) {
      const proc = this.deps.processes.process(name);
      const h = this.deps.healer.state(name);
      const e = proc.lastExit;
      out[name] = {
        status: h.phase ?? (h.held && !proc.running ? 'stopped' : proc.status),
        restarts: h.restarts,
        lastExit: e ? { code: e.code, signal: e.signal, at: e.at.toISOString() } : null,
      };
      if (this.deps.demoter?.manages(name)) {
        const fences = this.deps.demoter.fences(name);
        Object.assign(out[name]!, {
          demotions: this.deps.demoter.demotions(name),
          fences: fences.count,
          fenced: fences.now,
        });
      }
    }
    return out;
  }

  state(): SupervisorState {
    return { updated: new Date().toISOString(), nodes: this.health() };
  }

  /** Rewrites the file when what it says has changed. */
  changed(): void {
    const nodes = this.health();
    const text = JSON.stringify(nodes);
    if (text === this.written) return;
    this.written = text;
    try {
      writeState(this.deps.file, { updated: new Date().toISOString(), nodes });
    } catch (err) {
      // The run directory removed under a stopping stack: nothing left to report to.
      this.deps.log(`cannot write ${this.deps.file}: ${err instanceof Error ? err.message : err}`);
    }
  }
}
