import { writeFileSync } from 'node:fs';
import { useStackTls } from '../../ha/tls.ts';
import { formatTable, type ScenarioRow } from '../../tools/chaos/report.ts';
import { runScenario } from '../../tools/chaos/runner.ts';
import { hostScenarios } from '../../tools/chaos/scenarios-hosts.ts';
import { bedClientTls, readBed } from './bed-files.ts';
import { bedActions, bedFaults } from './faults.ts';

// Run in the clients' namespace as root (`ha-stack chaos --hosts`): each host scenario under the
// chaos load through the floating address. `chaos-main.ts DIR JSON_OUT [SCENARIO...]`; the rows go
// to JSON_OUT, the table to standard output; exit 1 when a scenario missed its goal.
const [dir, out, ...names] = process.argv.slice(2);
const bed = readBed(dir!);
// With TLS the load speaks HTTPS, checked against the bed's CA, and the checks reach the nodes over TLS.
useStackTls(bedClientTls(bed));
const faults = bedFaults(bed);
const actions = bedActions(bed);
const rows: ScenarioRow[] = [];
const users = Number(process.env.HOSTS_CHAOS_USERS ?? 8);
try {
  for (const s of hostScenarios(faults).filter((x) => names.length === 0 || names.includes(x.name))) {
    process.stdout.write(`running ${s.name}...\n`);
    const row = await runScenario(actions, s, { users, log: (m) => process.stdout.write(`  ${m}\n`) });
    process.stdout.write(
      `  ${row.passed ? 'met' : `missed: ${[...row.missed].join('; ')}`}${row.note ? ` (${row.note})` : ''}${row.slowest ? `; ${row.slowest}` : ''}\n`,
    );
    rows.push(row);
  }
} finally {
  faults.heal();
}
writeFileSync(
  out!,
  JSON.stringify({ date: new Date().toISOString(), downAfterMs: bed.topology.downAfterMs, rows }, null, 2),
);
process.stdout.write(`${formatTable(rows)}\n`);
process.exit(rows.every((r) => r.passed) ? 0 : 1);
