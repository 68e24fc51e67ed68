import { nodeStates } from './actions.ts';
import { haproxyStats, sentinelView } from './process/probes.ts';
import type { Topology } from './topology.ts';

export interface StackStatus {
  at: string;
  master: string | null;
  alarms: string[];
  nodes: {
    name: string;
    address: string;
    up: boolean;
    role: string;
    offset: number;
    lagBytes: number | null;
    link: string;
  }[];
  sentinels: { name: string; address: string; up: boolean; master: string | null; flags: string }[];
  haproxy: { up: boolean; backends: { backend: string; server: string; status: string }[] };
  apps: { name: string; url: string; ready: boolean; detail: string }[];
}

/** One look at every part: what `ha-stack status` prints and the topology page shows. */
export async function collectStatus(
  t: Topology,
  password: string,
  statsUrl: string,
  appCount = t.apps.length,
): Promise<StackStatus> {
  const addr = (n: { host: string; port: number }) => `${n.host}:${n.port}`;
  const [states, views, stats, apps] = await Promise.all([
    nodeStates(t, password),
    Promise.all(t.sentinels.map((s) => sentinelView(s.host, s.port, t.masterName).catch(() => null))),
    haproxyStats(statsUrl).catch(() => null),
    Promise.all(
      t.apps.slice(0, appCount).map(async (a) => {
        const url = `http://${a.host}:${a.port}`;
        try {
          const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) });
          return { name: a.name, url, ready: res.status === 200, detail: await res.text() };
        } catch (err) {
          return {
            name: a.name,
            url,
            ready: false,
            detail: err instanceof Error ? err.message : String(err),
          };
        }
      }),
    ),
  ]);
  const masterOffset = Math.max(
    0,
    ...[...states.values()].filter((s) => s?.role === 'master').map((s) => s!.offset),
  );
  const nodes = t.redis.map((n) => {
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
    };
  });
  const alarms: string[] = [];
  const masters = nodes.filter((n) => n.role === 'master');
  if (masters.length > 1)
    alarms.push(`split brain: ${masters.map((m) => m.name).join(' and ')} both report role:master`);
  const named = new Set(sentinels.filter((s) => s.master).map((s) => s.master));
  if (named.size > 1) alarms.push(`Sentinels disagree on the master: ${[...named].join(', ')}`);
  const sentinelMaster = [...named][0] ?? null;
  const master = t.redis.find((r) => addr(r) === sentinelMaster)?.name ?? null;
  return {
    at: new Date().toISOString(),
    master,
    alarms,
    nodes,
    sentinels,
    haproxy: {
      up: !!stats,
      backends: (stats ?? [])
        .filter((r) => r['svname'] !== 'FRONTEND' && r['svname'] !== 'BACKEND' && r['pxname'] !== 'stats')
        .map((r) => ({ backend: r['pxname']!, server: r['svname']!, status: r['status']! })),
    },
    apps,
  };
}

export function formatStatus(s: StackStatus): string {
  const out = [
    `master: ${s.master ?? 'NONE'}${s.alarms.length ? `   ALARM: ${s.alarms.join('; ')}` : ''}`,
    '',
  ];
  out.push('redis      address              role     offset      lag(bytes)  link');
  for (const n of s.nodes) {
    out.push(
      `${n.name.padEnd(10)} ${n.address.padEnd(20)} ${n.role.padEnd(8)} ${String(n.offset).padStart(10)}  ${String(n.lagBytes ?? '-').padStart(10)}  ${n.link}`,
    );
  }
  out.push('', 'sentinel   address              believes master');
  for (const x of s.sentinels)
    out.push(`${x.name.padEnd(10)} ${x.address.padEnd(20)} ${x.up ? (x.master ?? '?') : 'down'}`);
  out.push('', `haproxy    ${s.haproxy.up ? 'up' : 'down'}`);
  for (const b of s.haproxy.backends)
    out.push(`  ${b.backend.padEnd(14)} ${b.server.padEnd(10)} ${b.status}`);
  out.push('', 'app        ready');
  for (const a of s.apps)
    out.push(`${a.name.padEnd(10)} ${a.ready ? 'yes' : `no (${a.detail.slice(0, 60)})`}`);
  return out.join('\n');
}

/** One line for the foreground launcher: printed whenever it changes. */
export function statusLine(s: StackStatus): string {
  const nodes = s.nodes.map((n) => `${n.name}=${n.role}`).join(' ');
  const apps = s.apps.map((a) => `${a.name}=${a.ready ? 'ready' : 'DOWN'}`).join(' ');
  return `master ${s.master ?? 'NONE'} | ${nodes} | ${apps}${s.alarms.length ? ` | ALARM ${s.alarms.join('; ')}` : ''}`;
}
