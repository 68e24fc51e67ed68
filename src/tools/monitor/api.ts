// Prometheus's and Alertmanager's HTTP APIs as the test tools read them (the live alert test, the
// per-alert chaos round, the healthy soak): the alerts Alertmanager holds, instant queries, targets.

/** Where Prometheus and Alertmanager answer and the monitoring user's Authorization header. */
export interface MonitoringAccess {
  readonly prometheusUrl: string;
  readonly alertmanagerUrl: string;
  readonly authorization: string;
}

/** One alert as Alertmanager's API lists it (/api/v2/alerts). */
export interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt?: string;
  status: { state: string };
}

/** The alerts Alertmanager holds now (active, silenced or not), through its API with the monitoring password. */
export async function alertmanagerAlerts(m: MonitoringAccess): Promise<AmAlert[]> {
  const res = await fetch(`${m.alertmanagerUrl}/api/v2/alerts`, {
    headers: { authorization: m.authorization },
    signal: AbortSignal.timeout(2000),
  });
  if (res.status !== 200) throw new Error(`Alertmanager answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as AmAlert[];
}

/** A Prometheus instant query's result, with the monitoring password. */
export async function promQuery(
  m: MonitoringAccess,
  expr: string,
): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await fetch(`${m.prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`, {
    headers: { authorization: m.authorization },
    signal: AbortSignal.timeout(5000),
  });
  if (res.status !== 200) throw new Error(`Prometheus answered ${res.status}: ${await res.text()}`);
  const body = (await res.json()) as {
    data: { result: { metric: Record<string, string>; value: [number, string] }[] };
  };
  return body.data.result;
}

/** Every target Prometheus scrapes, with its health. */
export async function promTargets(
  m: MonitoringAccess,
): Promise<{ labels: Record<string, string>; health: string; lastError?: string; lastScrape?: string }[]> {
  const res = await fetch(`${m.prometheusUrl}/api/v1/targets`, {
    headers: { authorization: m.authorization },
    signal: AbortSignal.timeout(2000),
  });
  return (
    (await res.json()) as {
      data: {
        activeTargets: {
          labels: Record<string, string>;
          health: string;
          lastError?: string;
          lastScrape?: string;
        }[];
      };
    }
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

/** An expected alert as one string: its name and the labels it must carry. */
export const expectedKey = (e: Expected) => `${e.alertname}${e.labels ? JSON.stringify(e.labels) : ''}`;

/**
 * Watches Alertmanager every 250 ms from `since` until every expected alert has arrived (or, with
 * `present` false, left), or the deadline passes: the seconds each took, or the ones missing.
 */
export async function waitAlerts(
  m: MonitoringAccess,
  expected: Expected[],
  since: number,
  deadlineMs: number,
  present = true,
): Promise<{ seconds: Map<string, number>; missing: Expected[]; last: AmAlert[] }> {
  const seconds = new Map<string, number>();
  let last: AmAlert[] = [];
  while (Date.now() - since <= deadlineMs) {
    last = await alertmanagerAlerts(m).catch(() => last);
    for (const e of expected) {
      if (seconds.has(expectedKey(e))) continue;
      const there = last.some((a) => matches(a, e) && a.status.state !== 'resolved');
      if (there === present) seconds.set(expectedKey(e), (Date.now() - since) / 1000);
    }
    if (seconds.size === expected.length) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  return { seconds, missing: expected.filter((e) => !seconds.has(expectedKey(e))), last };
}

/** One alert as a line: its name, its distinguishing labels and when it started. */
export function alertLine(a: AmAlert): string {
  const { alertname, severity: _, component: __, ...rest } = a.labels;
  const labels = Object.entries(rest)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return `${alertname}${labels ? ` {${labels}}` : ''}${a.startsAt ? ` since ${a.startsAt}` : ''}`;
}
