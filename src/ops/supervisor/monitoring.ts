import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { TlsFiles } from '../../ha/tls.ts';
import {
  ALERT_RULES_FILE,
  alertmanagerArgs,
  MONITORING_USER,
  prometheusArgs,
  redisExporterArgs,
  renderAlertmanagerConfig,
  renderPrometheusConfig,
  renderWebConfig,
  sentinelExporterArgs,
} from '../render/monitoring.ts';
import type { Topology } from '../topology.ts';
import { OPERATOR_PASSWORD_FILE } from './live-secrets.ts';
import { writePrivate } from './private-files.ts';
import { type ProcessSet, REPO_ROOT } from './process-set.ts';
import type { RunDir } from './rundir.ts';

/** The password of user `monitoring` on Prometheus's and Alertmanager's web ports (0600). */
export const MONITORING_PASSWORD_FILE = 'monitoring.password';

export const SENTINEL_EXPORTER = 'sentinel-exporter';

export interface MonitoringDeps {
  topology: Topology;
  run: RunDir;
  processes: ProcessSet;
  /** The exporter user's password on the Redis nodes, and the Sentinels' reader's, as they are now. */
  passwords: () => { exporter: string; sentinelReader: string };
  /** With TLS: the certificate the exporters show the nodes and Sentinels, and the CA (Prometheus's too). */
  tls?: TlsFiles | undefined;
}

/**
 * A bcrypt hash, as `--web.config.file` takes a password: crypt(3) of the C library (libxcrypt
 * has bcrypt) through Python's `crypt` module, the one bcrypt at hand on a Debian machine.
 */
export function bcryptHash(password: string): string {
  const script =
    'import crypt,sys; print(crypt.crypt(sys.stdin.read(), crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1024)))';
  let out: string;
  try {
    out = execFileSync('python3', ['-W', 'ignore', '-c', script], {
      input: password,
      encoding: 'utf8',
    }).trim();
  } catch (err) {
    throw new Error(
      `cannot hash the monitoring password with python3's crypt (Debian's python3 has it): ${(err as Error).message}`,
    );
  }
  if (!/^\$2[aby]\$\d\d\$.{53}$/.test(out)) throw new Error(`python3's crypt gave no bcrypt hash: "${out}"`);
  return out;
}

/**
 * The processes `--monitoring` adds (docs/monitoring.md), each with its readiness: an exporter per
 * Redis node, one for the Sentinels, Alertmanager, then Prometheus. Every one listens on loopback;
 * Prometheus and Alertmanager ask for the monitoring password.
 */
export class Monitoring {
  private readonly t: Topology;

  constructor(private readonly deps: MonitoringDeps) {
    this.t = deps.topology;
  }

  /** Every process of the monitoring, in start order. */
  get names(): string[] {
    return [
      ...this.t.monitoring.redisExporters.map((e) => e.name),
      SENTINEL_EXPORTER,
      'alertmanager',
      'prometheus',
    ];
  }

  owns(name: string): boolean {
    return this.names.includes(name);
  }

  /** The monitoring password (generated on the first start). */
  get password(): string {
    return this.deps.run.secret(MONITORING_PASSWORD_FILE, 24);
  }

  get prometheusUrl(): string {
    return `http://${this.t.monitoring.host}:${this.t.monitoring.prometheusPort}`;
  }

  get alertmanagerUrl(): string {
    return `http://${this.t.monitoring.host}:${this.t.monitoring.alertmanagerPort}`;
  }

  /** The Authorization header of the monitoring user. */
  get authorization(): string {
    return `Basic ${Buffer.from(`${MONITORING_USER}:${this.password}`).toString('base64')}`;
  }

  async startAll(signal?: AbortSignal): Promise<void> {
    for (const name of this.names) await this.start(name, signal);
  }

  async start(name: string, signal?: AbortSignal): Promise<void> {
    if (name === 'prometheus') return this.startPrometheus(signal);
    if (name === 'alertmanager') return this.startAlertmanager(signal);
    if (name === SENTINEL_EXPORTER) return this.startSentinelExporter(signal);
    return this.startRedisExporter(name, signal);
  }

  private async get(url: string, auth: boolean): Promise<{ status: number; body: string }> {
    const res = await fetch(url, {
      signal: AbortSignal.timeout(2000),
      headers: auth ? { authorization: this.authorization } : {},
    });
    return { status: res.status, body: await res.text() };
  }

  private async startRedisExporter(name: string, signal?: AbortSignal): Promise<void> {
    const e = this.t.monitoring.redisExporters.find((x) => x.name === name);
    if (!e) throw new Error(`not a process of the monitoring: ${name}`);
    this.deps.processes.launch(
      name,
      'prometheus-redis-exporter',
      redisExporterArgs(this.t, name, this.deps.tls),
      {
        REDIS_PASSWORD: this.deps.passwords().exporter,
      },
    );
    const url = `http://${this.t.monitoring.host}:${e.port}/metrics`;
    await this.deps.processes.waitReady(
      name,
      `redis_up from ${url}`,
      async () => /^redis_up \d/m.test((await this.get(url, false)).body),
      signal,
    );
  }

  private async startSentinelExporter(signal?: AbortSignal): Promise<void> {
    this.deps.processes.launch(
      SENTINEL_EXPORTER,
      'prometheus-redis-exporter',
      sentinelExporterArgs(this.t, this.deps.tls),
      {
        REDIS_PASSWORD: this.deps.passwords().sentinelReader,
      },
    );
    const s = this.t.sentinels[0]!;
    const target = `${this.deps.tls ? 'rediss://' : ''}${s.host}:${s.port}`;
    const url = `http://${this.t.monitoring.host}:${this.t.monitoring.sentinelExporterPort}/scrape?target=${target}`;
    await this.deps.processes.waitReady(
      SENTINEL_EXPORTER,
      `redis_up from ${url}`,
      async () => /^redis_up \d/m.test((await this.get(url, false)).body),
      signal,
    );
  }

  /** Its folder in the run directory, with the web config (the password's bcrypt hash). */
  private prepare(name: string): string {
    const dir = this.deps.run.nodeDir(name);
    writePrivate(join(dir, 'web.yml'), renderWebConfig(bcryptHash(this.password)));
    return dir;
  }

  private async startAlertmanager(signal?: AbortSignal): Promise<void> {
    const dir = this.prepare('alertmanager');
    writePrivate(join(dir, 'alertmanager.yml'), renderAlertmanagerConfig());
    this.deps.processes.launch('alertmanager', 'prometheus-alertmanager', alertmanagerArgs(this.t, dir));
    await this.ready('alertmanager', `${this.alertmanagerUrl}/-/ready`, signal);
  }

  private async startPrometheus(signal?: AbortSignal): Promise<void> {
    const dir = this.prepare('prometheus');
    const run = this.deps.run.dir;
    const config = renderPrometheusConfig(this.t, {
      rules: join(REPO_ROOT, ALERT_RULES_FILE),
      operatorPasswordFile: join(run, OPERATOR_PASSWORD_FILE),
      monitoringPasswordFile: join(run, MONITORING_PASSWORD_FILE),
      ca: this.deps.tls?.ca,
    });
    writePrivate(join(dir, 'prometheus.yml'), config);
    this.deps.processes.launch('prometheus', 'prometheus', prometheusArgs(this.t, dir));
    await this.ready('prometheus', `${this.prometheusUrl}/-/ready`, signal);
  }

  private ready(name: string, url: string, signal?: AbortSignal): Promise<void> {
    return this.deps.processes.waitReady(
      name,
      `HTTP 200 from ${url} (user ${MONITORING_USER})`,
      async () => (await this.get(url, true)).status === 200,
      signal,
    );
  }
}
