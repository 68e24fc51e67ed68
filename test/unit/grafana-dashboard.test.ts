import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

/** deploy/monitoring/grafana-dashboard.json: for those who run Grafana (none runs here). */
const dashboard = JSON.parse(readFileSync('deploy/monitoring/grafana-dashboard.json', 'utf8')) as {
  uid: string;
  panels: { id: number; title: string; targets: { expr: string }[] }[];
};
const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ title: p.title, expr: t.expr })));

describe('the Grafana dashboard', () => {
  it('has one query per panel, unique panel ids, on the series the alerts use or the apps export', () => {
    assert.equal(new Set(dashboard.panels.map((p) => p.id)).size, dashboard.panels.length);
    assert.ok(
      dashboard.panels.every((p) => p.targets.length === 1),
      'a panel without its query',
    );
    const known = `${readFileSync('deploy/monitoring/alerts.yml', 'utf8')}${readFileSync('src/app/metrics.ts', 'utf8')}`;
    const exporterOnly = ['redis_memory_used_bytes', 'redis_memory_max_bytes'];
    for (const { title, expr } of exprs)
      for (const name of expr.match(/\b[a-z_]+(?=\{)/g) ?? [])
        assert.ok(
          known.includes(name) || exporterOnly.includes(name),
          `${title}: ${name} is no series of the stack`,
        );
  });

  it('every query is PromQL that Prometheus parses (promtool checks them as recording rules)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dashboard-'));
    try {
      const rules = exprs.map(
        (e, i) => `      - record: dashboard:panel_${i}\n        expr: ${JSON.stringify(e.expr)}`,
      );
      const file = join(dir, 'panels.yml');
      writeFileSync(file, `groups:\n  - name: dashboard\n    rules:\n${rules.join('\n')}\n`);
      const out = execFileSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
      assert.match(out, new RegExp(`SUCCESS: ${exprs.length} rules found`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
