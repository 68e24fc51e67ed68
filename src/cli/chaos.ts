import { writeFileSync } from 'node:fs';
import { formatTable } from '../stack/chaos/report.ts';
import { runScenario } from '../stack/chaos/runner.ts';
import { SCENARIO_NAMES, SCENARIOS } from '../stack/chaos/scenarios.ts';
import { CliError, runningStack, UsageError } from './context.ts';

export async function chaos(args: string[]): Promise<void> {
  let rounds = 1;
  let json: string | undefined;
  const names: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--rounds') rounds = Number(args[++i]);
    else if (a === '--json') json = args[++i];
    else if (SCENARIO_NAMES.includes(a)) names.push(a);
    else throw new UsageError(`unknown scenario or flag "${a}" (scenarios: ${SCENARIO_NAMES.join(', ')})`);
  }
  if (!Number.isInteger(rounds) || rounds < 1) throw new UsageError('--rounds needs a positive whole number');
  const client = runningStack();
  const rows = [];
  for (const s of SCENARIOS.filter((x) => names.length === 0 || names.includes(x.name))) {
    process.stdout.write(`running ${s.name}...\n`);
    rows.push(await runScenario(client, s, { rounds, log: (m) => process.stdout.write(`  ${m}\n`) }));
  }
  process.stdout.write(`${formatTable(rows)}\n`);
  if (json) writeFileSync(json, JSON.stringify(rows, null, 2));
  if (rows.some((r) => !r.passed)) throw new CliError('a scenario missed its goal');
}
