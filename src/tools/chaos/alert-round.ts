import type { Stack } from '../../ops/supervisor/supervisor.ts';
import { type AmAlert, alertLine, alertmanagerAlerts, expectedKey, waitAlerts } from '../monitor/api.ts';
import { waitMonitoringQuiet } from '../soak/alert-watch.ts';
import { ALERT_FAULTS, type AlertFault } from './alert-faults.ts';
import { waitWhole } from './faults.ts';

/** The issue's goals: an alert in Alertmanager within 30 s of its fault, gone within 60 s of healing. */
export const FIRE_S = 30;
export const RESOLVE_S = 60;

export interface AlertRow {
  fault: string;
  alert: string;
  /** Seconds from the fault to the alert in Alertmanager; null: not within FIRE_S. */
  firedS: number | null;
  /** Seconds from the heal to the alert gone from Alertmanager; null: still there after RESOLVE_S. */
  resolvedS: number | null;
  passed: boolean;
  note?: string;
}

const secs = (v: number | null, limit: number) =>
  v === null ? `not within ${limit} s` : `${v.toFixed(1)} s`;

/** The table the command prints. */
export function formatAlertTable(rows: AlertRow[]): string {
  const head = ['fault', 'alert', 'fired after', 'resolved after', 'goal'];
  const body = rows.map((r) => [
    r.fault,
    r.alert,
    secs(r.firedS, FIRE_S),
    r.firedS === null ? '-' : secs(r.resolvedS, RESOLVE_S),
    `${r.passed ? 'met' : 'MISSED'}${r.note ? ` (${r.note})` : ''}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  return [head, ...body]
    .map((cols) =>
      cols
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/**
 * One fault: wait for a whole, quiet stack, cause it, time each expected alert to Alertmanager,
 * heal, time each one's leaving. Other alerts the fault raised are listed in the log.
 */
async function runFault(s: Stack, f: AlertFault, log: (m: string) => void): Promise<AlertRow[]> {
  const m = s.monitoring!;
  await waitWhole(s, 90_000);
  await waitMonitoringQuiet(m, 120_000);
  const master = (await s.currentMaster())!;
  const expected = f.expected(s, master);
  const faultAt = Date.now();
  const heal = await f.cause(s, master);
  const causedAt = Date.now();
  const causedS = (causedAt - faultAt) / 1000;
  let undone: string | undefined;
  if (f.undone) {
    undone = `${await f.undone(s, master)} (the fault took ${causedS.toFixed(1)} s)`;
    log(`${f.name}: undone by the stack: ${undone}`);
  }
  const fired = await waitAlerts(m, expected, faultAt, FIRE_S * 1000);
  const extra = new Map<string, AmAlert>();
  const others = (alerts: AmAlert[]) => {
    for (const a of alerts)
      if (!expected.some((e) => e.alertname === a.labels['alertname']))
        extra.set(alertLine(a).split(' since')[0]!, a);
  };
  others(fired.last);
  const healAt = heal ? Date.now() : causedAt;
  await heal?.();
  const healS = (Date.now() - healAt) / 1000;
  others(await alertmanagerAlerts(m).catch(() => []));
  const resolved = await waitAlerts(m, expected, healAt, RESOLVE_S * 1000, false);
  log(
    `${f.name}: the heal took ${healS.toFixed(1)} s; also raised: ${[...extra.keys()].join('; ') || 'nothing else'}`,
  );
  return expected.map((e) => {
    const k = expectedKey(e);
    const firedS = fired.seconds.get(k) ?? null;
    const resolvedS = firedS === null ? null : (resolved.seconds.get(k) ?? null);
    const row: AlertRow = {
      fault: f.name,
      alert: k,
      firedS,
      resolvedS,
      passed: f.undone ? true : firedS !== null && resolvedS !== null,
    };
    if (undone) row.note = `undone by the stack: ${undone}${firedS === null ? '; never paged' : ''}`;
    return row;
  });
}

/** Every fault named (all when none), one after the other on one stack with --monitoring. */
export async function runAlertRound(
  s: Stack,
  names: string[],
  log: (m: string) => void,
): Promise<AlertRow[]> {
  if (!s.monitoring) throw new Error('the alert round needs a stack with --monitoring');
  const rows: AlertRow[] = [];
  for (const f of ALERT_FAULTS.filter((x) => names.length === 0 || names.includes(x.name))) {
    log(`fault ${f.name}: ${f.what}`);
    const got = await runFault(s, f, log);
    for (const r of got)
      log(
        `  ${r.alert}: fired after ${secs(r.firedS, FIRE_S)}, resolved after ${r.firedS === null ? '-' : secs(r.resolvedS, RESOLVE_S)}`,
      );
    rows.push(...got);
  }
  return rows;
}

export const ALERT_FAULT_NAMES = ALERT_FAULTS.map((f) => f.name);
