import { createServer } from 'node:net';

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

/** A port the OS reports free right now on the given host. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
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
