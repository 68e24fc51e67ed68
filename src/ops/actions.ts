import type { RedisLogin, StatsAccess } from '../ha/probes.ts';
import type { RotateResult } from './supervisor/rotate.ts';
import type { RedisNode, Topology } from './topology.ts';

/** How the operator's tools log in: Redis as the `operator` ACL user, the Sentinels with their password. */
export interface StackCredentials {
  readonly login: RedisLogin;
  readonly sentinelPassword: string | undefined;
}

/** What chaos scenarios and CLI commands can do to a running stack, in-process or through the launcher. */
export interface StackActions extends StackCredentials {
  readonly topology: Topology;
  /** The operator's Redis password (user `username`). */
  readonly password: string;
  readonly username: string;
  readonly frontUrl: string;
  /** How the apps answer when asked directly (HTTPS on the hosts with TLS); HTTP when unset. */
  readonly appScheme?: 'http' | 'https';
  readonly statsUrl: string;
  /** HAProxy's stats page and the operator's password (the apps' /readyz details ask for it too). */
  readonly stats: StatsAccess;
  kill(name: string): Promise<void>;
  /** SIGTERM without waiting for the exit. */
  terminate(name: string): Promise<void>;
  pause(name: string): Promise<void> | void;
  resume(name: string): Promise<void> | void;
  restart(name: string): Promise<void>;
  /** Stops a node (SIGTERM, then SIGKILL after a grace period); it stays down until `start`. */
  stop(name: string): Promise<void>;
  /** Starts a stopped node as an automatic restart would (a Redis node rejoins as a replica). */
  start(name: string): Promise<void>;
  currentMaster(): Promise<RedisNode | undefined>;
  /** Replaces a secret without downtime (rotate.ts names them; rotation.ts says how). */
  rotate(secret: string): Promise<RotateResult>;
}
