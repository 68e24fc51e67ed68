import { waitFor } from '../../ops/supervisor/wait.ts';
import {
  type AmAlert,
  alertLine,
  alertmanagerAlerts,
  type MonitoringAccess,
  promQuery,
  promTargets,
} from '../monitor/api.ts';

/** An alert the healthy soak saw in Alertmanager: its line and when it was first seen. */
export interface AlertSeen {
  line: string;
  labels: Record<string, string>;
  startsAt: string | undefined;
  firstSeenS: number;
}

export interface AlertWatch {
  /** Every alert Alertmanager held at one of the looks, once each (by its labels). */
  readonly raised: AlertSeen[];
  /** Looks that failed (Alertmanager unreachable): a blind watch is no proof of silence. */
  readonly failedLooks: number;
  /** The alerts held now, as lines ('none' when none). */
  now(): Promise<string>;
  /**
   * Stops the looks, then asks Prometheus which alerts fired (or were pending) in the last
   * `windowS` seconds: ALERTS keeps a series for each, even one that came and went between looks.
   */
  stop(windowS: number): Promise<{ firedInPrometheus: string[]; pendingInPrometheus: string[] }>;
}

const key = (labels: Record<string, string>) =>
  JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));

/** Waits until Prometheus scrapes every target it knows with success and Alertmanager holds nothing. */
export async function waitMonitoringQuiet(m: MonitoringAccess, timeoutMs = 90_000): Promise<void> {
  await waitFor(
    'every Prometheus target up and no alert in Alertmanager',
    async () => {
      const targets = await promTargets(m);
      return (
        targets.length > 0 &&
        targets.every((t) => t.health === 'up') &&
        (await alertmanagerAlerts(m)).length === 0
      );
    },
    { timeoutMs, intervalMs: 1000 },
  );
}

/** Looks at Alertmanager every `everyMs` from now on and keeps every alert it ever holds. */
export function watchAlerts(m: MonitoringAccess, everyMs = 5000): AlertWatch {
  const start = performance.now();
  const raised: AlertSeen[] = [];
  const known = new Set<string>();
  let failedLooks = 0;
  const take = (alerts: AmAlert[]) => {
    for (const a of alerts) {
      const k = key(a.labels);
      if (known.has(k)) continue;
      known.add(k);
      raised.push({
        line: alertLine(a),
        labels: a.labels,
        startsAt: a.startsAt,
        firstSeenS: (performance.now() - start) / 1000,
      });
    }
  };
  const look = async () => {
    try {
      take(await alertmanagerAlerts(m));
    } catch {
      failedLooks++;
    }
  };
  const timer = setInterval(() => void look(), everyMs);
  void look();
  const seriesLines = async (state: string, windowS: number) =>
    (await promQuery(m, `max_over_time(ALERTS{alertstate="${state}"}[${Math.ceil(windowS)}s])`)).map((r) => {
      const { __name__: _, alertstate: __, severity: ___, component: ____, alertname, ...rest } = r.metric;
      const labels = Object.entries(rest).map(([k, v]) => `${k}=${v}`);
      return `${alertname}${labels.length ? ` {${labels.join(' ')}}` : ''}`;
    });
  return {
    raised,
    get failedLooks() {
      return failedLooks;
    },
    async now() {
      try {
        const alerts = await alertmanagerAlerts(m);
        take(alerts);
        return alerts.length ? alerts.map(alertLine).join('; ') : 'none';
      } catch (err) {
        failedLooks++;
        return `Alertmanager did not answer: ${(err as Error).message}`;
      }
    },
    async stop(windowS) {
      clearInterval(timer);
      await look();
      return {
        firedInPrometheus: await seriesLines('firing', windowS),
        pendingInPrometheus: await seriesLines('pending', windowS),
      };
    },
  };
}
