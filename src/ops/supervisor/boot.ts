import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sentinelView } from '../../ha/probes.ts';
import { type PortName, portVariable, type RedisNode, type Topology } from '../topology.ts';
import type { Monitoring } from './monitoring.ts';
import { assertPortFree } from './ports.ts';
import type { ProcessSet } from './process-set.ts';
import type { StackView } from './stack-view.ts';
import type { Starter } from './starter.ts';

export interface BootDeps {
  readonly view: StackView;
  readonly starter: Starter;
  readonly processes: ProcessSet;
  /** The run directory: a Sentinel's config of an earlier run names the master it last knew. */
  readonly runDir: string;
  /** With `--monitoring`: started last, once HAProxy is up (it scrapes the operator front). */
  readonly monitoring?: Monitoring | undefined;
}

/**
 * The start order of a stack, each step waiting on real readiness: every port free, the master,
 * the replicas, the app's Redis functions, the Sentinels (until they agree), the apps, HAProxy.
 */
export async function bootStack(d: BootDeps): Promise<void> {
  const t = d.view.topology;
  const ports: [PortName, string, number][] = [
    ...t.redis,
    ...t.sentinels,
    ...t.apps.slice(0, d.view.appCount),
  ].map((n) => [n.name as PortName, n.host, n.port]);
  if (d.starter.withHaproxy) {
    const h = t.haproxy;
    ports.push(['haproxy-http', h.host, h.httpPort], ['haproxy-stats', h.host, h.statsPort]);
    ports.push(['haproxy-redis', h.host, h.redisPort]);
  }
  if (d.monitoring) {
    const m = t.monitoring;
    for (const e of m.redisExporters) ports.push([e.name as PortName, m.host, e.port]);
    ports.push(['sentinel-exporter', m.host, m.sentinelExporterPort]);
    ports.push(['alertmanager', m.host, m.alertmanagerPort], ['prometheus', m.host, m.prometheusPort]);
  }
  for (const [name, host, port] of ports)
    await assertPortFree(port, portVariable(name), { host, what: name });

  const master = recordedMaster(t, d.runDir) ?? t.redis.find((r) => r.initialRole === 'master')!;
  await d.starter.startRedis(master, null);
  for (const node of t.redis.filter((r) => r !== master)) await d.starter.startRedis(node, master);
  // With its replicas there (FUNCTION LOAD is a write): they and any master promoted later have it.
  await d.starter.loadFunctions(master, true);
  for (const s of t.sentinels) await d.starter.startSentinel(s.name, master);
  await waitSentinelsAgree(d);
  for (const app of t.apps.slice(0, d.view.appCount)) await d.starter.startApp(app.name);
  if (d.starter.withHaproxy) await d.starter.startHaproxy();
  await d.monitoring?.startAll();
}

/** The master the Sentinels last agreed on in an earlier run (their rewritten configs), if any. */
function recordedMaster(t: Topology, runDir: string): RedisNode | undefined {
  const file = join(runDir, 'nodes', 'sentinel-1', 'sentinel.conf');
  if (!existsSync(file)) return undefined;
  const m = new RegExp(`^sentinel monitor ${t.masterName} (\\S+) (\\d+)`, 'm').exec(
    readFileSync(file, 'utf8'),
  );
  return t.redis.find((r) => m && r.host === m[1] && r.port === Number(m[2]));
}

async function waitSentinelsAgree(d: BootDeps): Promise<void> {
  const t = d.view.topology;
  const replicas = t.redis.length - 1;
  const others = t.sentinels.length - 1;
  for (const s of t.sentinels) {
    await d.processes.waitReady(
      s.name,
      `the master, num-slaves=${replicas} and num-other-sentinels=${others}`,
      async () => {
        const v = await sentinelView(s.host, s.port, t.masterName, d.view.sentinelPassword);
        return v.master !== null && v.replicas === replicas && v.otherSentinels === others;
      },
    );
  }
}
