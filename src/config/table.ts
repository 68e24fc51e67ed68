// Every environment variable the app reads, in one table per part: its type, default, range and
// help. loadConfig (index.ts) reads through it; docs/configuration.md is written from it
// (`npm run docs:config`). Rules that tie two variables together (a secret is required or must be
// strong outside development) stay in the loader.

import { sentinelList } from './addresses.ts';
import { boolean, custom, integer, list, oneOf, type Setting, text } from './settings.ts';
import { TOPOLOGY_SETTINGS } from './table-topology.ts';
import { ConfigError, type SentinelAddress } from './types.ts';

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const powerOfTwo = {
  holds: (n: number) => (n & (n - 1)) === 0,
  message: 'must be a power of two',
  text: 'a power of two',
};

export const SERVER_SETTINGS = {
  APP_ENV: oneOf({
    default: 'production',
    words: ['production', 'development'],
    refusal: (raw) => `must be production or development, got "${raw}"`,
    help: '`development` allows a generated `SESSION_SECRET` and weak secrets',
  }),
  HOST: text({ default: '127.0.0.1', help: 'the address the app listens on' }),
  PORT: integer({ default: 3001, min: 0, max: 65535, help: 'the port the app listens on' }),
  APP_TLS_CERT_FILE: text({
    help: "serve HTTPS (docs/tls.md): the app's certificate (PEM, with any intermediate after it); set with `APP_TLS_KEY_FILE`, unset for plain HTTP. A changed file is taken for new connections within 2 s",
  }),
  APP_TLS_KEY_FILE: text({ help: 'the key of that certificate' }),
  INSTANCE_ID: text({
    defaultText: '`<host name>:<PORT>`',
    help: 'name sent in the `X-Instance` header and in logs and metrics',
  }),
  SESSION_SECRET: text({
    secret: true,
    defaultText: 'required (generated in development)',
    allowed: 'at least 32 characters, 10 distinct, not a placeholder',
    help: 'signs the session cookie and CSRF tokens',
  }),
  SESSION_SECRET_PREVIOUS: text({
    secret: true,
    allowed: 'as SESSION_SECRET',
    help: 'the secret before the last rotation: cookies and tokens it signed are still accepted, nothing new is signed with it',
  }),
  SESSION_TTL_SECONDS: integer({
    default: 600,
    min: 10,
    max: 86_400,
    help: 'idle lifetime of a session; every request renews it',
  }),
  SESSION_MAX_AGE_SECONDS: integer({
    default: 43_200,
    min: 1,
    max: 2_592_000,
    help: 'absolute lifetime of a session (12 h), however often it is used',
  }),
  SESSIONS_PER_ACCOUNT: integer({
    default: 10,
    min: 1,
    max: 1000,
    help: 'live sessions one account may hold; a login beyond it ends the oldest',
  }),
  COOKIE_SECURE: boolean({
    default: false,
    help: 'set the `Secure` cookie flag and name the cookies `__Host-sid`, `__Host-csrf` and `__Host-dev`; turn on when TLS terminates in front of the app',
  }),
  METRICS_NODE: boolean({
    default: false,
    help: "also export prom-client's default Node metrics on `/metrics` (GC durations, the event-loop delay histogram, heap spaces, handles); they cost a page view about 7 µs of CPU",
  }),
  TRUST_PROXY: list({
    default: [],
    defaultText: 'none',
    allowed: 'comma-separated addresses',
    help: "addresses (or CIDRs) whose `X-Forwarded-For` is believed: the proxy's, and only the proxy's (anyone else could name any client address). From any other peer, or unset, the client is the connection's address",
  }),
  BODY_LIMIT_BYTES: integer({
    default: 16_384,
    min: 1024,
    max: 10_485_760,
    help: 'larger request bodies get 413',
  }),
  LOGIN_LIMIT_PER_EMAIL: integer({
    default: 5,
    min: 1,
    max: 10_000,
    help: 'failed logins for one email from one client address within the window before 429',
  }),
  LOGIN_LIMIT_PER_IP: integer({
    default: 30,
    min: 1,
    max: 100_000,
    help: 'login attempts from one client address within the window before 429 (an attempt counts from the moment it starts, and a refused one counts too)',
  }),
  LOGIN_LIMIT_WINDOW_SECONDS: integer({
    default: 900,
    min: 1,
    max: 86_400,
    help: 'window of the login counters',
  }),
  LOGIN_SLOWDOWN_AFTER: integer({
    default: 20,
    min: 1,
    max: 100_000,
    help: 'failed logins for one email from all addresses within the window after which each further attempt must wait (1 s, 2 s, 4 s...)',
  }),
  LOGIN_SLOWDOWN_MAX_SECONDS: integer({
    default: 60,
    min: 1,
    max: 3600,
    help: 'the longest of those waits',
  }),
  LOGIN_LIMIT_PER_DEVICE: integer({
    default: 10,
    min: 1,
    max: 10_000,
    help: 'failed logins for one email within the window from a browser that logged in to it before (its device cookie) before 429; such a browser is judged by this budget alone, not by the per-address and per-email limits',
  }),
  REGISTER_LIMIT_PER_IP: integer({
    default: 10,
    min: 1,
    max: 1_000_000,
    help: 'registrations from one client address within the window before 429',
  }),
  REGISTER_LIMIT_WINDOW_SECONDS: integer({
    default: 3600,
    min: 1,
    max: 86_400,
    help: 'window of the registration limit',
  }),
  SCRYPT_COST: integer({
    default: 16_384,
    min: 1024,
    max: 1_048_576,
    rule: powerOfTwo,
    help: 'scrypt N (r=8, p=1); stored with each hash',
  }),
  HASH_CONCURRENCY: integer({
    min: 2,
    max: 256,
    defaultText: 'the CPUs, at least 2',
    help: 'password hashes an instance computes at once; registrations get at most half of them (and a short queue, then 503 at once), logins the rest',
  }),
  LOG_LEVEL: oneOf({
    default: 'info',
    words: LOG_LEVELS,
    refusal: (raw) => `unknown level "${raw}"`,
    help: 'pino level (`silent` turns logs off); at `info` a request gets a log line when it failed (4xx, 5xx) or took over 500 ms, at `debug` every request does',
  }),
  SHUTDOWN_GRACE_MS: integer({
    default: 10_000,
    min: 0,
    max: 120_000,
    help: 'in-flight requests get this long to finish before the process exits anyway',
  }),
  SHUTDOWN_DRAIN_MS: integer({
    default: 2500,
    min: 0,
    max: 60_000,
    help: 'after SIGTERM, how long `/readyz` answers 503 before the server closes',
  }),
};

export const REDIS_SETTINGS = {
  REDIS_SENTINELS: custom<SentinelAddress[] | undefined>({
    type: 'host:port list',
    default: undefined,
    defaultText: 'required unless REDIS_URL',
    help: '`host:port,host:port,...` of the Sentinels (takes precedence over `REDIS_URL`)',
    parse: (raw, name) => sentinelList(name, raw),
  }),
  REDIS_MASTER_NAME: text({
    default: 'mymaster',
    pattern: /^[A-Za-z0-9._-]{1,64}$/,
    refusal: (raw) => `"${raw}" is not a valid master name`,
    allowed: '1 to 64 of A-Z a-z 0-9 . _ -',
    help: 'the master name the Sentinels monitor',
  }),
  REDIS_URL: custom<string | undefined>({
    type: 'URL',
    default: undefined,
    allowed: 'redis:// or rediss://',
    help: '`redis://[:password@]host:port[/db]` for a single Redis without Sentinel',
    parse(raw, name) {
      if (!/^rediss?:\/\//.test(raw)) throw new ConfigError(name, 'must start with redis:// or rediss://');
      try {
        new URL(raw);
      } catch {
        throw new ConfigError(name, 'is not a valid URL');
      }
      return raw;
    },
  }),
  REDIS_USERNAME: text({
    defaultText: 'the `default` user',
    help: 'the Redis ACL user the app logs in as (`app` in the local stack and in compose); unset, the `default` user (a Redis without ACL users, e.g. through `REDIS_URL`)',
  }),
  REDIS_PASSWORD: text({
    secret: true,
    help: 'password of that user (of `default`, i.e. `requirepass`, without `REDIS_USERNAME`)',
  }),
  REDIS_SENTINEL_USERNAME: text({
    defaultText: 'the `default` user',
    help: "the Sentinels' ACL user the app logs in as (`reader` in the local stack, compose and Kubernetes: it may find the master and follow failovers, never reconfigure a Sentinel); unset, the `default` user",
  }),
  REDIS_SENTINEL_PASSWORD: text({
    secret: true,
    help: 'password of that user on the Sentinels (of `default`, i.e. their `requirepass`, without `REDIS_SENTINEL_USERNAME`), if they have one',
  }),
  REDIS_TLS_CA_FILE: text({
    help: 'TLS to the Redis nodes and Sentinels (docs/tls.md): the CA file their certificates are checked against; set with `REDIS_TLS_CERT_FILE` and `REDIS_TLS_KEY_FILE`, unset for plain text',
  }),
  REDIS_TLS_CERT_FILE: text({
    help: "the certificate the app shows to the nodes and Sentinels (they require one of the stack's CA)",
  }),
  REDIS_TLS_KEY_FILE: text({ help: 'the key of that certificate' }),
  REDIS_WAIT_REPLICAS: integer({
    min: 0,
    max: 16,
    defaultText: '1 with Sentinels, 0 with REDIS_URL',
    help: 'replicas that must confirm a write (`WAIT`) before it is acknowledged',
  }),
  REDIS_WAIT_TIMEOUT_MS: integer({
    default: 500,
    min: 10,
    max: 60_000,
    help: 'how long one `WAIT` may take',
  }),
  WRITE_DEADLINE_MS: integer({
    default: 6000,
    min: 100,
    max: 120_000,
    help: 'how long a write may wait for a (new) master before it is answered 503',
  }),
  READ_FALLBACK_MS: integer({
    default: 250,
    min: 10,
    max: 10_000,
    help: 'a read the master has not answered after this long is served by a replica',
  }),
  NO_REPLICA_GRACE_MS: integer({
    default: 2000,
    min: 0,
    max: 120_000,
    help: 'how long a master may refuse writes for want of replicas (`NOREPLICAS`) before writes are answered 503 at once instead of retried until `WRITE_DEADLINE_MS`',
  }),
  REDIS_CONNECT_TIMEOUT_MS: integer({
    default: 1000,
    min: 100,
    max: 60_000,
    help: 'connect timeout to Redis and Sentinel',
  }),
};

/** The app's variables, part by part as the documentation shows them. */
export const APP_SECTIONS: { title: string; table: Record<string, Setting<unknown>> }[] = [
  { title: 'server, sessions and limits', table: SERVER_SETTINGS },
  { title: 'Redis', table: REDIS_SETTINGS },
  { title: 'topology page and operator views', table: TOPOLOGY_SETTINGS },
];

export { TOPOLOGY_SETTINGS };

export const APP_SETTINGS = { ...SERVER_SETTINGS, ...REDIS_SETTINGS, ...TOPOLOGY_SETTINGS };
