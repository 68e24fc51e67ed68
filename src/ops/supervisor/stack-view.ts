import { type RedisLogin, type StatsAccess, sentinelsMaster } from '../../ha/probes.ts';
import type { Certificates } from '../tls/certs.ts';
import type { RedisNode, Topology } from '../topology.ts';
import type { LiveSecrets } from './live-secrets.ts';

export type Addr = { host: string; port: number };

/** What a running stack offers its clients: addresses, URLs, the logins, the master. */
export class StackView {
  /** The operator's ACL user: what the CLI, chaos, bench and tests log in to Redis as. */
  readonly username = 'operator';

  constructor(
    readonly topology: Topology,
    private readonly secrets: LiveSecrets,
    readonly appCount: number,
    /** The stack's certificates when it speaks TLS (tls/certs.ts). */
    readonly certs?: Certificates | undefined,
  ) {}

  /** The operator's Redis password. */
  get password(): string {
    return this.secrets.passwords.redis.operator;
  }

  get login(): RedisLogin {
    return { username: this.username, password: this.password };
  }

  /** The Sentinels' own password (`requirepass`). */
  get sentinelPassword(): string {
    return this.secrets.passwords.sentinel;
  }

  appUrl(name: string): string {
    const a = this.topology.apps.find((x) => x.name === name);
    if (!a) throw new Error(`not an app: ${name}`);
    return `http://${a.host}:${a.port}`;
  }

  get appUrls(): string[] {
    return this.topology.apps.slice(0, this.appCount).map((a) => this.appUrl(a.name));
  }

  get frontUrl(): string {
    const h = this.topology.haproxy;
    return this.certs ? `https://${h.host}:${h.httpsPort}` : `http://${h.host}:${h.httpPort}`;
  }

  get statsUrl(): string {
    const h = this.topology.haproxy;
    return `${this.certs ? 'https' : 'http'}://${h.host}:${h.statsPort}/stats`;
  }

  /** HAProxy's stats page and the operator's password, who alone may read it. */
  get stats(): StatsAccess {
    return { url: this.statsUrl, password: this.secrets.operatorPassword };
  }

  /** HAProxy's TCP front that reaches the current master only. */
  get redisFront(): Addr {
    return { host: this.topology.haproxy.host, port: this.topology.haproxy.redisPort };
  }

  sentinelAddrs(): Addr[] {
    return this.topology.sentinels.map((s) => ({ host: s.host, port: s.port }));
  }

  redisNode(name: string): RedisNode {
    const n = this.topology.redis.find((r) => r.name === name);
    if (!n) throw new Error(`not a Redis node: ${name}`);
    return n;
  }

  /** The node most reachable Sentinels name as master now. */
  async redisMaster(): Promise<RedisNode | undefined> {
    const m = await sentinelsMaster(this.sentinelAddrs(), this.topology.masterName, this.sentinelPassword);
    return m && this.topology.redis.find((r) => r.host === m.host && r.port === m.port);
  }
}
