// The operator's tool: `ha-stack <command>`. The test tools' commands (chaos, soak, bench) are listed
// here for the reader but run from src/tools/cli.ts; bin/ha-stack.js picks the entry point.
import { down } from './commands/down.ts';
import { failover, logs, nodeAction, pause, status } from './commands/nodes.ts';
import { type Command, exitWith, runCommand } from './commands/run.ts';
import { up } from './commands/up.ts';
import { COUNT_SOURCES as C, DEFAULT_COUNTS as D, MAX_COUNT } from './topology.ts';

export const USAGE = `usage: ha-stack <command> [arguments]

  up [--detach] [--monitoring] [--no-tls] [counts]
                           start the whole topology (foreground unless --detach), TLS on every hop
                           (the site on HTTPS, certificates of the stack's own CA: docs/tls.md);
                           --no-tls (or TLS=0) runs it plain; --monitoring (or MONITORING=1) adds
                           exporters, Prometheus and Alertmanager
  down                     stop the running stack
  up --hosts [--keep-data] / down --hosts
                           the host test bed (root): three hosts in network namespaces running
                           render --target hosts's files, one floating address (docs/hosts.md)
  status [--json]          mode, roles, offsets and lag, Sentinels' views and TILT, HAProxy backends,
                           app readiness, each process's restarts
  failover                 planned failover through Sentinel, writes paused so none is lost
  kill <node>              SIGKILL a node, as a crash: the supervisor starts it again after a back-off
                           (node: master, redis-1..${D.redisNodes}, sentinel-1..${D.sentinels}, app-1..${D.apps}, haproxy;
                           as many as the running stack has)
  stop <node>              stop a node (SIGTERM, SIGKILL after a grace period); it stays down
  start <node>             start a stopped node (a Redis node rejoins as a replica of the current master)
  pause <node> [seconds]   SIGSTOP a node (and SIGCONT it after the given seconds)
  resume <node>            SIGCONT a paused node
  restart <node>           stop a node and start it again
  logs <node> [lines]      the last lines of a node's log
  rotate <secret>          a new secret without downtime, the apps restarted one at a time, each
                           drained first (secret: session-secret, redis-app-password; see README)
  rotate certificates [--hosts | --out DIR --round 1|2|3]
                           with TLS: a new CA and a new certificate for every component without
                           downtime: trusted beside the old CA, shown, the old CA retired
                           (--hosts: on the host test bed, under a reader every 50 ms; --out: one
                           round in render --target hosts's files, and what to run on each host)
  upgrade --server valkey|redis [--yes-past-no-return]
                           move the running stack to Valkey 8.0 (or back to Redis 7.0) one node at a
                           time: replicas, Sentinels, then a planned failover (the point of no
                           return: asked at a terminal, refused elsewhere without the flag) and the
                           old master; before that point --server redis moves every node back,
                           after it --server redis --yes-past-no-return rolls back by a logical
                           copy under a write pause (docs/upgrade.md)
  backup [--dir DIR]       a snapshot from a replica (never the master), checked, with its manifest
                           (time, offset, counts, SHA-256), into DIR or BACKUP_DIR (docs/backups.md)
  restore BACKUP [--yes] [--without-sessions] [--dir DIR]
                           replace the running stack's data with a backup (its manifest, .rdb or id),
                           the site answering 503 meanwhile; opens it again once every node holds the
                           backup's counts. Without --yes, asks at a terminal and refuses elsewhere
  restore --reopen --yes   open the site a failed restore left closed
  guard                    on a host (its systemd unit, render --target hosts): demotes a Redis node
                           of the host that reports master while the Sentinels name another
  chaos [scenario ...] [--rounds N] [--json FILE] [--own-stack [--no-tls]]
                           fault injection under load with a report (see README); --own-stack:
                           on a stack of its own when none runs (TLS unless --no-tls)
  chaos --hosts [scenario ...] [--users N] [--json FILE]
                           (root) whole hosts and links failing on a host test bed of its own:
                           lose-host, lose-front, partition-host, one-way-front, one-way-host,
                           lossy-link, slow-link, cold-start, power-cycle (docs/hosts.md)
  chaos --alerts [fault ...] [--json FILE]
                           on a stack of its own with --monitoring, each alert's fault caused and
                           healed once: seconds to fire and to resolve in Alertmanager (docs/monitoring.md)
  soak [--minutes N] [--kill-every M] [--users U] [--healthy] [--monitoring] [--json FILE]
       [--own-stack [--no-tls]]
                           steady mixed load for N minutes with a master kill every M minutes, one
                           line of figures a minute, then the read-back and the targets (see README);
                           --healthy: no fault; --monitoring: Alertmanager watched, any alert fails
  bench [failover] [--url URL] [--connections N] [--duration S] [--cases a,b] [--slices N]
        [--rounds N] [--json FILE]
                           throughput and latency against a ceiling and a peer, or the failover
                           window (see README)
  render --target compose|local|kubernetes|hosts --out DIR [--check] [counts]
                           write the generated configs (compose: deploy/, host names, secrets
                           from the environment); --check only reports files that differ

counts (default ${D.redisNodes} Redis nodes, ${D.sentinels} Sentinels, ${D.apps} apps, quorum a majority of the Sentinels):
  ${C.redisNodes.flag} N  ${C.sentinels.flag} N  ${C.apps.flag} N  ${C.quorum.flag} N   or ${C.redisNodes.variable}, ${C.sentinels.variable}, ${C.apps.variable}, ${C.quorum.variable}
                           (at most ${MAX_COUNT} each; an odd number of 3 or more Sentinels is recommended)
`;

const COMMANDS: Record<string, Command> = {
  up,
  down,
  status,
  failover,
  kill: (a) => nodeAction('kill', a),
  stop: (a) => nodeAction('stop', a),
  start: (a) => nodeAction('start', a),
  resume: (a) => nodeAction('resume', a),
  restart: (a) => nodeAction('restart', a),
  pause,
  logs,
  rotate: async (a) => (await import('./commands/rotate.ts')).rotate(a),
  upgrade: async (a) => (await import('./commands/upgrade.ts')).upgrade(a),
  backup: async (a) => (await import('./commands/backup.ts')).backup(a),
  restore: async (a) => (await import('./commands/backup.ts')).restore(a),
  render: async (a) => (await import('./commands/render.ts')).render(a),
  guard: async (a) => (await import('./commands/guard.ts')).guard(a),
};

/** Runs one command line of the operator's tool and exits with its code. */
export function run(argv: string[]): void {
  exitWith(runCommand(COMMANDS, USAGE, argv));
}
