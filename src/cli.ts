import { CliError, UsageError } from './cli/context.ts';
import { down } from './cli/down.ts';
import { failover, logs, nodeAction, pause, status } from './cli/nodes.ts';
import { up } from './cli/up.ts';
import { ConfigError } from './config/index.ts';
import { PortInUseError } from './stack/process/ports.ts';
import { AlreadyRunningError } from './stack/process/rundir.ts';
import { StackStartError } from './stack/process/supervisor.ts';

const USAGE = `usage: ha-stack <command> [arguments]

  up [--detach]            start the whole topology (foreground unless --detach)
  down                     stop the running stack
  status [--json]          mode, roles, offsets and lag, Sentinels' views and TILT, HAProxy backends,
                           app readiness, each process's restarts
  failover                 planned failover through Sentinel, writes paused so none is lost
  kill <node>              SIGKILL a node, as a crash: the supervisor starts it again after a back-off
                           (node: master, redis-1..3, sentinel-1..3, app-1, app-2, haproxy)
  stop <node>              stop a node (SIGTERM, SIGKILL after a grace period); it stays down
  start <node>             start a stopped node (a Redis node rejoins as a replica of the current master)
  pause <node> [seconds]   SIGSTOP a node (and SIGCONT it after the given seconds)
  resume <node>            SIGCONT a paused node
  restart <node>           stop a node and start it again
  logs <node> [lines]      the last lines of a node's log
  rotate <secret>          a new secret without downtime, the apps restarted one at a time, each
                           drained first (secret: session-secret, redis-app-password; see README)
  chaos [scenario ...] [--rounds N] [--json FILE]
                           fault injection under load with a report (see README)
  soak [--minutes N] [--kill-every M] [--users U] [--json FILE]
                           steady mixed load for N minutes with a master kill every M minutes, one
                           line of figures a minute, then the read-back and the targets (see README)
  bench [failover] [--url URL] [--connections N] [--duration S] [--cases a,b] [--slices N]
        [--rounds N] [--json FILE]
                           throughput and latency against a ceiling and a peer, or the failover
                           window (see README)
  render --target compose|local|kubernetes --out DIR [--check]
                           write the generated configs (compose: deploy/, host names, secrets
                           from the environment); --check only reports files that differ
`;

type Command = (args: string[]) => Promise<void>;

const COMMANDS: Record<string, Command> = {
  up,
  down: () => down(),
  status,
  failover: () => failover(),
  kill: (a) => nodeAction('kill', a),
  stop: (a) => nodeAction('stop', a),
  start: (a) => nodeAction('start', a),
  resume: (a) => nodeAction('resume', a),
  restart: (a) => nodeAction('restart', a),
  pause,
  logs,
  rotate: async (a) => (await import('./cli/rotate.ts')).rotate(a),
  chaos: async (a) => (await import('./cli/chaos.ts')).chaos(a),
  soak: async (a) => (await import('./cli/soak.ts')).soak(a),
  render: async (a) => (await import('./cli/render.ts')).render(a),
  bench: async (a) => {
    // A development tool (autocannon, Express): kept out of the compiled image, so the specifier
    // is not a literal the compiler would follow.
    const module = './bench/main.ts';
    return ((await import(module)) as { bench: Command }).bench(a);
  },
};

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE);
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`ha-stack: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  try {
    await command(args);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`ha-stack ${name}: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    const known = [CliError, ConfigError, PortInUseError, AlreadyRunningError, StackStartError];
    if (known.some((k) => err instanceof k)) {
      process.stderr.write(`ha-stack ${name}: ${(err as Error).message}\n`);
      return 1;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`ha-stack: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
