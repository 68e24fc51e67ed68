import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { HostLayout } from '../topology.ts';

/**
 * The test bed's network: a namespace per host and one for the clients, each with one interface
 * (eth0) whose other end is on a bridge that lives in a namespace of its own (the switch). Nothing
 * is added to the machine's own namespace: no address, no route, no rule; the switch has no other
 * interface, so no packet can leave the bed. Deleting the namespaces removes all of it.
 */
export const PREFIX = 'hsbed-';
export const SWITCH = `${PREFIX}switch`;
export const CLIENT = 'client';
export const netnsOf = (name: string) => `${PREFIX}${name}`;
/** The switch's end of a host's link (a port of the bridge). */
export const switchPort = (name: string) => name;

export function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Runs a command in a host's namespace (iptables, tc, sysctl). */
export function inNs(name: string, command: string[], opts: { allowFail?: boolean } = {}): string {
  try {
    return execFileSync('ip', ['netns', 'exec', netnsOf(name), ...command], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    if (opts.allowFail) return '';
    throw err;
  }
}

/** Which of `layout`'s hosts have `address` on an interface now. */
export function holders(layout: HostLayout, address: string): string[] {
  return layout.hosts
    .filter((h) => inNs(h.name, ['ip', '-4', 'addr'], { allowFail: true }).includes(`${address}/`))
    .map((h) => h.name);
}

export function bedNamespaces(): string[] {
  if (!existsSync('/var/run/netns') && !existsSync('/run/netns')) return [];
  return ip('netns', 'list')
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(PREFIX));
}

/** Every process in a namespace of the bed. */
export function nsPids(ns: string): number[] {
  try {
    return ip('netns', 'pids', ns)
      .split('\n')
      .filter(Boolean)
      .map(Number)
      .filter((p) => p !== process.pid);
  } catch {
    return [];
  }
}

/** SIGKILL to every process of a host at once: the machine lost its power. */
export function killAll(name: string): number {
  const pids = nsPids(netnsOf(name));
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  return pids.length;
}

function addMember(name: string, address: string, prefix: number): void {
  const ns = netnsOf(name);
  ip('netns', 'add', ns);
  ip('-n', SWITCH, 'link', 'add', switchPort(name), 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
  ip('-n', SWITCH, 'link', 'set', switchPort(name), 'master', 'br0', 'up');
  ip('-n', ns, 'link', 'set', 'lo', 'up');
  ip('-n', ns, 'addr', 'add', `${address}/${prefix}`, 'dev', 'eth0');
  ip('-n', ns, 'link', 'set', 'eth0', 'up');
}

/** Makes the bed's network; a leftover one is removed first. */
export function createNetwork(layout: HostLayout): void {
  destroyNetwork();
  try {
    ip('netns', 'add', SWITCH);
    ip('-n', SWITCH, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', SWITCH, 'link', 'set', 'br0', 'up');
    for (const h of layout.hosts) addMember(h.name, h.address, layout.prefix);
    addMember(CLIENT, layout.client, layout.prefix);
    ip('-n', netnsOf(CLIENT), 'addr', 'add', `${layout.farClient}/${layout.prefix}`, 'dev', 'eth0');
  } catch (err) {
    destroyNetwork();
    throw err;
  }
}

/** A host as after a reboot: its link down first (a dead machine answers nothing), then only its own address. */
export function linkDown(name: string): void {
  ip('-n', SWITCH, 'link', 'set', switchPort(name), 'down');
}

/**
 * A host that is off holds no address: keepalived killed at once never takes the floating address
 * off its interface (it does when it sees the link go down first, but the kill may come before
 * that), and the bed would count a dead host as a holder. Its boot adds its own address again.
 */
export function forgetAddresses(name: string): void {
  ip('-n', netnsOf(name), 'addr', 'flush', 'dev', 'eth0');
}

export function linkUp(name: string, address: string, prefix: number): void {
  const ns = netnsOf(name);
  // A reboot forgets the floating address keepalived had added, and every filter and queue.
  ip('-n', ns, 'addr', 'flush', 'dev', 'eth0');
  ip('-n', ns, 'addr', 'add', `${address}/${prefix}`, 'dev', 'eth0');
  inNs(name, ['iptables', '-F'], { allowFail: true });
  inNs(name, ['arptables', '-F'], { allowFail: true });
  inNs(name, ['tc', 'qdisc', 'del', 'dev', 'eth0', 'root'], { allowFail: true });
  ip('-n', SWITCH, 'link', 'set', switchPort(name), 'up');
}

/** Kills every process of the bed and deletes its namespaces (with their links, bridge and rules). */
export function destroyNetwork(): string[] {
  const gone = bedNamespaces();
  for (const ns of gone)
    for (const pid of nsPids(ns)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
  for (const ns of gone) {
    try {
      ip('netns', 'del', ns);
    } catch {}
  }
  return gone;
}
