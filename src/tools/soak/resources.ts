import { readFileSync } from 'node:fs';
import { parseInfo } from '../../ha/info.ts';
import { withRedis } from '../../ha/probes.ts';
import type { StackActions } from '../../ops/actions.ts';
import { isSameProcess } from '../../ops/supervisor/managed.ts';
import type { RunDir } from '../../ops/supervisor/rundir.ts';

/** One look at the stack's resources during the soak. */
export interface Probe {
  /** performance.now() of the look. */
  at: number;
  /** Resident memory of each app instance (MB), null when it could not be read (restarting). */
  appRssMb: Record<string, number | null>;
  /** The master's INFO: used_memory (MB) and connected_clients; null when no master answered. */
  master: string | null;
  usedMemoryMb: number | null;
  connectedClients: number | null;
}

const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

/** VmRSS of /proc/<pid>/status, in MB; null when the process is gone. */
export function rssMb(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? mb(Number(m[1]) * 1024) : null;
  } catch {
    return null;
  }
}

/** The pid of each named process the run directory records, when it is still that process. */
export function recordedPids(run: RunDir, names: string[]): Record<string, number | undefined> {
  const out: Record<string, number | undefined> = {};
  for (const name of names) {
    const rec = run.readPid(name);
    out[name] = rec && isSameProcess(rec) ? rec.pid : undefined;
  }
  return out;
}

/** used_memory and connected_clients of the current master (its own connection counted too). */
export async function masterFigures(
  actions: StackActions,
): Promise<Pick<Probe, 'master' | 'usedMemoryMb' | 'connectedClients'>> {
  const none = { master: null, usedMemoryMb: null, connectedClients: null };
  const m = await actions.currentMaster().catch(() => undefined);
  if (!m) return none;
  try {
    const info = await withRedis(m.host, m.port, actions.login, async (r) =>
      parseInfo((await r.call('INFO', 'memory', 'clients')) as string),
    );
    return {
      master: m.name,
      usedMemoryMb: info['used_memory'] ? mb(Number(info['used_memory'])) : null,
      connectedClients: info['connected_clients'] ? Number(info['connected_clients']) : null,
    };
  } catch {
    return none;
  }
}

/** Looks at the apps' memory and the master every `everyMs` until closed. */
export function watchResources(
  actions: StackActions,
  pids: () => Record<string, number | undefined>,
  everyMs: number,
): { probes: Probe[]; close: () => Promise<void> } {
  const probes: Probe[] = [];
  let stopped = false;
  let wake: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const loop = (async () => {
    while (!stopped) {
      const at = performance.now();
      const appRssMb = Object.fromEntries(Object.entries(pids()).map(([n, pid]) => [n, rssMb(pid)]));
      probes.push({ at, appRssMb, ...(await masterFigures(actions)) });
      const left = Math.max(0, everyMs - (performance.now() - at));
      await new Promise<void>((r) => {
        wake = r;
        timer = setTimeout(r, left);
      });
    }
  })();
  return {
    probes,
    close: async () => {
      stopped = true;
      clearTimeout(timer);
      wake?.();
      await loop;
    },
  };
}
