import { connect } from 'node:net';
import { writePrivate } from './private-files.ts';
import { waitFor } from './wait.ts';

/** One command on HAProxy's admin socket (a unix socket in the private run directory); its answer. */
export function haproxyCommand(socket: string, command: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const conn = connect(socket);
    let out = '';
    const timer = setTimeout(
      () => conn.destroy(new Error(`no answer to "${command}" on ${socket}`)),
      timeoutMs,
    );
    conn.setEncoding('utf8');
    conn.on('data', (d: string) => {
      out += d;
    });
    conn.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    conn.on('end', () => {
      clearTimeout(timer);
      resolve(out);
    });
    conn.end(`${command}\n`);
  });
}

/** The pid of the worker that answers on the socket (`show info`). */
export async function workerPid(socket: string): Promise<number> {
  const m = /^Pid: (\d+)$/m.exec(await haproxyCommand(socket, 'show info'));
  if (!m) throw new Error(`no Pid in "show info" on ${socket}`);
  return Number(m[1]);
}

/**
 * Reloads HAProxy run as master and worker (-W) on the config already written, without a lost
 * connection: the servers' states are saved for the new worker (render/haproxy.ts `reload`), the
 * master (`masterPid`) is sent SIGUSR2, and the call returns once a new worker answers. The master
 * keeps the old worker when the config does not load: that is a timeout here.
 */
export async function reloadHaproxy(
  masterPid: number,
  files: { socket: string; stateFile: string },
  timeoutMs = 10_000,
): Promise<number> {
  const before = await workerPid(files.socket);
  writePrivate(files.stateFile, await haproxyCommand(files.socket, 'show servers state'));
  process.kill(masterPid, 'SIGUSR2');
  let now = before;
  await waitFor(
    `a new HAProxy worker after the reload (worker ${before} still answers)`,
    async () => {
      now = await workerPid(files.socket);
      return now !== before;
    },
    { timeoutMs },
  );
  return now;
}
