import type { RedisLogin, StatsAccess } from '../../ha/probes.ts';
import type { Certificates } from '../tls/certs.ts';
import type { RedisNode, Topology } from '../topology.ts';
import type { Addr, StackView } from './stack-view.ts';

/** The addresses and logins of a running stack, as its StackView has them (the Stack's surface). */
export abstract class ViewDelegates {
  protected abstract readonly view: StackView;

  get topology(): Topology {
    return this.view.topology;
  }
  get appCount(): number {
    return this.view.appCount;
  }
  get username(): string {
    return this.view.username;
  }
  get password(): string {
    return this.view.password;
  }
  get login(): RedisLogin {
    return this.view.login;
  }
  get sentinelPassword(): string {
    return this.view.sentinelPassword;
  }
  /** The stack's certificates when it speaks TLS (undefined when plain). */
  get certs(): Certificates | undefined {
    return this.view.certs;
  }
  get frontUrl(): string {
    return this.view.frontUrl;
  }
  get statsUrl(): string {
    return this.view.statsUrl;
  }
  get stats(): StatsAccess {
    return this.view.stats;
  }
  get appUrls(): string[] {
    return this.view.appUrls;
  }
  get redisFront(): Addr {
    return this.view.redisFront;
  }
  appUrl(name: string): string {
    return this.view.appUrl(name);
  }
  sentinelAddrs(): Addr[] {
    return this.view.sentinelAddrs();
  }
  redisNode(name: string): RedisNode {
    return this.view.redisNode(name);
  }
  redisMaster(): Promise<RedisNode | undefined> {
    return this.view.redisMaster();
  }
  currentMaster(): Promise<RedisNode | undefined> {
    return this.view.redisMaster();
  }
}
