// Over 300 lines: every file of a host comes from this one renderer, so that the test bed runs what a VM gets.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TlsFiles } from '../../ha/tls.ts';
import { FRONT_CERT, OPS_CERT, tlsEnvironment } from '../tls/certs.ts';
import { HOST_TLS_DIR, type HostTlsFiles, hostTlsOf } from '../tls/hosts-certs.ts';
import { appEnvironment, type Host, type HostLayout, type Topology } from '../topology.ts';
import type { StackSecrets } from './acl.ts';
import { renderHaproxyCfg } from './haproxy.ts';
import { renderEnvFile, renderUnit, type UnitSpec } from './hosts-units.ts';
import {
  renderFrontFault,
  renderHaproxyCheck,
  renderKeepalivedConf,
  renderMajorityCheck,
} from './keepalived.ts';
import { renderRedisConf } from './redis.ts';
import { renderSentinelConf } from './sentinel.ts';

/** Every secret of a deployment on hosts: the same on every host. */
export interface HostSecrets extends StackSecrets {
  sessionSecret: string;
  operatorPassword: string;
}

/** Where a host keeps its files: configs (what `render` writes), data (node state), run (pid files). */
export interface HostPaths {
  etc: string;
  data: string;
  run: string;
}

/** A VM's paths. The test bed gives each host folders of its own. */
export const VM_PATHS: HostPaths = { etc: '/etc/ha-stack', data: '/var/lib/ha-stack', run: '/run/ha-stack' };

export interface HostRenderOptions {
  secrets: HostSecrets;
  paths?: (host: Host) => HostPaths;
  /** The command that starts the app (the compiled server of a production install). */
  appCommand?: string[];
  /** How `ha-stack` runs on the host (its guard unit): the installed package's by default. */
  opsCommand?: string[];
  /** Extra app settings (the test bed's load limits). */
  appEnv?: Record<string, string>;
  iface?: string;
  /**
   * TLS on every hop (docs/hosts.md): each host's certificate files by name (tls/hosts-certs.ts),
   * written into its `tls/` folder. Undefined: plain text.
   */
  tls?: Record<string, HostTlsFiles> | undefined;
  binaries?: Partial<
    Record<'redis' | 'sentinel' | 'haproxy' | 'keepalived' | 'cp' | 'mkdir' | 'rm' | 'sh' | 'kill', string>
  >;
}

const BIN = {
  redis: '/usr/bin/redis-server',
  sentinel: '/usr/bin/redis-sentinel',
  haproxy: '/usr/sbin/haproxy',
  keepalived: '/usr/sbin/keepalived',
  cp: '/bin/cp',
  mkdir: '/bin/mkdir',
  rm: '/bin/rm',
  kill: '/bin/kill',
  sh: '/bin/sh',
};

/**
 * A Redis node's start asks the Sentinels for the master first, and starts as its replica when
 * they name another node (deploy/scripts/redis-entrypoint.sh, the very script compose and
 * Kubernetes run): a host that boots again never brings its old master back beside the new one.
 */
const SCRIPTS_DIR = fileURLToPath(new URL('../../../deploy/scripts/', import.meta.url));
const HOST_SCRIPTS = ['redis-entrypoint.sh', 'passwords.sh'] as const;

export const DEFAULT_APP_COMMAND = ['/usr/bin/node', '/opt/redis-ha-stack/dist/server.js'];
export const DEFAULT_OPS_COMMAND = ['/usr/bin/node', '/opt/redis-ha-stack/bin/ha-stack.js'];

/**
 * One folder per host, with what a VM needs: each of its nodes' configs, HAProxy's, keepalived's
 * and its check, each app's environment file, and a systemd unit per process. The paths inside are
 * the host's (`paths`): the folder's content goes into its `etc`. Redis and Sentinel rewrite their
 * configs (failovers), so each unit copies its rendered config into the node's data folder on the
 * first start only (`cp -n`): later starts, a power cycle's among them, start from what was saved.
 */
export function renderHostFiles(
  layout: HostLayout,
  t: Topology,
  opts: HostRenderOptions,
): Record<string, string> {
  const s = opts.secrets;
  const bin = { ...BIN, ...opts.binaries };
  const iface = opts.iface ?? 'eth0';
  const files: Record<string, string> = {};
  for (const host of layout.hosts) {
    const p = (opts.paths ?? (() => VM_PATHS))(host);
    const put = (rel: string, text: string) => {
      files[join(host.name, rel)] = text;
    };
    const units: UnitSpec[] = [];
    const tlsDir = join(p.etc, HOST_TLS_DIR);
    const majorityFile = join(p.run, 'majority-heard');
    const hostTls = opts.tls?.[host.name];
    if (opts.tls && !hostTls) throw new Error(`no certificates for ${host.name}`);
    for (const [file, text] of Object.entries(hostTls ?? {})) put(`${HOST_TLS_DIR}/${file}`, text);
    // A component's files on this host, or undefined without TLS.
    const tlsOf = (name: string): TlsFiles | undefined => (hostTls ? hostTlsOf(tlsDir, name) : undefined);
    // What a client of the nodes and Sentinels sets (the entrypoint's redis-cli, the guard).
    const clientTls = (name: string): Record<string, string> => {
      const f = tlsOf(name);
      return f ? { REDIS_TLS_CA_FILE: f.ca, REDIS_TLS_CERT_FILE: f.cert, REDIS_TLS_KEY_FILE: f.key } : {};
    };
    const stateful = (name: string, kind: 'redis' | 'sentinel', text: string, user: string) => {
      const data = join(p.data, name);
      put(`${kind}/${name}.conf`, text);
      units.push({
        name: `ha-stack-${name}`,
        description: `${kind === 'redis' ? 'Redis node' : 'Sentinel'} ${name} (redis-ha-stack)`,
        pre: [
          [bin.mkdir, '-p', '-m', '0700', data],
          [bin.cp, '-n', join(p.etc, kind, `${name}.conf`), join(data, `${kind}.conf`)],
        ],
        exec:
          kind === 'redis'
            ? [bin.sh, join(p.etc, 'bin', 'redis-entrypoint.sh'), bin.redis, join(data, 'redis.conf')]
            : [bin[kind], join(data, `${kind}.conf`)],
        ...(kind === 'redis' ? { environmentFile: join(p.etc, 'redis', `${name}.env`) } : {}),
        user,
      });
    };
    for (const script of HOST_SCRIPTS) put(`bin/${script}`, readFileSync(join(SCRIPTS_DIR, script), 'utf8'));
    for (const name of host.redis) {
      const node = t.redis.find((r) => r.name === name)!;
      const conf = renderRedisConf(t, node, { dir: join(p.data, name), users: s.redis, tls: tlsOf(name) });
      stateful(name, 'redis', conf, 'redis');
      put(
        `redis/${name}.env`,
        renderEnvFile(name, {
          REDIS_SENTINELS: t.sentinels.map((x) => `${x.host}:${x.port}`).join(','),
          MASTER_NAME: t.masterName,
          REDIS_ANNOUNCE_HOST: node.host,
          SENTINEL_DOWN_AFTER: String(t.downAfterMs),
          SENTINEL_FAILOVER: String(t.failoverTimeoutMs),
          SENTINEL_PASSWORD: s.sentinel,
          // With TLS the entrypoint gives the node its TLS settings on this port again (as in
          // compose and Kubernetes): the same files and port as its redis.conf.
          ...(hostTls ? { REDIS_PORT: String(node.port) } : {}),
          ...clientTls(name),
        }),
      );
    }
    for (const name of host.sentinels) {
      const node = t.sentinels.find((x) => x.name === name)!;
      const text = renderSentinelConf(t, node, {
        dir: join(p.data, name),
        authPass: s.redis.sentinel,
        requirePass: s.sentinel,
        hashed: true,
        readerPass: s.sentinelReader,
        tls: tlsOf(name),
      });
      stateful(name, 'sentinel', text, 'redis');
    }
    // The guard: a node of this host that reports master while the Sentinels name another is
    // demoted within a second (ha-stack guard), not at Sentinel's next look 10 s later; a master
    // in doubt has its writes fenced off meanwhile.
    put(
      'guard.env',
      renderEnvFile('guard', {
        GUARD_NODES: host.redis
          .map((n) => t.redis.find((r) => r.name === n)!)
          .map((r) => `${r.host}:${r.port}`)
          .join(','),
        REDIS_SENTINELS: t.sentinels.map((x) => `${x.host}:${x.port}`).join(','),
        MASTER_NAME: t.masterName,
        MIN_REPLICAS_TO_WRITE: String(t.minReplicasToWrite),
        // Whether this host hears a majority of the hosts, for keepalived (majority-watch.ts).
        MAJORITY_PEERS: layout.hosts
          .filter((h) => h !== host)
          .map((h) => `${h.address}:${t.haproxy.httpPort}`)
          .join(','),
        MAJORITY_FILE: majorityFile,
        SENTINEL_PASSWORD: s.sentinel,
        REDIS_OPERATOR_PASSWORD: s.redis.operator,
        ...clientTls(OPS_CERT),
      }),
    );
    units.push({
      name: 'ha-stack-guard',
      description: 'demotes a stale Redis master of this host (redis-ha-stack)',
      pre: [[bin.mkdir, '-p', '-m', '0700', p.run]],
      exec: [...(opts.opsCommand ?? DEFAULT_OPS_COMMAND), 'guard'],
      environmentFile: join(p.etc, 'guard.env'),
    });
    for (const name of host.apps) {
      const app = t.apps.find((a) => a.name === name)!;
      const env = {
        ...appEnvironment(t, app, {
          listen: app.host,
          password: s.redis.app,
          sentinelPassword: s.sentinelReader,
          sessionSecret: s.sessionSecret,
          // HAProxy of any host connects to the apps from its host's address.
          trustProxy: layout.hosts.map((h) => h.address).join(','),
          statsUrl: `${hostTls ? 'https' : 'http'}://${host.address}:${t.haproxy.statsPort}/stats`,
        }),
        HAPROXY_OPERATOR_PASSWORD: s.operatorPassword,
        // HTTPS from HAProxy (which may be another host's), TLS to the nodes, cookies for HTTPS only.
        ...appTlsEnvironment(tlsOf(name)),
        ...opts.appEnv,
      };
      put(`app/${name}.env`, renderEnvFile(name, env));
      units.push({
        name: `ha-stack-${name}`,
        description: `app instance ${name} (redis-ha-stack)`,
        pre: [],
        exec: opts.appCommand ?? DEFAULT_APP_COMMAND,
        environmentFile: join(p.etc, 'app', `${name}.env`),
        user: 'ha-stack',
      });
    }
    const cfg = renderHaproxyCfg(t, {
      target: 'local',
      password: s.redis.haproxy,
      operatorPassword: s.operatorPassword,
      // Every address: the floating one arrives here whenever keepalived gives it to this host.
      bindHost: '*',
      appSource: host.address,
      // Reloads without a lost connection (rotate certificates --hosts; systemctl reload).
      reload: haproxyReloadFiles(p),
      ...(hostTls
        ? {
            tls: { pem: join(tlsDir, `${FRONT_CERT}.pem`), ca: join(tlsDir, 'ca.crt') },
            appTls: { ca: join(tlsDir, 'ca.crt') },
          }
        : {}),
    });
    put('haproxy/haproxy.cfg', cfg);
    units.push({
      name: 'ha-stack-haproxy',
      description: 'HAProxy front door (redis-ha-stack)',
      pre: [[bin.mkdir, '-p', '-m', '0700', p.run]],
      // Its master's pid where keepalived's front-fault.sh finds it.
      exec: [
        bin.haproxy,
        '-W',
        '-db',
        '-f',
        join(p.etc, 'haproxy', 'haproxy.cfg'),
        '-p',
        join(p.run, 'haproxy.pid'),
      ],
      // HAProxy's master (-W) starts a new worker on the files as they are now; the old one ends
      // once its connections have.
      reload: [bin.kill, '-USR2', '$MAINPID'],
    });
    const check = join(p.etc, 'keepalived', 'check-haproxy.sh');
    const majorityScript = join(p.etc, 'keepalived', 'check-majority.sh');
    const faultScript = join(p.etc, 'keepalived', 'front-fault.sh');
    put(
      'keepalived/keepalived.conf',
      renderKeepalivedConf(layout, host, {
        iface,
        checkScript: check,
        majorityScript,
        faultScript,
        majorityFile,
      }),
    );
    put(
      'keepalived/front-fault.sh',
      renderFrontFault(
        host,
        join(p.run, 'haproxy.pid'),
        layout.hosts.filter((h) => h !== host).map((h) => h.address),
      ),
    );
    put('keepalived/check-haproxy.sh', renderHaproxyCheck(host, t.haproxy.httpPort));
    put('keepalived/check-majority.sh', renderMajorityCheck(layout, host, t.haproxy.httpPort));
    units.push({
      name: 'ha-stack-keepalived',
      description: 'keepalived: the floating address (redis-ha-stack)',
      // The guard's verdict from before a reboot is not kept (/run is empty after one): until it
      // speaks again, the file says 0 (init_file) and the majority script decides.
      pre: [
        [bin.mkdir, '-p', '-m', '0700', p.run],
        [bin.rm, '-f', majorityFile],
      ],
      // Pid files of its own: several keepalived may run on one machine (the test bed's namespaces).
      exec: [
        bin.keepalived,
        '--dont-fork',
        '--log-console',
        '--vrrp',
        '--use-file',
        join(p.etc, 'keepalived', 'keepalived.conf'),
        '--pid',
        join(p.run, 'keepalived.pid'),
        '--vrrp_pid',
        join(p.run, 'keepalived-vrrp.pid'),
        '--checkers_pid',
        join(p.run, 'keepalived-checkers.pid'),
      ],
      after: ['ha-stack-haproxy.service'],
    });
    for (const u of units) put(`systemd/${u.name}.service`, renderUnit(u));
  }
  return files;
}

/** An app's TLS settings on a host: TLS to the nodes (tls/certs.ts) and HTTPS with the same certificate. */
function appTlsEnvironment(f: TlsFiles | undefined): Record<string, string> {
  return f ? { ...tlsEnvironment(f), APP_TLS_CERT_FILE: f.cert, APP_TLS_KEY_FILE: f.key } : {};
}

/** The admin socket and saved server states of a host's HAProxy (its reloads: supervisor/haproxy-admin.ts). */
export function haproxyReloadFiles(p: HostPaths): { socket: string; stateFile: string } {
  return { socket: join(p.run, 'haproxy.sock'), stateFile: join(p.run, 'haproxy.state') };
}

/** The order a host's units start in: Redis, Sentinels, apps, HAProxy, keepalived. */
export function unitOrder(host: Host): string[] {
  return [
    ...host.redis.map((n) => `ha-stack-${n}`),
    ...host.sentinels.map((n) => `ha-stack-${n}`),
    'ha-stack-guard',
    ...host.apps.map((n) => `ha-stack-${n}`),
    'ha-stack-haproxy',
    'ha-stack-keepalived',
  ];
}
