import { randomBytes } from 'node:crypto';
import { availableParallelism, hostname } from 'node:os';

import {
  type AppConfig,
  ConfigError,
  type NamedAddress,
  type RedisConfig,
  type RedisTarget,
  type SentinelAddress,
} from './types.ts';

export * from './types.ts';

export type Env = Record<string, string | undefined>;

export function str(env: Env, name: string, fallback: string): string {
  const v = env[name];
  return v === undefined || v === '' ? fallback : v;
}

export function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(name, `must be an integer, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

export function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

/** A DNS name or an IPv4 address: letters, digits, dots and inner hyphens. */
const HOSTNAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;
/** The inside of `[...]`: an IPv6 address, with an optional zone (`%eth0`). */
const IPV6 = /^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(?:%[A-Za-z0-9_.-]+)?$/;

/** `host:port`, `[ipv6]:port`; anything else (an empty host, `[]`, a stray `=`) is refused. */
function parseHostPort(name: string, item: string): SentinelAddress {
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d{1,5})$/.exec(item.trim());
  const host = m?.[1] ?? m?.[2] ?? '';
  const port = m ? Number(m[3]) : Number.NaN;
  const hostOk = m?.[1] !== undefined ? IPV6.test(host) : HOSTNAME.test(host);
  if (!hostOk || port < 1 || port > 65535) {
    throw new ConfigError(name, `"${item}" is not host:port`);
  }
  return { host, port };
}

/** `name=host:port` or `host:port` items separated by commas. */
export function namedList(name: string, raw: string): NamedAddress[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((item) => {
      const eq = item.indexOf('=');
      const label = eq > 0 ? item.slice(0, eq).trim() : '';
      const addr = parseHostPort(name, eq > 0 ? item.slice(eq + 1) : item);
      if (label !== '' && !/^[A-Za-z0-9._-]{1,64}$/.test(label))
        throw new ConfigError(name, `"${label}" is not a valid node name`);
      return { name: label || `${addr.host}:${addr.port}`, ...addr };
    });
}

/** Secrets that are short, or made of very few distinct characters, are refused outside development. */
export function secretWeakness(secret: string): string | undefined {
  if (secret.length < 32) return 'must be at least 32 characters';
  if (new Set(secret).size < 10) return 'has too few distinct characters';
  if (/^(change.?me|secret|password|default)/i.test(secret)) return 'looks like a placeholder';
  return undefined;
}

function readRedis(env: Env): RedisConfig {
  const url = env['REDIS_URL'];
  const sentinels = env['REDIS_SENTINELS'];
  let target: RedisTarget;
  if (sentinels) {
    const list = sentinels
      .split(',')
      .filter((s) => s.trim() !== '')
      .map((s) => parseHostPort('REDIS_SENTINELS', s));
    if (list.length === 0) throw new ConfigError('REDIS_SENTINELS', 'lists no sentinel');
    const masterName = str(env, 'REDIS_MASTER_NAME', 'mymaster');
    if (!/^[A-Za-z0-9._-]{1,64}$/.test(masterName)) {
      throw new ConfigError('REDIS_MASTER_NAME', `"${masterName}" is not a valid master name`);
    }
    target = { kind: 'sentinel', sentinels: list, masterName };
  } else if (url) {
    if (!/^rediss?:\/\//.test(url))
      throw new ConfigError('REDIS_URL', 'must start with redis:// or rediss://');
    try {
      new URL(url);
    } catch {
      throw new ConfigError('REDIS_URL', 'is not a valid URL');
    }
    target = { kind: 'url', url };
  } else {
    throw new ConfigError(
      'REDIS_SENTINELS',
      'set REDIS_SENTINELS (host:port,...) or REDIS_URL (redis://...)',
    );
  }
  const password = env['REDIS_PASSWORD'] || undefined;
  return {
    target,
    username: env['REDIS_USERNAME'] || undefined,
    password,
    sentinelPassword: env['REDIS_SENTINEL_PASSWORD'] || undefined,
    waitReplicas: int(env, 'REDIS_WAIT_REPLICAS', target.kind === 'sentinel' ? 1 : 0, 0, 16),
    waitTimeoutMs: int(env, 'REDIS_WAIT_TIMEOUT_MS', 500, 10, 60_000),
    writeDeadlineMs: int(env, 'WRITE_DEADLINE_MS', 6000, 100, 120_000),
    readFallbackMs: int(env, 'READ_FALLBACK_MS', 150, 10, 10_000),
    noReplicaGraceMs: int(env, 'NO_REPLICA_GRACE_MS', 2000, 0, 120_000),
    connectTimeoutMs: int(env, 'REDIS_CONNECT_TIMEOUT_MS', 1000, 100, 60_000),
  };
}

export function loadConfig(env: Env = process.env): AppConfig {
  const appEnv = str(env, 'APP_ENV', 'production');
  if (appEnv !== 'production' && appEnv !== 'development') {
    throw new ConfigError('APP_ENV', `must be production or development, got "${appEnv}"`);
  }
  const port = int(env, 'PORT', 3001, 0, 65535);
  let sessionSecret = env['SESSION_SECRET'] ?? '';
  let sessionSecretGenerated = false;
  if (sessionSecret === '') {
    if (appEnv !== 'development') {
      throw new ConfigError(
        'SESSION_SECRET',
        'is required outside development (APP_ENV=development generates one)',
      );
    }
    sessionSecret = randomBytes(32).toString('base64url');
    sessionSecretGenerated = true;
  } else {
    const weakness = secretWeakness(sessionSecret);
    if (weakness && appEnv !== 'development') throw new ConfigError('SESSION_SECRET', weakness);
  }
  const trustProxy = str(env, 'TRUST_PROXY', '127.0.0.1,::1')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const logLevel = str(env, 'LOG_LEVEL', 'info');
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `unknown level "${logLevel}"`);
  }
  const sessionSecretPrevious = env['SESSION_SECRET_PREVIOUS'] || undefined;
  if (sessionSecretPrevious !== undefined && appEnv !== 'development') {
    const weakness = secretWeakness(sessionSecretPrevious);
    if (weakness) throw new ConfigError('SESSION_SECRET_PREVIOUS', weakness);
  }
  const scryptCost = int(env, 'SCRYPT_COST', 16_384, 1024, 1_048_576);
  if ((scryptCost & (scryptCost - 1)) !== 0) throw new ConfigError('SCRYPT_COST', 'must be a power of two');
  return {
    env: appEnv,
    host: str(env, 'HOST', '127.0.0.1'),
    port,
    instanceId: str(env, 'INSTANCE_ID', `${hostname()}:${port}`),
    sessionSecret,
    sessionSecretGenerated,
    sessionSecretPrevious,
    sessionTtlSeconds: int(env, 'SESSION_TTL_SECONDS', 600, 10, 86_400),
    sessionMaxAgeSeconds: int(env, 'SESSION_MAX_AGE_SECONDS', 43_200, 1, 2_592_000),
    cookieSecure: bool(env, 'COOKIE_SECURE', false),
    metricsNode: bool(env, 'METRICS_NODE', false),
    trustProxy,
    bodyLimitBytes: int(env, 'BODY_LIMIT_BYTES', 16_384, 1024, 10_485_760),
    loginLimitPerEmail: int(env, 'LOGIN_LIMIT_PER_EMAIL', 5, 1, 10_000),
    loginLimitPerIp: int(env, 'LOGIN_LIMIT_PER_IP', 30, 1, 100_000),
    loginLimitWindowSeconds: int(env, 'LOGIN_LIMIT_WINDOW_SECONDS', 900, 1, 86_400),
    loginSlowdownAfter: int(env, 'LOGIN_SLOWDOWN_AFTER', 20, 1, 100_000),
    loginSlowdownMaxSeconds: int(env, 'LOGIN_SLOWDOWN_MAX_SECONDS', 60, 1, 3600),
    registerLimitPerIp: int(env, 'REGISTER_LIMIT_PER_IP', 10, 1, 1_000_000),
    registerLimitWindowSeconds: int(env, 'REGISTER_LIMIT_WINDOW_SECONDS', 3600, 1, 86_400),
    scryptCost,
    hashConcurrency: int(env, 'HASH_CONCURRENCY', Math.max(2, availableParallelism()), 2, 256),
    logLevel,
    shutdownGraceMs: int(env, 'SHUTDOWN_GRACE_MS', 10_000, 0, 120_000),
    shutdownDrainMs: int(env, 'SHUTDOWN_DRAIN_MS', 2500, 0, 60_000),
    redis: readRedis(env),
  };
}
