import { sentinelsMaster } from '../../ha/probes.ts';
import type { StackActions } from '../actions.ts';
import type { RotateResult } from '../supervisor/rotate.ts';
import { loseHost, restoreHost } from './bed.ts';
import { type Bed, bedFrontUrl, bedSecrets, bedStatsUrl } from './bed-files.ts';
import { forgetAddresses, holders, inNs, killAll, linkDown } from './net.ts';

/**
 * What the host scenarios do to the test bed, run as root from the clients' namespace: whole hosts
 * lost and booted, links cut, lossy or slow. Every change to a host's filters and queues is undone
 * by `heal` and by a host's boot (net.ts: linkUp).
 */
export interface HostFaults {
  hosts: string[];
  /** The host a process of the topology runs on. */
  hostOf(name: string): string;
  /** The hosts that hold the floating address now. */
  frontHolders(): string[];
  lose(host: string): void;
  restore(host: string): void;
  /** Every host off at the same moment (the power of the site). */
  powerOff(): void;
  /** Every host booted at once, in the given order, none waiting for another. */
  bootAll(order: string[]): void;
  /** Drops every packet between `host` and `peers` (addresses of hosts or clients); both ways unless `oneWay` (only what `host` receives). */
  cut(host: string, peers: string[], oneWay?: boolean): void;
  /** Random loss of `share` (0..1) of the packets between hosts, on every host. */
  lossy(share: number): void;
  /** A bandwidth cap on a host's link (tc tbf), e.g. '2mbit'. */
  slow(host: string, rate: string): void;
  /** Every filter and queue of the faults removed. */
  heal(): void;
  addressOf(host: string): string;
  /** A host's own front (the site at its address, HTTPS with TLS), as the far-side client reaches it. */
  frontOf(host: string): string;
  client: string;
  /** The clients' second address: the client on the far side of a partition. */
  farClient: string;
}

const CHAIN = 'HA_STACK_FAULT';

export function bedFaults(bed: Bed): HostFaults {
  const { layout } = bed;
  const host = (name: string) => {
    const h = layout.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`no host ${name} on the bed`);
    return h;
  };
  const iptables = (h: string, ...args: string[]) => inNs(h, ['iptables', '-w', ...args]);
  const arptables = (h: string, ...args: string[]) => inNs(h, ['arptables', ...args]);
  const chain = (h: string) => {
    inNs(h, ['iptables', '-w', '-N', CHAIN], { allowFail: true });
    for (const dir of ['INPUT', 'OUTPUT'])
      if (!inNs(h, ['iptables', '-w', '-C', dir, '-j', CHAIN], { allowFail: true }).length)
        inNs(h, ['iptables', '-w', '-I', dir, '-j', CHAIN], { allowFail: true });
  };
  return {
    hosts: layout.hosts.map((h) => h.name),
    client: layout.client,
    farClient: layout.farClient,
    addressOf: (name) => host(name).address,
    frontOf: (name) => bedFrontUrl(bed, host(name).address),
    hostOf(name) {
      const h = layout.hosts.find((x) => [...x.redis, ...x.sentinels, ...x.apps].includes(name));
      if (!h) throw new Error(`${name} is on no host of the bed`);
      return h.name;
    },
    frontHolders: () => holders(layout, layout.floating),
    lose: (name) => loseHost(host(name).name),
    restore: (name) => restoreHost(bed, host(name).name),
    powerOff() {
      for (const h of layout.hosts) linkDown(h.name);
      for (const h of layout.hosts) killAll(h.name);
      for (const h of layout.hosts) forgetAddresses(h.name);
    },
    bootAll(order) {
      for (const name of order) restoreHost(bed, host(name).name);
    },
    cut(name, peers, oneWay = false) {
      chain(name);
      for (const p of peers) {
        iptables(name, '-A', CHAIN, '-s', p, '-j', 'DROP');
        if (!oneWay) iptables(name, '-A', CHAIN, '-d', p, '-j', 'DROP');
      }
      if (oneWay) return;
      // Hosts cut off both ways are apart at the link layer too, as on separate switches: ARP
      // does not cross (iptables sees only IP). Without this, the cut-off host's keepalived,
      // alone and so master, would announce the floating address to the clients across the cut.
      for (const p of peers) {
        arptables(name, '-A', 'INPUT', '-s', p, '-j', 'DROP');
        arptables(name, '-A', 'OUTPUT', '-d', p, '-j', 'DROP');
      }
      arptables(name, '-A', 'OUTPUT', '-s', layout.floating, '-j', 'DROP');
    },
    lossy(share) {
      for (const h of layout.hosts) {
        chain(h.name);
        for (const peer of layout.hosts.filter((p) => p !== h))
          iptables(
            h.name,
            '-A',
            CHAIN,
            '-s',
            peer.address,
            '-m',
            'statistic',
            '--mode',
            'random',
            '--probability',
            String(share),
            '-j',
            'DROP',
          );
      }
    },
    slow(name, rate) {
      inNs(name, [
        'tc',
        'qdisc',
        'replace',
        'dev',
        'eth0',
        'root',
        'tbf',
        'rate',
        rate,
        'burst',
        '16kb',
        'latency',
        '200ms',
      ]);
    },
    heal() {
      for (const h of layout.hosts) {
        inNs(h.name, ['iptables', '-w', '-F', CHAIN], { allowFail: true });
        inNs(h.name, ['arptables', '-F'], { allowFail: true });
        inNs(h.name, ['tc', 'qdisc', 'del', 'dev', 'eth0', 'root'], { allowFail: true });
      }
    },
  };
}

const notOnBed = (what: string) => () => {
  throw new Error(`${what} of a single process is not a fault of the host test bed: lose the host`);
};

/** The bed as the chaos runner sees a stack: its topology and the operator's logins. */
export function bedActions(bed: Bed): StackActions {
  const t = bed.topology;
  const s = bedSecrets(bed.dir);
  const stats = { url: bedStatsUrl(bed), password: s.operatorPassword };
  return {
    topology: t,
    login: { username: 'operator', password: s.redis.operator },
    username: 'operator',
    password: s.redis.operator,
    sentinelPassword: s.sentinel,
    frontUrl: bedFrontUrl(bed),
    appScheme: bed.tls ? 'https' : 'http',
    statsUrl: stats.url,
    stats,
    kill: notOnBed('kill'),
    terminate: notOnBed('terminate'),
    pause: notOnBed('pause'),
    resume: notOnBed('resume'),
    restart: notOnBed('restart'),
    stop: notOnBed('stop'),
    start: notOnBed('start'),
    async currentMaster() {
      const m = await sentinelsMaster(t.sentinels, t.masterName, s.sentinel);
      return m ? t.redis.find((n) => n.host === m.host && n.port === m.port) : undefined;
    },
    rotate: (): Promise<RotateResult> =>
      Promise.reject(new Error('rotation is not a fault of the host test bed')),
  };
}
