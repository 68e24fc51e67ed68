import type { Monitoring } from '../../src/ops/supervisor/monitoring.ts';

/** One alert as Alertmanager's API lists it (/api/v2/alerts). */
export interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  status: { state: string };
}

/** The alerts Alertmanager holds now (active, silenced or not), through its API with the monitoring password. */
export async function alertmanagerAlerts(m: Monitoring): Promise<AmAlert[]> {
  const res = await fetch(`${m.alertmanagerUrl}/api/v2/alerts`, {
    headers: { authorization: m.authorization },
    signal: AbortSignal.timeout(2000),
  });
  if (res.status !== 200) throw new Error(`Alertmanager answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as AmAlert[];
}

/** A Prometheus instant query's result, with the monitoring password. */
export async function promQuery(
  m: Monitoring,
  expr: string,
): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await fetch(`${m.prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`, {
    headers: { authorization: m.authorization },
    signal: AbortSignal.timeout(2000),
  });
  const body = (await res.json()) as {
    data: { result: { metric: Record<string, string>; value: [number, string] }[] };
  };
  return body.data.result;
}

/** Every target Prometheus scrapes, with its health. */
export async function promTargets(
  m: Monitoring,
): Promise<{ labels: Record<string, string>; health: string }[]> {
  const res = await fetch(`${m.prometheusUrl}/api/v1/targets`, {
    headers: { authorization: m.authorization },
    signal: AbortSignal.timeout(2000),
  });
  return (
    (await res.json()) as { data: { activeTargets: { labels: Record<string, string>; health: string }[] } }
  ).data.activeTargets;
}

export interface Expected {
  alertname: string;
  /** Labels the alert must carry (which node, which server). */
  labels?: Record<string, string>;
}

const matches = (a: AmAlert, e: Expected) =>
  a.labels['alertname'] === e.alertname &&
  Object.entries(e.labels ?? {}).every(([k, v]) => a.labels[k] === v);

/**
 * Watches Alertmanager every 250 ms from `since` until every expected alert has arrived, or the
 * deadline passes: the seconds each took, or the ones missing.
 */
export async function waitAlerts(
  m: Monitoring,
  expected: Expected[],
  since: number,
  deadlineMs: number,
  present = true,
): Promise<{ seconds: Map<string, number>; missing: Expected[]; last: AmAlert[] }> {
  const seconds = new Map<string, number>();
  const key = (e: Expected) => `${e.alertname}${e.labels ? JSON.stringify(e.labels) : ''}`;
  let last: AmAlert[] = [];
  while (Date.now() - since <= deadlineMs) {
    last = await alertmanagerAlerts(m).catch(() => last);
    for (const e of expected) {
      if (seconds.has(key(e))) continue;
      const there = last.some((a) => matches(a, e) && a.status.state !== 'resolved');
      if (there === present) seconds.set(key(e), (Date.now() - since) / 1000);
    }
    if (seconds.size === expected.length) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  return { seconds, missing: expected.filter((e) => !seconds.has(key(e))), last };
}
