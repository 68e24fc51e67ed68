// The live alert test's view of Prometheus and Alertmanager: src/tools/monitor/api.ts, which the
// per-alert chaos round and the healthy soak use too.
export {
  type AmAlert,
  alertmanagerAlerts,
  type Expected,
  promQuery,
  promTargets,
  waitAlerts,
} from '../../src/tools/monitor/api.ts';
