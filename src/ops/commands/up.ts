import { spawn } from 'node:child_process';
import { closeSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { KeptProbes } from '../../ha/kept-probes.ts';
import { startBackupSchedule } from '../backup/schedule.ts';
import { backupScheduleFromEnv } from '../backup/settings.ts';
import { type StackFile, serveControl } from '../control.ts';
import { MONITORING_USER } from '../render/monitoring.ts';
import { connectionsPerAddressFromEnv, serverFromEnv, topologyFromEnv } from '../settings.ts';
import { collectStatus, statusLine } from '../status.ts';
import { MONITORING_PASSWORD_FILE } from '../supervisor/monitoring.ts';
import { openLog, writePrivate } from '../supervisor/private-files.ts';
import { RunDir, SECRET_FILES } from '../supervisor/rundir.ts';
import { OPERATOR_PASSWORD_FILE, REPO_ROOT, Stack } from '../supervisor/supervisor.ts';
import { waitFor } from '../supervisor/wait.ts';
import { OPS_CERT } from '../tls/certs.ts';
import { countsToEnv, type Topology, type TopologyCounts } from '../topology.ts';
import { parseCommandLine, tlsChoice } from './args.ts';
import { CliError, readStackFile, runDirPath, stackFilePath } from './context.ts';
import { countsFromCommandLine } from './counts.ts';

function map(stack: StackFile, runDir: string): string {
  const t = stack.topology;
  const appUrls = t.apps.map((a) => `http://${a.host}:${a.port}`);
  const operator = new URL('/', stack.statsUrl).href;
  return [
    '',
    'redis-ha-stack is up',
    `  app (round robin)   ${stack.frontUrl}/`,
    `  operator front      ${operator}   (user operator, password in ${stack.operatorPasswordFile})`,
    `    HAProxy stats     ${stack.statsUrl}`,
    `    topology page     ${operator}topology`,
    `    metrics           ${t.apps.map((a) => `${operator}metrics/${a.name}`).join('  ')}`,
    `  Redis master front  redis-cli${stack.tls ? ` --tls --cacert ${stack.tls.ca}` : ''} -p ${t.haproxy.redisPort} --user ${stack.username} --askpass   (password in ${stack.passwordFile})`,
    `  passwords           ${runDir}/redis.<user>.password, sentinel.password, sentinel.reader.password   (0600)`,
    `  apps directly       ${appUrls.join('  ')}`,
    `  Sentinels           ${t.sentinels.map((s) => `${s.host}:${s.port}`).join('  ')}  (master name ${t.masterName})`,
    ...(stack.tls
      ? [
          `  TLS                 every hop; the stack's CA ${stack.tls.ca}   (curl --cacert ${stack.tls.ca} ${stack.frontUrl}/healthz)`,
          `                      certificates in ${runDir}/tls/; "--no-tls" (or TLS=0) runs it plain`,
        ]
      : []),
    `  logs                ${runDir}/logs/`,
    `  restarts            ${runDir}/supervisor.json   (a crashed process is started again)`,
    '  stop                Ctrl-C here, or "npm run ha-stack -- down"',
    '',
  ].join('\n');
}

/** Where `--monitoring` put Prometheus and Alertmanager (user monitoring, password file 0600). */
function monitoringMap(t: Topology, runDir: string): string {
  const m = t.monitoring;
  return [
    `  Prometheus          http://${m.host}:${m.prometheusPort}/   (user ${MONITORING_USER}, password in ${join(runDir, MONITORING_PASSWORD_FILE)})`,
    `  Alertmanager        http://${m.host}:${m.alertmanagerPort}/   (the same user and password)`,
    '',
  ].join('\n');
}

/** Runs the stack in the foreground until Ctrl-C or SIGTERM; prints a line on each topology change. */
/** What `up` adds to the stack: the monitoring (--monitoring, MONITORING=1), TLS (on unless --no-tls, TLS=0). */
interface UpOptions {
  monitoring: boolean;
  tls: boolean;
}

async function foreground(counts: TopologyCounts, { monitoring, tls }: UpOptions): Promise<void> {
  const runDir = runDirPath();
  const log = (m: string) => process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${m}\n`);
  log(`starting in ${runDir}`);
  // Checked before anything starts: a wrong BACKUP_DIR stops the start with its reason.
  const backups = backupScheduleFromEnv(process.env, runDir);
  const stack = await Stack.start({
    runDir,
    topology: topologyFromEnv(process.env, counts),
    connectionsPerAddress: connectionsPerAddressFromEnv(),
    server: serverFromEnv(),
    monitoring,
    tls,
    tlsDir: process.env['TLS_DIR'] || undefined,
    onEvent: log,
  });
  const run = new RunDir(runDir);
  const control = await serveControl(stack, run.controlSocket);
  const file: StackFile = {
    topology: stack.topology,
    username: stack.username,
    passwordFile: join(runDir, SECRET_FILES.redis.operator),
    sentinelPasswordFile: join(runDir, SECRET_FILES.sentinel),
    frontUrl: stack.frontUrl,
    statsUrl: stack.statsUrl,
    operatorPasswordFile: join(runDir, OPERATOR_PASSWORD_FILE),
    controlSocket: run.controlSocket,
    names: stack.names,
    ready: true,
    ...(stack.certs ? { tls: stack.certs.of(OPS_CERT) } : {}),
  };
  rmSync(stackFilePath(run), { force: true });
  writePrivate(stackFilePath(run), JSON.stringify(file, null, 2), { exclusive: true });
  process.stdout.write(map(file, runDir));
  if (monitoring) process.stdout.write(monitoringMap(stack.topology, runDir));
  const stopBackups = backups ? startBackupSchedule(stack, backups, log) : undefined;

  let last = '';
  // Kept connections for the status line: a new one per node and Sentinel every second cost a
  // TLS handshake each (a tenth of a core for the launcher alone).
  const kept = new KeptProbes(1000);
  const watch = setInterval(async () => {
    const s = await collectStatus(
      stack.topology,
      stack,
      stack.stats,
      stack.appCount,
      stack.supervisorState(),
      kept,
    );
    const line = statusLine(s);
    if (line !== last) log(line);
    last = line;
  }, 1000);

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  clearInterval(watch);
  kept.close();
  log('stopping...');
  await stopBackups?.();
  control.close();
  rmSync(stackFilePath(run), { force: true });
  await stack.stop();
  log('stopped; nothing left running');
}

/** Starts a launcher in the background and returns once its stack is ready. */
async function detached(counts: TopologyCounts, { monitoring, tls }: UpOptions): Promise<void> {
  const run = new RunDir(runDirPath());
  const live = run.launcher();
  if (live)
    throw new CliError(
      `a stack is already running from ${run.dir} (launcher pid ${live.pid}); "ha-stack down" stops it`,
    );
  rmSync(stackFilePath(run), { force: true });
  const logFile = run.log('launcher');
  const fd = openLog(logFile);
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/ha-stack.js'), 'up'], {
    cwd: REPO_ROOT,
    detached: true,
    stdio: ['ignore', fd, fd],
    // The launcher reads the counts of the command line from its environment.
    env: {
      ...process.env,
      ...countsToEnv(counts),
      ...(monitoring ? { MONITORING: '1' } : {}),
      TLS: tls ? '1' : '0',
    },
  });
  closeSync(fd);
  child.unref();
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  await waitFor(
    'the stack to come up',
    () => {
      if (exited)
        throw new CliError(
          `the launcher stopped; see ${logFile}:\n${readFileSync(logFile, 'utf8').split('\n').slice(-25).join('\n')}`,
        );
      return existsSync(stackFilePath(run));
    },
    { timeoutMs: 120_000, intervalMs: 200 },
  ).catch((err) => {
    if (err instanceof CliError) throw err;
    throw new CliError(`${err instanceof Error ? err.message : err}; see ${logFile}`);
  });
  const file = readStackFile(run);
  if (!file) throw new CliError(`the launcher removed ${stackFilePath(run)}; see ${logFile}`);
  process.stdout.write(map(file, run.dir).replace('Ctrl-C here, or ', ''));
  if (monitoring) process.stdout.write(monitoringMap(file.topology, run.dir));
  process.stdout.write(`launcher pid ${child.pid}, its log: ${logFile}\n`);
}

export function parseUpArgs(
  args: string[],
  env: Record<string, string | undefined> = {},
): UpOptions & { detach: boolean } {
  const { values } = parseCommandLine(args, {
    detach: { type: 'boolean', short: 'd' },
    monitoring: { type: 'boolean' },
    tls: { type: 'boolean' },
    'no-tls': { type: 'boolean' },
  });
  const on = (v: string | undefined) => v === '1' || v === 'true';
  return {
    detach: values.detach === true,
    monitoring: values.monitoring === true || on(env['MONITORING']),
    tls: tlsChoice(values.tls === true, values['no-tls'] === true, env),
  };
}

/** `up [--detach] [--monitoring] [--no-tls]`: the stack in the foreground, or a launcher in the background. */
export async function up(args: string[]): Promise<void> {
  if (args.includes('--hosts'))
    return (await import('./hosts.ts')).upHosts(args.filter((a) => a !== '--hosts'));
  const { counts, rest, warnings } = countsFromCommandLine(args);
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
  const opts = parseUpArgs(rest, process.env);
  if (opts.detach) await detached(counts, opts);
  else await foreground(counts, opts);
}
