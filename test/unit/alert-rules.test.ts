import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RULES = join(ROOT, 'deploy/monitoring/alerts.yml');
const CASES = join(ROOT, 'test/alerts/rules.test.yml');

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
interface ExpAlert {
  exp_labels?: Record<string, string>;
  exp_annotations?: Record<string, string>;
}
interface Case {
  name: string;
  alert_rule_test: { eval_time: string; alertname: string; exp_alerts: ExpAlert[] }[];
}

const rules = (parse(readFileSync(RULES, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap(
  (g) => g.rules,
);
const spec = parse(readFileSync(CASES, 'utf8')) as { rule_files: string[]; tests: Case[] };

/** A rule's annotations as Prometheus renders them for an alert with these labels. */
function annotationsFor(rule: Rule, labels: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(rule.annotations).map(([k, v]) => [
      k,
      v.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, l: string) => labels[l] ?? ''),
    ]),
  );
}

/** promtool compares every annotation: the cases give the labels, the annotations follow from the rule. */
function withAnnotations(): string {
  const byName = new Map(rules.map((r) => [r.alert, r]));
  const tests = spec.tests.map((t) => ({
    ...t,
    alert_rule_test: t.alert_rule_test.map((a) => ({
      ...a,
      exp_alerts: a.exp_alerts.map((e) => ({
        ...e,
        exp_annotations: annotationsFor(byName.get(a.alertname)!, e.exp_labels ?? {}),
      })),
    })),
  }));
  return stringify({ ...spec, rule_files: [RULES], tests });
}

function promtool(args: string[]): string {
  try {
    return execFileSync('promtool', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { code?: string; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT')
      throw new Error('promtool is missing: scripts/setup.sh installs it (Debian package prometheus)');
    throw new Error(`promtool ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
  }
}

describe('alert rules (deploy/monitoring/alerts.yml)', () => {
  it('every rule has a runbook, a summary and a severity, and names a component', () => {
    assert.ok(rules.length >= 15);
    for (const r of rules) {
      assert.match(r.annotations.runbook ?? '', /\w.{40,}/, `${r.alert}: runbook`);
      assert.ok(r.annotations.summary, `${r.alert}: summary`);
      assert.match(r.labels.severity ?? '', /^(critical|warning|info)$/, `${r.alert}: severity`);
      assert.match(r.expr, /component=/, `${r.alert}: selects by component`);
    }
  });

  it('no rule waits more than 20 s (with 5 s scrapes and evaluations, each fires within 30 s)', () => {
    for (const r of rules) {
      const m = /^(\d+)s$/.exec(r.for ?? '0s');
      assert.ok(m && Number(m[1]) <= 20, `${r.alert}: for ${r.for}`);
    }
  });

  it('every rule has a test case in which it fires, and one in which it stays quiet', () => {
    for (const r of rules) {
      const checks = spec.tests.flatMap((t) => t.alert_rule_test).filter((a) => a.alertname === r.alert);
      assert.ok(
        checks.some((c) => c.exp_alerts.length > 0),
        `${r.alert}: no case where it fires`,
      );
      assert.ok(
        checks.some((c) => c.exp_alerts.length === 0),
        `${r.alert}: no case where it is quiet`,
      );
    }
  });

  it('promtool check rules accepts the file', () => {
    assert.match(promtool(['check', 'rules', RULES]), new RegExp(`SUCCESS: ${rules.length} rules found`));
  });

  it('promtool test rules: each rule fires on its fault and resolves after healing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'alert-rules-'));
    try {
      const file = join(dir, 'rules.test.yml');
      writeFileSync(file, withAnnotations());
      assert.match(promtool(['test', 'rules', file]), /SUCCESS/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
