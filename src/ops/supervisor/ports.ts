import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { type PortName, portNames, type TopologyCounts } from '../topology.ts';

export class PortInUseError extends Error {
  constructor(
    readonly port: number,
    readonly variable: string,
    readonly what: string,
  ) {
    super(`port ${port} (${what}) is already in use; choose another with ${variable}=<port>`);
    this.name = 'PortInUseError';
  }
}

const handedOut = new Set<number>();

/** The low end of the kernel's ephemeral port range (where outgoing connections get their ports). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 2048 ? low : 32768;
  } catch {
    return 32768;
  }
}

/**
 * A port free right now on every local address, chosen below the ephemeral range: a port the OS
 * hands out for `listen(0)` comes from that range, where any outgoing connection (a client, a
 * replica, a health check) may take it before our server binds it. Never the same port twice per
 * process.
 */
export async function freePort(): Promise<number> {
  const high = ephemeralLow();
  const low = Math.max(1024, high - 12_000);
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (handedOut.has(port)) continue;
    if (await isPortFree(port, '0.0.0.0')) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port found between ${low} and ${high}`);
}

/** Every port of a topology of these counts, picked free by the OS at run time (tests, chaos, bench). */
export async function freePorts(counts: Partial<TopologyCounts> = {}): Promise<Record<PortName, number>> {
  const out = {} as Record<PortName, number>;
  for (const name of portNames(counts)) out[name] = await freePort();
  return out;
}

export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

/** Throws PortInUseError naming the port and the variable that moves it when something listens there. */
export async function assertPortFree(
  port: number,
  variable: string,
  opts: { host?: string; what?: string } = {},
): Promise<void> {
  if (!(await isPortFree(port, opts.host))) throw new PortInUseError(port, variable, opts.what ?? variable);
}
