import type { TlsFiles } from '../ha/tls.ts';
// The application's configuration as loadConfig (index.ts) reads it from the environment.

/** A bad environment variable: start-up stops with a message naming it. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** The files of the certificate the app serves HTTPS with. */
export interface ServerTlsFiles {
  cert: string;
  key: string;
}

export interface SentinelAddress {
  host: string;
  port: number;
}

export type RedisTarget =
  | { kind: 'sentinel'; sentinels: SentinelAddress[]; masterName: string }
  | { kind: 'url'; url: string };

export interface RedisConfig {
  target: RedisTarget;
  /** The ACL user to log in as; unset: the `default` user (a Redis without ACL users). */
  username: string | undefined;
  password: string | undefined;
  /** The Sentinels' ACL user to log in as; unset: their `default` user. */
  sentinelUsername?: string | undefined;
  sentinelPassword: string | undefined;
  /** Replicas that must confirm a write before it is acknowledged (WAIT n). */
  waitReplicas: number;
  waitTimeoutMs: number;
  /** How long a write may wait for a (new) master before the client gets 503. */
  writeDeadlineMs: number;
  /** How long a read waits for the master before it is served from a replica. */
  readFallbackMs: number;
  /**
   * How long a master may refuse writes for want of replicas (a new master whose replicas are
   * attaching) before writes are answered 503 at once instead of retried until their deadline.
   */
  noReplicaGraceMs: number;
  connectTimeoutMs: number;
  /** TLS to the nodes and Sentinels (REDIS_TLS_*_FILE); undefined: plain text. */
  tls?: TlsFiles | undefined;
}

export interface NamedAddress {
  /** The address itself when the variable gives no name. */
  name: string;
  host: string;
  port: number;
}

export interface AppConfig {
  env: 'production' | 'development';
  host: string;
  port: number;
  instanceId: string;
  sessionSecret: string;
  /** True when the secret was generated because none was given (development only). */
  sessionSecretGenerated: boolean;
  /** The secret before the last rotation: cookies and CSRF tokens it signed are still accepted. */
  sessionSecretPrevious: string | undefined;
  sessionTtlSeconds: number;
  /** Absolute lifetime of a session, however often it is used. */
  sessionMaxAgeSeconds: number;
  /** Live sessions one account may hold; a login beyond it ends the oldest. */
  sessionsPerAccount: number;
  cookieSecure: boolean;
  /** HTTPS (APP_TLS_CERT_FILE, APP_TLS_KEY_FILE): the certificate and key files; undefined: plain HTTP. */
  serverTls?: ServerTlsFiles | undefined;
  /** Export prom-client's default Node metrics (GC, event-loop delay histogram; they cost on every request). */
  metricsNode: boolean;
  trustProxy: string[];
  bodyLimitBytes: number;
  /** Failed logins for one email from one client address within the window (hard limit). */
  loginLimitPerEmail: number;
  loginLimitPerIp: number;
  loginLimitWindowSeconds: number;
  /** Failed logins for one email from all addresses before each further attempt waits longer. */
  loginSlowdownAfter: number;
  /** The longest such wait. */
  loginSlowdownMaxSeconds: number;
  /** Failed logins for one email from one browser that logged in to it before (its device cookie). */
  loginLimitPerDevice: number;
  registerLimitPerIp: number;
  registerLimitWindowSeconds: number;
  scryptCost: number;
  /** Password hashes computed at once by this instance; registrations get at most half of them. */
  hashConcurrency: number;
  logLevel: string;
  shutdownGraceMs: number;
  /** How long a stopping instance reports not-ready before it closes, so the proxy takes it out first. */
  shutdownDrainMs: number;
  redis: RedisConfig;
}
