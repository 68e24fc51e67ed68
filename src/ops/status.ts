import { memoryAlarm } from '../ha/info.ts';
import type { KeptProbes } from '../ha/kept-probes.ts';
import {
  describeMode,
  describeSentinels,
  type SentinelMode,
  type ServiceMode,
  sentinelMode,
  sentinelsNeeded,
  serviceMode,
} from '../ha/mode.ts';
import {
  haproxyStats,
  operatorAuthorization,
  probeOn,
  type StatsAccess,
  sentinelView,
} from '../ha/probes.ts';
import { newestMaster } from '../ha/sentinel/belief.ts';
import { sentinelTimersCommand, sentinelTimersMissing } from '../ha/sentinel/timers.ts';
import type { StackCredentials } from './actions.ts';
import { nodeStates } from './observe.ts';
import type { SupervisorState } from './supervisor/health.ts';
import { serverOf } from './supervisor/servers.ts';
import type { Topology } from './topology.ts';

/** The supervisor's word on a process, when a supervisor state is known (local mode). */
export interface Supervised {
  /** Restarts the supervisor made on its own. */
  restarts: number | null;
  /** `running`, `restarting`, `waiting-for-failover`, `stopped`, ... */
  process: string | null;
}

export interface StackStatus {
  at: string;
  master: string | null;
  /** What the stack can serve now (see src/ha/mode.ts). */
  mode: ServiceMode;
  /** Whether the Sentinels can fail over. */
  sentinelMode: SentinelMode;
  alarms: string[];
  nodes: ({
    name: string;
    address: string;
    up: boolean;
    role: string;
    offset: number;
    lagBytes: number | null;
    link: string;
    /** What INFO server says it runs (`valkey 8.0.1`, `redis 7.0.15`); null when down. */
    server: string | null;
    /** Times the supervisor made this node a replica: it reported master, the Sentinels named another. */
    demotions: number | null;
    /** Times the supervisor fenced off its writes (a master in doubt), and whether it is fenced now. */
    fences: number | null;
    fenced: boolean | null;
  } & Supervised)[];
  sentinels: ({
    name: string;
    address: string;
    up: boolean;
    master: string | null;
    flags: string;
    /** In TILT mode: takes part in no failover until it leaves it. */
    tilt: boolean;
    /** Its timers that are not the stack's (ha/sentinel/timers.ts); null when it did not say. */
    timersOff: string[] | null;
    server: string | null;
  } & Supervised)[];
  haproxy: { up: boolean; backends: { backend: string; server: string; status: string }[] } & Supervised;
  apps: ({ name: string; url: string; ready: boolean; detail: string } & Supervised)[];
}

/** An app's /readyz, with the operator's password: without it the answer says only ready or not. */
async function appReadiness(a: { name: string; host: string; port: number }, operatorPassword?: string) {
  const url = `http://${a.host}:${a.port}`;
  try {
    const res = await fetch(`${url}/readyz`, {
      headers:
        operatorPassword === undefined ? {} : { authorization: operatorAuthorization(operatorPassword) },
      signal: AbortSignal.timeout(1000),
    });
    return { name: a.name, url, ready: res.status === 200, detail: await res.text() };
  } catch (err) {
    return { name: a.name, url, ready: false, detail: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * One look at every part: what `ha-stack status` prints and the launcher's status line shows.
 * `supervisor`: the local supervisor's state (Stack.supervisorState(), or its file in the run
 * directory), for each process's restarts.
 */
export async function collectStatus(
  t: Topology,
  creds: StackCredentials,
  statsAccess: StatsAccess,
  appCount = t.apps.length,
  supervisor: SupervisorState | null = null,
  /** Connections kept from one call to the next (`up`'s status line, every second): none made per call. */
  kept?: KeptProbes,
): Promise<StackStatus> {
  const addr = (n: { host: string; port: number }) => `${n.host}:${n.port}`;
  const sup = (name: string): Supervised => {
    const h = supervisor?.nodes[name];
    return { restarts: h?.restarts ?? null, process: h?.status ?? null };
  };
  const sentinelLogin = { password: creds.sentinelPassword };
  const [states, views, stats, apps, servers, timers] = await Promise.all([
    nodeStates(t, creds.login, undefined, kept),
    Promise.all(
      t.sentinels.map((s) =>
        sentinelView(s.host, s.port, t.masterName, creds.sentinelPassword, undefined, kept).catch(() => null),
      ),
    ),
    haproxyStats(statsAccess).catch(() => null),
    Promise.all(t.apps.slice(0, appCount).map((a) => appReadiness(a, statsAccess.password))),
    Promise.all([
      ...t.redis.map((n) => serverOf(n.host, n.port, creds.login, kept)),
      ...t.sentinels.map((s) => serverOf(s.host, s.port, sentinelLogin, kept)),
    ]),
    Promise.all(
      t.sentinels.map((s) =>
        probeOn(kept, s.host, s.port, sentinelLogin, sentinelTimersMissing).catch(() => null),
      ),
    ),
  ]);
  const masterOffset = Math.max(
    0,
    ...[...states.values()].filter((s) => s?.role === 'master').map((s) => s!.offset),
  );
  const nodes = t.redis.map((n, i) => {
    const s = states.get(n.name);
    return {
      name: n.name,
      address: addr(n),
      up: !!s,
      role: s?.role ?? 'down',
      offset: s?.offset ?? 0,
      lagBytes: s && s.role === 'slave' ? Math.max(0, masterOffset - s.offset) : null,
      link: !s
        ? '-'
        : s.role === 'master'
          ? `${s.connectedReplicas} replica(s)`
          : s.linkUp
            ? `up to ${s.masterHost}:${s.masterPort}`
            : 'down',
      demotions: supervisor?.nodes[n.name]?.demotions ?? null,
      fences: supervisor?.nodes[n.name]?.fences ?? null,
      fenced: supervisor?.nodes[n.name]?.fenced ?? null,
      server: servers[i] ?? null,
      ...sup(n.name),
    };
  });
  const sentinels = t.sentinels.map((s, i) => {
    const v = views[i];
    return {
      name: s.name,
      address: addr(s),
      up: !!v,
      master: v?.master ? addr(v.master) : null,
      flags: v?.flags ?? '',
      tilt: !!v?.tilt,
      timersOff: v ? (timers[i] ?? null) : null,
      server: servers[t.redis.length + i] ?? null,
      ...sup(s.name),
    };
  });
  const alarms: string[] = [];
  const masters = nodes.filter((n) => n.role === 'master');
  if (masters.length > 1)
    alarms.push(`split brain: ${masters.map((m) => m.name).join(' and ')} both report role:master`);
  const named = new Set(sentinels.filter((s) => s.master).map((s) => s.master));
  if (named.size > 1) alarms.push(`Sentinels disagree on the master: ${[...named].join(', ')}`);
  for (const n of t.redis) {
    const alarm = memoryAlarm(n.name, states.get(n.name)?.memory);
    if (alarm) alarms.push(alarm);
  }
  // The same master the topology page, chaos and bench name: the Sentinels' newest configuration.
  const newest = newestMaster(views);
  const master = newest ? (t.redis.find((r) => addr(r) === addr(newest))?.name ?? null) : null;

  // The master that serves: the one the Sentinels name if it says so, else the best connected one.
  const serving =
    masters.find((m) => m.name === master) ??
    [...masters].sort(
      (a, b) => (states.get(b.name)?.connectedReplicas ?? 0) - (states.get(a.name)?.connectedReplicas ?? 0),
    )[0];
  const mode = serviceMode({
    masterUp: !!serving,
    replicasOfMaster: serving ? (states.get(serving.name)?.connectedReplicas ?? 0) : 0,
    minReplicas: t.minReplicasToWrite,
    replicasUp: nodes.filter((n) => n.role === 'slave').length,
  });
  const up = sentinels.filter((s) => s.up).length;
  const inTilt = sentinels.filter((s) => s.tilt);
  const sentinelsCan = sentinelMode({ up, tilt: inTilt.length, quorum: t.quorum }, t.sentinels.length);
  for (const s of inTilt) alarms.push(`${s.name} in TILT: no failover until it leaves it`);
  for (const s of sentinels)
    if (s.timersOff?.length)
      alarms.push(
        `${s.name} runs without the stack's timers (${s.timersOff.join(', ')}): it sees a node's role change up to 10 s later; restart it (ha-stack stop/start ${s.name}) or set them (${sentinelTimersCommand().join(' ')})`,
      );
  if (sentinelsCan === 'no-quorum') {
    const needed = sentinelsNeeded(t.quorum, t.sentinels.length);
    alarms.push(
      `no quorum: ${up - inTilt.length} of ${t.sentinels.length} Sentinels can vote, ${needed} needed for a failover`,
    );
  }
  return {
    at: new Date().toISOString(),
    master,
    mode,
    sentinelMode: sentinelsCan,
    alarms,
    nodes,
    sentinels,
    haproxy: {
      up: !!stats,
      backends: (stats ?? []).map((r) => ({ backend: r.backend, server: r.server, status: r.status })),
      ...sup('haproxy'),
    },
    apps: apps.map((a) => ({ ...a, ...sup(a.name) })),
  };
}

const supervised = (x: Supervised) =>
  `${String(x.restarts ?? '-').padStart(8)}  ${(x.process ?? '-').padEnd(20)}`;

export function formatStatus(s: StackStatus): string {
  const sentinelsNote =
    s.sentinelMode === 'ok' ? '' : `\nsentinels: ${s.sentinelMode} (${describeSentinels(s.sentinelMode)})`;
  const out = [
    `master: ${s.master ?? 'NONE'}   mode: ${s.mode} (${describeMode(s.mode)})${sentinelsNote}`,
    ...(s.alarms.length ? [`ALARM: ${s.alarms.join('; ')}`] : []),
    '',
  ];
  out.push(
    'redis      address              role     offset      lag(bytes)  restarts  process               server          link',
  );
  for (const n of s.nodes) {
    out.push(
      `${n.name.padEnd(10)} ${n.address.padEnd(20)} ${n.role.padEnd(8)} ${String(n.offset).padStart(10)}  ${String(n.lagBytes ?? '-').padStart(10)}  ${supervised(n)}  ${(n.server ?? '-').padEnd(14)}  ${n.link}`,
    );
  }
  const demoted = s.nodes.filter((n) => n.demotions);
  if (demoted.length)
    out.push(
      `stale masters made replicas by the supervisor: ${demoted.map((n) => `${n.name} ${n.demotions}x`).join(', ')}`,
    );
  const fenced = s.nodes.filter((n) => n.fences || n.fenced);
  if (fenced.length)
    out.push(
      `masters whose writes the supervisor fenced off: ${fenced.map((n) => `${n.name} ${n.fences}x${n.fenced ? ' (fenced now)' : ''}`).join(', ')}`,
    );
  out.push(
    '',
    'sentinel   address              restarts  process               server          believes master',
  );
  for (const x of s.sentinels) {
    const belief = x.up ? `${x.master ?? '?'}${x.tilt ? '  TILT' : ''}` : 'down';
    out.push(
      `${x.name.padEnd(10)} ${x.address.padEnd(20)} ${supervised(x)}  ${(x.server ?? '-').padEnd(14)}  ${belief}`,
    );
  }
  out.push('', `haproxy    ${(s.haproxy.up ? 'up' : 'down').padEnd(20)} ${supervised(s.haproxy)}`);
  for (const b of s.haproxy.backends)
    out.push(`  ${b.backend.padEnd(14)} ${b.server.padEnd(10)} ${b.status}`);
  out.push('', 'app        restarts  process               ready');
  for (const a of s.apps)
    out.push(`${a.name.padEnd(10)} ${supervised(a)}  ${a.ready ? 'yes' : `no (${a.detail.slice(0, 60)})`}`);
  return out.map((line) => line.trimEnd()).join('\n');
}

/** One line for the foreground launcher: printed whenever it changes. */
export function statusLine(s: StackStatus): string {
  const parts = [`master ${s.master ?? 'NONE'}`, `mode ${s.mode}`];
  if (s.sentinelMode !== 'ok') parts.push(`sentinels ${s.sentinelMode}`);
  parts.push(s.nodes.map((n) => `${n.name}=${n.role}`).join(' '));
  parts.push(s.apps.map((a) => `${a.name}=${a.ready ? 'ready' : 'DOWN'}`).join(' '));
  const rows = [...s.nodes, ...s.sentinels, ...s.apps, { name: 'haproxy', ...s.haproxy }];
  const restarting = rows
    .filter((r) => r.process === 'restarting' || r.process === 'waiting-for-failover')
    .map((r) => (r.process === 'restarting' ? r.name : `${r.name} (${r.process})`));
  if (restarting.length) parts.push(`restarting ${restarting.join(', ')}`);
  const stopped = rows.filter((r) => r.process === 'stopped').map((r) => r.name);
  if (stopped.length) parts.push(`stopped ${stopped.join(', ')}`);
  if (s.alarms.length) parts.push(`ALARM ${s.alarms.join('; ')}`);
  return parts.join(' | ');
}
