// loadConfig: the app's configuration, read once at start through the tables of table.ts. What
import { existsSync } from 'node:fs';
// ties variables together (a secret required or strong outside development, the Sentinels or a URL)
// is decided here; everything about one variable alone is its table entry.

import { randomBytes } from 'node:crypto';
import { availableParallelism, hostname } from 'node:os';

import type { TlsFiles } from '../ha/tls.ts';
import { type Env, reader } from './settings.ts';
import { REDIS_SETTINGS, SERVER_SETTINGS } from './table.ts';
import {
  type AppConfig,
  ConfigError,
  type RedisConfig,
  type RedisTarget,
  type ServerTlsFiles,
} from './types.ts';

export type { Env } from './settings.ts';
export * from './types.ts';

/** Secrets that are short, or made of very few distinct characters, are refused outside development. */
export function secretWeakness(secret: string): string | undefined {
  if (secret.length < 32) return 'must be at least 32 characters';
  if (new Set(secret).size < 10) return 'has too few distinct characters';
  if (/^(change.?me|secret|password|default)/i.test(secret)) return 'looks like a placeholder';
  return undefined;
}

/** A set secret, refused when weak outside development. */
export function strongSecret(name: string, value: string | undefined, appEnv: string): string | undefined {
  const weakness = value === undefined ? undefined : secretWeakness(value);
  if (weakness && appEnv !== 'development') throw new ConfigError(name, weakness);
  return value;
}

/** The Redis part of the configuration alone (what the functions loader needs). */
export function readRedis(env: Env = process.env): RedisConfig {
  const get = reader(env, REDIS_SETTINGS);
  const sentinels = get('REDIS_SENTINELS');
  let target: RedisTarget;
  if (sentinels) {
    target = { kind: 'sentinel', sentinels, masterName: get('REDIS_MASTER_NAME') };
  } else {
    const url = get('REDIS_URL');
    if (url === undefined)
      throw new ConfigError(
        'REDIS_SENTINELS',
        'set REDIS_SENTINELS (host:port,...) or REDIS_URL (redis://...)',
      );
    target = { kind: 'url', url };
  }
  return {
    target,
    username: get('REDIS_USERNAME'),
    password: get('REDIS_PASSWORD'),
    sentinelUsername: get('REDIS_SENTINEL_USERNAME'),
    sentinelPassword: get('REDIS_SENTINEL_PASSWORD'),
    waitReplicas: get('REDIS_WAIT_REPLICAS') ?? (target.kind === 'sentinel' ? 1 : 0),
    waitTimeoutMs: get('REDIS_WAIT_TIMEOUT_MS'),
    writeDeadlineMs: get('WRITE_DEADLINE_MS'),
    readFallbackMs: get('READ_FALLBACK_MS'),
    noReplicaGraceMs: get('NO_REPLICA_GRACE_MS'),
    connectTimeoutMs: get('REDIS_CONNECT_TIMEOUT_MS'),
    tls: readTls(get('REDIS_TLS_CA_FILE'), get('REDIS_TLS_CERT_FILE'), get('REDIS_TLS_KEY_FILE')),
  };
}

/** TLS needs all three files or none: one alone is a mistake, not plain text. */
function readTls(
  ca: string | undefined,
  cert: string | undefined,
  key: string | undefined,
): TlsFiles | undefined {
  if (ca === undefined && cert === undefined && key === undefined) return undefined;
  const missing = (
    [
      ['REDIS_TLS_CA_FILE', ca],
      ['REDIS_TLS_CERT_FILE', cert],
      ['REDIS_TLS_KEY_FILE', key],
    ] as const
  ).find(([, v]) => v === undefined);
  if (missing || ca === undefined || cert === undefined || key === undefined)
    throw new ConfigError(
      missing?.[0] ?? 'REDIS_TLS_CA_FILE',
      'TLS needs the CA, the certificate and the key: set all three',
    );
  for (const [variable, path] of [
    ['REDIS_TLS_CA_FILE', ca],
    ['REDIS_TLS_CERT_FILE', cert],
    ['REDIS_TLS_KEY_FILE', key],
  ] as const)
    if (!existsSync(path)) throw new ConfigError(variable, `no such file: ${path}`);
  return { ca, cert, key };
}

/** HTTPS needs the certificate and its key, or neither: one alone is a mistake, not plain HTTP. */
export function readServerTls(cert: string | undefined, key: string | undefined): ServerTlsFiles | undefined {
  if (cert === undefined && key === undefined) return undefined;
  if (cert === undefined)
    throw new ConfigError('APP_TLS_CERT_FILE', 'HTTPS needs the certificate and its key: set both');
  if (key === undefined)
    throw new ConfigError('APP_TLS_KEY_FILE', 'HTTPS needs the certificate and its key: set both');
  for (const [variable, path] of [
    ['APP_TLS_CERT_FILE', cert],
    ['APP_TLS_KEY_FILE', key],
  ] as const)
    if (!existsSync(path)) throw new ConfigError(variable, `no such file: ${path}`);
  return { cert, key };
}

function readSessionSecret(env: Env, appEnv: string): { secret: string; generated: boolean } {
  const secret = reader(env, SERVER_SETTINGS)('SESSION_SECRET');
  if (secret !== undefined)
    return { secret: strongSecret('SESSION_SECRET', secret, appEnv)!, generated: false };
  if (appEnv !== 'development')
    throw new ConfigError(
      'SESSION_SECRET',
      'is required outside development (APP_ENV=development generates one)',
    );
  return { secret: randomBytes(32).toString('base64url'), generated: true };
}

export function loadConfig(env: Env = process.env): AppConfig {
  const get = reader(env, SERVER_SETTINGS);
  const appEnv = get('APP_ENV');
  const port = get('PORT');
  const session = readSessionSecret(env, appEnv);
  const trustProxy = get('TRUST_PROXY');
  const logLevel = get('LOG_LEVEL');
  const sessionSecretPrevious = strongSecret(
    'SESSION_SECRET_PREVIOUS',
    get('SESSION_SECRET_PREVIOUS'),
    appEnv,
  );
  const scryptCost = get('SCRYPT_COST');
  const app = {
    env: appEnv,
    host: get('HOST'),
    port,
    instanceId: get('INSTANCE_ID') ?? `${hostname()}:${port}`,
    sessionSecret: session.secret,
    sessionSecretGenerated: session.generated,
    sessionSecretPrevious,
    sessionTtlSeconds: get('SESSION_TTL_SECONDS'),
    sessionMaxAgeSeconds: get('SESSION_MAX_AGE_SECONDS'),
    sessionsPerAccount: get('SESSIONS_PER_ACCOUNT'),
    cookieSecure: get('COOKIE_SECURE'),
    serverTls: readServerTls(get('APP_TLS_CERT_FILE'), get('APP_TLS_KEY_FILE')),
    metricsNode: get('METRICS_NODE'),
    trustProxy,
    bodyLimitBytes: get('BODY_LIMIT_BYTES'),
    loginLimitPerEmail: get('LOGIN_LIMIT_PER_EMAIL'),
    loginLimitPerIp: get('LOGIN_LIMIT_PER_IP'),
    loginLimitWindowSeconds: get('LOGIN_LIMIT_WINDOW_SECONDS'),
    loginSlowdownAfter: get('LOGIN_SLOWDOWN_AFTER'),
    loginSlowdownMaxSeconds: get('LOGIN_SLOWDOWN_MAX_SECONDS'),
    loginLimitPerDevice: get('LOGIN_LIMIT_PER_DEVICE'),
    registerLimitPerIp: get('REGISTER_LIMIT_PER_IP'),
    registerLimitWindowSeconds: get('REGISTER_LIMIT_WINDOW_SECONDS'),
    scryptCost,
    hashConcurrency: get('HASH_CONCURRENCY') ?? Math.max(2, availableParallelism()),
    logLevel,
    shutdownGraceMs: get('SHUTDOWN_GRACE_MS'),
    shutdownDrainMs: get('SHUTDOWN_DRAIN_MS'),
  };
  const redis = readRedis(env);
  return { ...app, redis };
}
