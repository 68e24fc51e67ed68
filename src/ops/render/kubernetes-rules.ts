import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { metadata } from './kubernetes-pod.ts';
import { ALERT_RULES_FILE } from './monitoring.ts';
import { toYaml } from './yaml.ts';

// examples/prometheusrule.yaml: the alert rules of deploy/monitoring/alerts.yml (the file local mode
// and compose's Prometheus load) as a PrometheusRule of the Prometheus Operator, so the rules are
// written once. Its `spec` is that file's `groups` as they are, indented: no rule is rewritten.

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export const PROMETHEUS_RULE = 'redis-ha-stack-alerts';

/** alerts.yml from its `groups:` line on (the comments above it dropped), under `spec:`. */
export function rulesAsSpec(alertsYaml: string): string {
  const lines = alertsYaml.split('\n');
  const start = lines.findIndex((l) => l.startsWith('groups:'));
  if (start < 0) throw new Error(`${ALERT_RULES_FILE} has no top-level "groups:"`);
  const body = lines.slice(start);
  if (body.some((l) => /^[^\s#]/.test(l) && !l.startsWith('groups:')))
    throw new Error(`${ALERT_RULES_FILE}: only "groups:" may be at the top level`);
  return `spec:\n${body.map((l) => (l === '' ? l : `  ${l}`)).join('\n')}`.replace(/\n*$/, '\n');
}

export function renderPrometheusRule(
  alertsYaml = readFileSync(join(REPO_ROOT, ALERT_RULES_FILE), 'utf8'),
): string {
  const head = toYaml({
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    // An operator whose Prometheus selects rules by a label (kube-prometheus-stack: `release`) adds it here.
    metadata: metadata(PROMETHEUS_RULE, undefined),
  });
  return `# The rules of ${ALERT_RULES_FILE}: change them there, then render again.\n${head}${rulesAsSpec(alertsYaml)}`;
}
