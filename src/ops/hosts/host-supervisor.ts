import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostPaths } from '../render/hosts.ts';
import { unitOrder } from '../render/hosts.ts';
import { parseEnvFile, parseUnit } from '../render/hosts-units.ts';
import { ManagedProcess } from '../supervisor/managed.ts';
import { PRIVATE_UMASK } from '../supervisor/rundir.ts';
import type { Host } from '../topology.ts';

/** systemd's RestartSec of the rendered units. */
const RESTART_MS = 1000;

/**
 * What systemd does on a VM, for the test bed's hosts: starts the host's units in order, each
 * ExecStartPre then ExecStart with its EnvironmentFile, as the unit files say (Restart=always,
 * RestartSec=1), and starts again a process that exits. It runs inside the host's namespace; a
 * host that dies takes it with it, and the host "boots" by starting it again.
 */
export class HostSupervisor {
  private readonly procs: ManagedProcess[] = [];
  private stopping = false;

  constructor(
    private readonly host: Host,
    private readonly paths: HostPaths,
    private readonly log: (m: string) => void,
  ) {}

  start(): void {
    const logs = join(this.paths.run, 'logs');
    mkdirSync(logs, { recursive: true, mode: 0o700 });
    for (const unit of unitOrder(this.host)) {
      const spec = parseUnit(readFileSync(join(this.paths.etc, 'systemd', `${unit}.service`), 'utf8'));
      const env = spec.environmentFile ? parseEnvFile(readFileSync(spec.environmentFile, 'utf8')) : {};
      const [command, ...args] = spec.exec;
      const proc: ManagedProcess = new ManagedProcess({
        name: unit,
        command: command!,
        args,
        env,
        logFile: join(logs, `${unit}.log`),
        pidFile: join(this.paths.run, `${unit}.pid`),
        umask: PRIVATE_UMASK,
        onExit: (exit) => {
          if (this.stopping || exit.requested) return;
          this.log(`${unit} exited (${exit.signal ?? exit.code}); starting it again in ${RESTART_MS} ms`);
          setTimeout(() => this.launch(proc, spec.pre), RESTART_MS);
        },
      });
      this.procs.push(proc);
      this.launch(proc, spec.pre);
    }
  }

  private launch(proc: ManagedProcess, pre: string[][]): void {
    if (this.stopping) return;
    try {
      for (const [cmd, ...args] of pre) execFileSync(cmd!, args, { stdio: 'ignore' });
      proc.start();
      this.log(`${proc.name} started (pid ${proc.pid})`);
    } catch (err) {
      this.log(`${proc.name}: ${(err as Error).message}; trying again in ${RESTART_MS} ms`);
      setTimeout(() => this.launch(proc, pre), RESTART_MS);
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const p of [...this.procs].reverse()) await p.stop(5000);
  }
}
