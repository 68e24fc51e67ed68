import type { TopologyOptions } from '../topology.ts';
import type { BackoffPolicy } from './backoff.ts';
import type { ServerKind } from './servers.ts';

export interface StackOptions {
  /** Configs, data, logs and every password (RunDir.secrets: made on the first start, then reused). */
  runDir: string;
  /** The server every Redis node and Sentinel starts on (REDIS_SERVER; default redis). */
  server?: ServerKind;
  /** Port, host and timing overrides; tests pass free ports for everything. */
  topology?: TopologyOptions;
  /** How many of the topology's apps to start (default: all of them). */
  apps?: number;
  haproxy?: boolean;
  /** Also the monitoring (supervisor/monitoring.ts): exporters, Alertmanager, Prometheus. */
  monitoring?: boolean;
  /**
   * TLS on every hop (docs/tls.md): the stack's CA and certificates made in the run directory at the
   * first start, Redis and Sentinel on TLS only, the site on HTTPS. Default off.
   */
  tls?: boolean;
  /** With `tls`: the operator's own CA and certificates (TLS_DIR; certs.ts givenCertificates), none made. */
  tlsDir?: string | undefined;
  /** Command that starts one app instance (its settings come as environment variables). */
  appCommand?: string[];
  /** Extra environment of every app instance; overrides the stack's own variables. */
  appEnv?: Record<string, string>;
  /** Deadline of each readiness step. */
  timeoutMs?: number;
  /**
   * Deadline of each step of a rotation's restart of the apps (HAProxy has the instance UP before
   * its restart, takes it out, has it UP again); default `timeoutMs`.
   */
  rollTimeoutMs?: number;
  onEvent?: (message: string) => void;
  /**
   * Concurrent connections one client address may hold on HAProxy's HTTP fronts (default
   * DEFAULT_CONNECTIONS_PER_ADDRESS of render/haproxy.ts).
   */
  connectionsPerAddress?: number;
  /** Delays before a crashed process is started again (default RESTART_BACKOFF: 250 ms to 10 s). */
  restartBackoff?: BackoffPolicy;
  /**
   * Make a node of this stack that reports role:master while the Sentinels agree on another master
   * a replica of that master (demoter.ts); default true. Off only to watch Sentinel alone.
   */
  demoteStaleMasters?: boolean;
}

/** A start-up step failed: which process, what it waited for, and the end of that process's log. */
export class StackStartError extends Error {
  constructor(
    readonly processName: string,
    readonly step: string,
    override readonly cause: unknown,
    readonly logTail: string,
  ) {
    const why = cause instanceof Error ? cause.message : String(cause);
    const tail = logTail ? `\n--- last lines of ${processName}'s log ---\n${logTail}` : '';
    super(`${processName}: ${step} failed: ${why}${tail}`);
    this.name = 'StackStartError';
  }
}

/**
 * App settings for a load generated from one address (chaos, bench): the per-address limits on
 * logins and registrations protect a real site from one client, not a load test from itself; and a
 * load test logs its users in again and again while their first sessions serve its other cases, so
 * the cap on sessions per account (which would end those first sessions) is at its highest.
 */
export const LOAD_LIMITS: Record<string, string> = {
  REGISTER_LIMIT_PER_IP: '100000',
  LOGIN_LIMIT_PER_IP: '100000',
  SESSIONS_PER_ACCOUNT: '1000',
};
