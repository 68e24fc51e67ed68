import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import type { StackActions } from '../../ops/actions.ts';
import { numberFlag, parseCommandLine, tlsChoice } from '../../ops/commands/args.ts';
import { CliError, runDirPath, runningStack, UsageError } from '../../ops/commands/context.ts';
import { countsFromCommandLine } from '../../ops/commands/counts.ts';
import { MONITORING_USER } from '../../ops/render/monitoring.ts';
import { MONITORING_PASSWORD_FILE } from '../../ops/supervisor/monitoring.ts';
import { freePorts } from '../../ops/supervisor/ports.ts';
import { RunDir } from '../../ops/supervisor/rundir.ts';
import { Stack } from '../../ops/supervisor/supervisor.ts';
import type { MonitoringAccess } from '../monitor/api.ts';
import { recordedPids } from '../soak/resources.ts';
import { runSoak, SOAK_DEFAULTS, type SoakResult } from '../soak/run.ts';

export interface SoakArgs {
  minutes: number;
  killEvery: number;
  users: number;
  /** Seconds per reporting interval (60: a line a minute; shorter for short runs). */
  interval: number;
  pauseMs: number;
  /** Mean seconds of a user's visit between login and logout. */
  visit: number;
  json: string | undefined;
  ownStack: boolean;
  /** No fault at all (no master kill): a healthy stack under load, which must raise no alert. */
  healthy: boolean;
  /** Watch Alertmanager (a stack of its own then starts with Prometheus, Alertmanager, the exporters). */
  monitoring: boolean;
  /** Its own stack with TLS on every hop: on unless --no-tls or TLS=0, as `up` takes it. */
  tls: boolean;
}

/** The numeric flags, each at least 0: the flag and the field it sets. */
const NUMBERS = {
  minutes: 'minutes',
  'kill-every': 'killEvery',
  users: 'users',
  interval: 'interval',
  pause: 'pauseMs',
  visit: 'visit',
} as const;

export function parseSoakArgs(args: string[]): SoakArgs {
  const number = { type: 'string' } as const;
  const { values } = parseCommandLine(args, {
    minutes: number,
    'kill-every': number,
    users: number,
    interval: number,
    pause: number,
    visit: number,
    json: { type: 'string' },
    'own-stack': { type: 'boolean' },
    healthy: { type: 'boolean' },
    monitoring: { type: 'boolean' },
    tls: { type: 'boolean' },
    'no-tls': { type: 'boolean' },
  });
  const out: SoakArgs = {
    minutes: 30,
    killEvery: SOAK_DEFAULTS.killEveryMinutes,
    users: SOAK_DEFAULTS.users,
    interval: SOAK_DEFAULTS.intervalS,
    pauseMs: SOAK_DEFAULTS.pauseMs,
    visit: SOAK_DEFAULTS.visitS,
    json: values.json,
    ownStack: values['own-stack'] === true,
    healthy: values.healthy === true,
    monitoring: values.monitoring === true,
    tls: tlsChoice(values.tls === true, values['no-tls'] === true, process.env),
  };
  for (const [flag, key] of Object.entries(NUMBERS) as [
    keyof typeof NUMBERS,
    (typeof NUMBERS)[keyof typeof NUMBERS],
  ][]) {
    const n = numberFlag(values[flag], (v) => v >= 0, `--${flag} needs a number of at least 0`);
    if (n !== undefined) out[key] = n;
  }
  if (out.healthy) {
    if (values['kill-every'] !== undefined && out.killEvery > 0)
      throw new UsageError('--healthy injects no fault: leave out --kill-every');
    out.killEvery = 0;
  }
  if (out.json === '') throw new UsageError('--json needs a file name');
  if (out.minutes <= 0) throw new UsageError('--minutes needs a positive number (0.5 is half a minute)');
  if (!Number.isInteger(out.users) || out.users < 2)
    throw new UsageError('--users needs a whole number of at least 2 (browsers and API clients)');
  if (out.interval < 1) throw new UsageError('--interval needs at least 1 second');
  if (out.visit < 1) throw new UsageError('--visit needs at least 1 second');
  return out;
}

/** A stack of its own on free ports, with the app's default limits (every user has its own address). */
interface Target {
  actions: StackActions;
  run: RunDir;
  monitoring: MonitoringAccess | undefined;
  stop: () => Promise<void>;
}

async function ownStack(monitoring: boolean, tls: boolean): Promise<Target> {
  const runDir = mkdtempSync(join(tmpdir(), 'ha-stack-soak-'));
  // The counts of the environment (REDIS_NODES, SENTINELS, APPS, SENTINEL_QUORUM), as `up` takes them.
  const { counts } = countsFromCommandLine([]);
  const ports = await freePorts(counts);
  process.stdout.write(`no stack running: starting one on free ports in ${runDir}\n`);
  try {
    const stack = await Stack.start({ runDir, topology: { counts, ports }, monitoring, tls });
    return {
      actions: stack,
      run: stack.run,
      monitoring: stack.monitoring,
      stop: async () => {
        await stack.stop();
        rmSync(runDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    rmSync(runDir, { recursive: true, force: true });
    throw err;
  }
}

class NoMonitoring extends CliError {}

/** The running stack's Prometheus and Alertmanager, when it was started with --monitoring. */
function runningMonitoring(actions: StackActions, run: RunDir): MonitoringAccess {
  const file = join(run.dir, MONITORING_PASSWORD_FILE);
  if (!existsSync(file))
    throw new NoMonitoring('the running stack has no monitoring: start it with `ha-stack up --monitoring`');
  const m = actions.topology.monitoring;
  const password = readFileSync(file, 'utf8').trim();
  return {
    prometheusUrl: `http://${m.host}:${m.prometheusPort}`,
    alertmanagerUrl: `http://${m.host}:${m.alertmanagerPort}`,
    authorization: `Basic ${Buffer.from(`${MONITORING_USER}:${password}`).toString('base64')}`,
  };
}

function machine() {
  return {
    nproc: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
  };
}

export async function soak(args: string[]): Promise<void> {
  const opts = parseSoakArgs(args);
  let target: Target;
  try {
    const actions = runningStack();
    const run = new RunDir(runDirPath());
    const monitoring = opts.monitoring ? runningMonitoring(actions, run) : undefined;
    target = { actions, run, monitoring, stop: async () => undefined };
  } catch (err) {
    if (!(err instanceof CliError) || !opts.ownStack || err instanceof NoMonitoring) throw err;
    target = await ownStack(opts.monitoring, opts.tls);
  }
  // Ctrl-C: no process of our own stack is left behind.
  const onSignal = () => void target.stop().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // A fault of the soak itself must not leave the stack it started running either.
  process.once('unhandledRejection', (err) => {
    process.stderr.write(
      `ha-stack soak: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    void target.stop().finally(() => process.exit(1));
  });
  const say = (m: string) => process.stdout.write(`${m}\n`);
  say(
    `soak: ${opts.minutes} min, ${opts.users} users, ${opts.healthy ? 'healthy (no fault)' : `a master kill every ${opts.killEvery || '-'} min`}, a line every ${opts.interval} s${target.monitoring ? ', Alertmanager watched' : ''}`,
  );
  let result: SoakResult;
  try {
    result = await runSoak(target.actions, {
      minutes: opts.minutes,
      killEveryMinutes: opts.killEvery,
      users: opts.users,
      intervalS: opts.interval,
      pauseMs: opts.pauseMs,
      visitS: opts.visit,
      appPids: () =>
        recordedPids(
          target.run,
          target.actions.topology.apps.map((a) => a.name),
        ),
      log: say,
      monitoring: target.monitoring,
    });
  } catch (err) {
    throw new CliError(`the soak could not run: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await target.stop();
  }
  const t = result.totals;
  const c = result.check;
  say(
    `totals: ${t.requests} requests (${t.reads} reads, ${t.writes} writes), ${t.failedReads + t.failedWrites} failed, ${t.writesAcked} cart writes acknowledged, ${t.logins} logins, ${t.registrations} registrations, ${t.users} users, ${t.staleReads} stale reads, p99 ${t.p99Ms} ms, max ${t.maxMs} ms, ${result.kills.length} master kill(s)`,
  );
  for (const [why, n] of Object.entries(t.failedWhy)) say(`  ${n} x ${why}`);
  say(
    c
      ? `read-back from ${c.master}: ${c.writesLost} lost writes, ${c.phantomWrites} phantom, ${c.sessionsLost} of ${c.sessionsChecked} sessions lost, ${c.accountsLost} of ${c.accountsChecked} accounts lost${c.examples.length ? ` (${c.examples.join('; ')})` : ''}`
      : 'read-back: not done',
  );
  if (result.alerts) {
    const a = result.alerts;
    say(
      `alerts: ${a.raised.length} raised in Alertmanager${a.raised.map((x) => `\n  ${x.line} (seen at ${x.firstSeenS.toFixed(0)} s)`).join('')}`,
    );
    say(`  firing in Prometheus during the run: ${a.firedInPrometheus.join('; ') || 'none'}`);
    say(`  pending (never fired) during the run: ${a.pendingInPrometheus.join('; ') || 'none'}`);
  }
  say(result.passed ? 'soak: every target met' : `soak: MISSED: ${result.missed.join('; ')}`);
  if (opts.json) {
    mkdirSync(dirname(opts.json), { recursive: true });
    const { json: _, ownStack: __, ...shown } = opts;
    writeFileSync(
      opts.json,
      `${JSON.stringify(
        {
          date: new Date().toISOString(),
          machine: machine(),
          args: shown,
          downAfterMs: target.actions.topology.downAfterMs,
          ...result,
        },
        null,
        2,
      )}\n`,
    );
  }
  if (!result.passed) throw new CliError('the soak missed a target');
}
