import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { openLog } from '../supervisor/private-files.ts';
import { REPO_ROOT } from '../supervisor/process-set.ts';
import { waitFor } from '../supervisor/wait.ts';
import { type Bed, type BedOptions, readBed, renderBed } from './bed-files.ts';
import {
  CLIENT,
  createNetwork,
  destroyNetwork,
  forgetAddresses,
  holders,
  killAll,
  linkDown,
  linkUp,
  netnsOf,
} from './net.ts';

/** The bed needs root (namespaces, links, filters): the reason, or undefined when it may run. */
export function whyNoBed(): string | undefined {
  if (process.platform !== 'linux') return 'the host test bed needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'the host test bed needs root (network namespaces): run it as root';
  return undefined;
}

/** A Node process in a namespace of the bed, on a file of src/ (the tsx loader of the checkout). */
export function nodeIn(ns: string, script: string, args: string[]): string[] {
  return ['ip', 'netns', 'exec', ns, process.execPath, '--import', 'tsx', join(REPO_ROOT, script), ...args];
}

/** A host boots: its supervisor starts every unit, as systemd would. */
export function bootHost(bed: Bed, name: string): void {
  const logs = join(bed.dir, name, 'run');
  mkdirSync(logs, { recursive: true, mode: 0o700 });
  const fd = openLog(join(logs, 'supervisor.log'));
  const [cmd, ...args] = nodeIn(netnsOf(name), 'src/ops/hosts/host-main.ts', [bed.dir, name]);
  const child = spawn(cmd!, args, { cwd: REPO_ROOT, detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.unref();
}

/** Every process of the host killed at once and its link down: the machine is gone, its addresses with it. */
export function loseHost(name: string): void {
  linkDown(name);
  killAll(name);
  forgetAddresses(name);
}

/** The host back: its link up with its own address only, then its supervisor. */
export function restoreHost(bed: Bed, name: string): void {
  const h = bed.layout.hosts.find((x) => x.name === name)!;
  linkUp(name, h.address, bed.layout.prefix);
  bootHost(bed, name);
}

/** Runs a client program in the clients' namespace; resolves its standard output, rejects on failure. */
export function runClient(script: string, args: string[], opts: { echo?: boolean } = {}): Promise<string> {
  const [cmd, ...rest] = nodeIn(netnsOf(CLIENT), script, args);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd!, rest, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d;
      if (opts.echo) process.stdout.write(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d;
      if (opts.echo) process.stderr.write(d);
    });
    child.on('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${script} failed (${code}):\n${err.slice(-4000)}`)),
    );
  });
}

/**
 * Brings the bed up from `dir`: renders every host's files (fresh data unless `keepData`), makes
 * the network, boots every host, waits in the clients' namespace until the stack answers through
 * the floating address. On failure everything is removed.
 */
export async function upBed(dir: string, opts: { keepData?: boolean } & BedOptions = {}): Promise<Bed> {
  const why = whyNoBed();
  if (why) throw new Error(why);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!opts.keepData)
    for (const h of ['host-1', 'host-2', 'host-3']) rmSync(join(dir, h), { recursive: true, force: true });
  const bed = renderBed(dir, { tls: opts.tls ?? true });
  try {
    createNetwork(bed.layout);
    // The first host boots alone until it holds the floating address (no preemption: whichever
    // host's HAProxy answered first would keep it), so the bed starts as the layout reads: host-1
    // with the address and the master.
    const [first, ...rest] = bed.layout.hosts;
    bootHost(bed, first!.name);
    await waitFor(
      `${first!.name} holding ${bed.layout.floating}`,
      () => holders(bed.layout, bed.layout.floating)[0] === first!.name,
      {
        timeoutMs: 60_000,
        intervalMs: 200,
      },
    );
    for (const h of rest) bootHost(bed, h.name);
    await runClient('src/ops/hosts/ready-main.ts', [dir]);
    return bed;
  } catch (err) {
    downBed();
    throw err;
  }
}

export function downBed(): string[] {
  return destroyNetwork();
}

export { readBed };
