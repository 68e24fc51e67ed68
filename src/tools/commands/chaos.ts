import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { StackActions } from '../../ops/actions.ts';
import { numberFlag, parseCommandLine, tlsChoice } from '../../ops/commands/args.ts';
import { CliError, runningStack, UsageError } from '../../ops/commands/context.ts';
import { countsFromCommandLine } from '../../ops/commands/counts.ts';
import { bedDir } from '../../ops/commands/hosts.ts';
import { downBed, runClient, upBed, whyNoBed } from '../../ops/hosts/bed.ts';
import { freePorts } from '../../ops/supervisor/ports.ts';
import { LOAD_LIMITS } from '../../ops/supervisor/stack-options.ts';
import { Stack } from '../../ops/supervisor/supervisor.ts';
import { ALERT_FAULT_NAMES, type AlertRow, formatAlertTable, runAlertRound } from '../chaos/alert-round.ts';
import { healPartition } from '../chaos/partition.ts';
import { formatTable, type ScenarioRow } from '../chaos/report.ts';
import { runScenario } from '../chaos/runner.ts';
import { SCENARIO_NAMES, SCENARIOS } from '../chaos/scenarios.ts';
import { HOST_SCENARIO_NAMES } from '../chaos/scenarios-hosts.ts';

interface ChaosArgs {
  rounds: number;
  /** Users at a time (a quarter of them on the JSON API); the runner's default when undefined. */
  users: number | undefined;
  json: string | undefined;
  names: string[];
  /** Start a stack of its own on free ports when none is running (npm run chaos). */
  ownStack: boolean;
  /** The host scenarios, on a host test bed of its own (root). */
  hosts: boolean;
  /** The per-alert round (chaos/alert-round.ts) on a stack of its own with --monitoring. */
  alerts: boolean;
  /** Its own stack with TLS on every hop: on unless --no-tls or TLS=0, as `up` takes it. */
  tls: boolean;
}

export function parseChaosArgs(args: string[]): ChaosArgs {
  const { values, positionals } = parseCommandLine(
    args,
    {
      rounds: { type: 'string' },
      users: { type: 'string' },
      json: { type: 'string' },
      'own-stack': { type: 'boolean' },
      hosts: { type: 'boolean' },
      alerts: { type: 'boolean' },
      tls: { type: 'boolean' },
      'no-tls': { type: 'boolean' },
    },
    { max: Number.POSITIVE_INFINITY },
  );
  const hosts = values.hosts === true;
  const alerts = values.alerts === true;
  if (hosts && alerts) throw new UsageError('--alerts and --hosts are two different runs');
  const known = hosts ? HOST_SCENARIO_NAMES : alerts ? ALERT_FAULT_NAMES : SCENARIO_NAMES;
  const unknown = positionals.find((p) => !known.includes(p));
  if (unknown !== undefined)
    throw new UsageError(
      `unknown ${hosts ? 'host ' : alerts ? 'alert ' : ''}scenario "${unknown}" (scenarios${hosts ? ' with --hosts' : alerts ? ' with --alerts' : ''}: ${known.join(', ')})`,
    );
  if ((hosts || alerts) && values.rounds !== undefined)
    throw new UsageError(`--rounds is not taken with --${hosts ? 'hosts' : 'alerts'}`);
  if (values.json === '') throw new UsageError('--json needs a file name');
  const rounds = numberFlag(
    values.rounds,
    (n) => Number.isInteger(n) && n >= 1,
    '--rounds needs a positive whole number',
  );
  const users = numberFlag(
    values.users,
    (n) => Number.isInteger(n) && n >= 2,
    '--users needs a whole number of at least 2 (browsers and API clients)',
  );
  return {
    rounds: rounds ?? 1,
    users,
    json: values.json,
    names: positionals,
    ownStack: values['own-stack'] === true,
    hosts,
    alerts,
    // The host bed and a stack of its own alike: TLS unless --no-tls (or TLS=0).
    tls: tlsChoice(values.tls === true, values['no-tls'] === true, process.env),
  };
}

async function ownStack(tls: boolean): Promise<{ actions: StackActions; stop: () => Promise<void> }> {
  const runDir = mkdtempSync(join(tmpdir(), 'ha-stack-chaos-'));
  // The counts of the environment (REDIS_NODES, SENTINELS, APPS, SENTINEL_QUORUM), as `up` takes them.
  const { counts } = countsFromCommandLine([]);
  const ports = await freePorts(counts);
  process.stdout.write(`no stack running: starting one on free ports in ${runDir}\n`);
  // Every user of the load comes from loopback: the per-address limits would refuse them.
  const stack = await Stack.start({ runDir, topology: { counts, ports }, appEnv: { ...LOAD_LIMITS }, tls });
  return {
    actions: stack,
    stop: async () => {
      await stack.stop();
      rmSync(runDir, { recursive: true, force: true });
    },
  };
}

/**
 * `chaos --hosts [SCENARIO...]`: a host test bed of its own (fresh data in HOSTS_DIR), each host
 * scenario run from the clients' namespace through the floating address, the bed removed after.
 */
async function hostsChaos(opts: ChaosArgs): Promise<void> {
  const why = whyNoBed();
  if (why) throw new CliError(why);
  const dir = bedDir();
  const json = opts.json ?? join(dir, 'chaos-hosts.json');
  process.stdout.write(`starting the host test bed in ${dir}\n`);
  await upBed(dir, { tls: opts.tls });
  const env = opts.users === undefined ? {} : { HOSTS_CHAOS_USERS: String(opts.users) };
  Object.assign(process.env, env);
  let failed = false;
  try {
    await runClient('src/ops/hosts/chaos-main.ts', [dir, json, ...opts.names], { echo: true }).catch(() => {
      failed = true;
    });
  } finally {
    downBed();
  }
  process.stdout.write(`rows in ${json}\n`);
  if (failed) throw new CliError('a host scenario missed its goal');
}

/**
 * `chaos --alerts [FAULT...]`: a stack of its own with --monitoring, each fault of
 * chaos/alert-faults.ts caused and healed once, the time each alert took to reach Alertmanager and
 * to leave it, as a table (and JSON).
 */
async function alertsChaos(opts: ChaosArgs): Promise<void> {
  const runDir = mkdtempSync(join(tmpdir(), 'ha-stack-alerts-'));
  const { counts } = countsFromCommandLine([]);
  const ports = await freePorts(counts);
  process.stdout.write(
    `starting a stack with --monitoring${opts.tls ? '' : ' --no-tls'} on free ports in ${runDir}\n`,
  );
  const stack = await Stack.start({
    runDir,
    topology: { counts, ports },
    monitoring: true,
    appEnv: { ...LOAD_LIMITS },
    tls: opts.tls,
  }).catch((err: unknown) => {
    rmSync(runDir, { recursive: true, force: true });
    throw err;
  });
  const stop = async () => {
    await stack.stop();
    rmSync(runDir, { recursive: true, force: true });
  };
  const onSignal = () => void stop().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let rows: AlertRow[];
  try {
    rows = await runAlertRound(stack, opts.names, (m) => process.stdout.write(`${m}\n`));
  } finally {
    await stop();
  }
  process.stdout.write(`${formatAlertTable(rows)}\n`);
  if (opts.json) {
    mkdirSync(dirname(opts.json), { recursive: true });
    writeFileSync(opts.json, JSON.stringify({ date: new Date().toISOString(), rows }, null, 2));
  }
  if (rows.some((r) => !r.passed))
    throw new CliError('an alert missed its goal (30 s to fire, 60 s to resolve)');
}

export async function chaos(args: string[]): Promise<void> {
  const opts = parseChaosArgs(args);
  if (opts.hosts) return hostsChaos(opts);
  if (opts.alerts) return alertsChaos(opts);
  let target: { actions: StackActions; stop: () => Promise<void> };
  try {
    target = { actions: runningStack(), stop: async () => undefined };
  } catch (err) {
    if (!(err instanceof CliError) || !opts.ownStack) throw err;
    target = await ownStack(opts.tls);
  }
  // Ctrl-C: no packet filter rule and no process of our own stack is left behind.
  const onSignal = () =>
    void healPartition()
      .then(() => target.stop())
      .finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const rows: ScenarioRow[] = [];
  try {
    for (const s of SCENARIOS.filter((x) => opts.names.length === 0 || opts.names.includes(x.name))) {
      process.stdout.write(`running ${s.name}...\n`);
      rows.push(
        await runScenario(target.actions, s, {
          rounds: opts.rounds,
          users: opts.users,
          log: (m) => process.stdout.write(`  ${m}\n`),
        }),
      );
    }
  } finally {
    await healPartition();
    await target.stop();
  }
  process.stdout.write(`${formatTable(rows)}\n`);
  if (opts.json) {
    mkdirSync(dirname(opts.json), { recursive: true });
    const down = target.actions.topology.downAfterMs;
    writeFileSync(
      opts.json,
      JSON.stringify({ date: new Date().toISOString(), downAfterMs: down, rows }, null, 2),
    );
  }
  if (rows.some((r) => !r.passed)) throw new CliError('a scenario missed its goal');
}
