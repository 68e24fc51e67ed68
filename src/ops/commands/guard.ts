import { type TlsFiles, useStackTls } from '../../ha/tls.ts';
import { MajorityWatch } from '../hosts/majority-watch.ts';
import { demoterOn } from '../supervisor/demoter-wiring.ts';
import type { RedisNode } from '../topology.ts';
import { parseCommandLine } from './args.ts';
import { CliError } from './context.ts';

/** `host:port` pairs, comma-separated, as the hosts' environment files hold them. */
function addresses(variable: string): { host: string; port: number }[] {
  const raw = process.env[variable] ?? '';
  const out = raw
    .split(',')
    .filter(Boolean)
    .map((a) => {
      const at = a.lastIndexOf(':');
      return { host: a.slice(0, at), port: Number(a.slice(at + 1)) };
    });
  if (!out.length || out.some((a) => !a.host || !Number.isInteger(a.port) || a.port < 1 || a.port > 65535))
    throw new CliError(`${variable} must list host:port pairs, comma-separated`);
  return out;
}

function secret(variable: string): string {
  const v = process.env[variable];
  if (!v) throw new CliError(`set ${variable}`);
  return v;
}

/** TLS to the nodes and Sentinels: REDIS_TLS_CA_FILE, _CERT_FILE and _KEY_FILE, all three or none. */
export function guardTls(env: NodeJS.ProcessEnv = process.env): TlsFiles | undefined {
  const [ca, cert, key] = ['REDIS_TLS_CA_FILE', 'REDIS_TLS_CERT_FILE', 'REDIS_TLS_KEY_FILE'].map(
    (v) => env[v],
  );
  if (!ca && !cert && !key) return undefined;
  if (!ca || !cert || !key)
    throw new CliError(
      'TLS needs REDIS_TLS_CA_FILE, REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE: set all three',
    );
  return { ca, cert, key };
}

/**
 * `ha-stack guard`: what the supervisor's demoter does locally (supervisor/demoter.ts), as a
 * service of its own on a host (its systemd unit, render --target hosts): it demotes a Redis node
 * of this host that reports role:master while a majority of the Sentinels name another master, within
 * a second, instead of Sentinel's 10 s, and fences off the writes of a master in doubt (fence.ts).
 * Its environment: GUARD_NODES (this host's nodes), REDIS_SENTINELS, MASTER_NAME,
 * MIN_REPLICAS_TO_WRITE (the nodes' own, put back when a fence is lifted; 1 by default), SENTINEL_PASSWORD, REDIS_OPERATOR_PASSWORD, and with TLS the
 * REDIS_TLS_*_FILE of its certificate. With MAJORITY_PEERS (the other hosts' `address:port`) and
 * MAJORITY_FILE it also tells keepalived whether this host hears a majority (majority-watch.ts).
 */
export async function guard(args: string[]): Promise<void> {
  parseCommandLine(args, {});
  useStackTls(guardTls());
  const nodes: RedisNode[] = addresses('GUARD_NODES').map((a) => ({
    name: `${a.host}:${a.port}`,
    host: a.host,
    port: a.port,
    initialRole: 'replica',
  }));
  const sentinels = addresses('REDIS_SENTINELS');
  const masterName = process.env['MASTER_NAME'] ?? 'mymaster';
  const minReplicas = process.env['MIN_REPLICAS_TO_WRITE'] ?? '1';
  if (!/^\d{1,2}$/.test(minReplicas))
    throw new CliError('MIN_REPLICAS_TO_WRITE must be a number of replicas');
  const sentinelPassword = secret('SENTINEL_PASSWORD');
  const login = { username: 'operator', password: secret('REDIS_OPERATOR_PASSWORD') };
  const log = (m: string) => process.stdout.write(`${new Date().toISOString()} ${m}\n`);
  const demoter = demoterOn({
    nodes,
    sentinels,
    masterName,
    sentinelPassword: () => sentinelPassword,
    login: () => login,
    minReplicasToWrite: Number(minReplicas),
    log,
    changed: () => undefined,
    // A service of its own on each host: it may look twice as often as the local supervisor.
    pollMs: 100,
  });
  log(
    `guarding ${nodes.map((n) => n.name).join(', ')} against a stale master (Sentinels ${sentinels.map((s) => `${s.host}:${s.port}`).join(', ')})`,
  );
  demoter.start();
  const watch = majorityWatch(log);
  watch?.start();
  // The demoter's timer does not hold the process: this does, until systemd stops the service.
  const alive = setInterval(() => undefined, 60_000);
  await new Promise<void>((resolve) => {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => resolve());
  });
  clearInterval(alive);
  watch?.stop();
  await demoter.close();
}

/** The majority watcher for keepalived when MAJORITY_PEERS and MAJORITY_FILE are set. */
function majorityWatch(log: (m: string) => void): MajorityWatch | undefined {
  const file = process.env['MAJORITY_FILE'];
  if (!process.env['MAJORITY_PEERS'] && !file) return undefined;
  if (!file) throw new CliError('MAJORITY_PEERS needs MAJORITY_FILE (the track file keepalived reads)');
  const peers = addresses('MAJORITY_PEERS');
  log(`telling keepalived in ${file} whether ${peers.length + 1} hosts' majority is heard`);
  return new MajorityWatch({ peers, file, log });
}
