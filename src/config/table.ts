// Every environment variable the app reads, in one table per part: its type, default, range and
// help. loadConfig (index.ts) reads through it; docs/configuration.md is written from it
// (`npm run docs:config`). Rules that tie two variables together (a secret is required or must be
// strong outside development) stay in the loader.

import { namedList, sentinelList } from './addresses.ts';
import { boolean, custom, integer, list, oneOf, type Setting, text } from './settings.ts';
import { ConfigError, type NamedAddress, type SentinelAddress } from './types.ts';

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
    help: 'development accepts weak secrets and generates a missing SESSION_SECRET',
  }),
  HOST: text({ default: '127.0.0.1', help: 'the address the app listens on' }),
  PORT: integer({ default: 3001, min: 0, max: 65535, help: 'the port the app listens on' }),
  INSTANCE_ID: text({
    defaultText: '`<host name>:<PORT>`',
    help: 'the X-Instance header and the name in logs and metrics',
  }),
  SESSION_SECRET: text({
    secret: true,
    defaultText: 'required (generated in development)',
    allowed: 'at least 32 characters, 10 distinct, not a placeholder',
    help: 'signs session cookies and CSRF tokens',
  }),
  SESSION_SECRET_PREVIOUS: text({
    secret: true,
    allowed: 'as SESSION_SECRET',
    help: 'the secret before the last rotation: what it signed is still accepted',
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
    help: 'absolute lifetime of a session, however often it is used',
  }),
  COOKIE_SECURE: boolean({ default: false, help: 'mark the session cookie Secure (behind HTTPS)' }),
  METRICS_NODE: boolean({
    default: false,
    help: "export prom-client's default Node metrics (they cost on every request)",
  }),
  TRUST_PROXY: list({
    default: ['127.0.0.1', '::1'],
    allowed: 'comma-separated addresses',
    help: 'the proxies whose X-Forwarded-For is believed',
  }),
  BODY_LIMIT_BYTES: integer({ default: 16_384, min: 1024, max: 10_485_760, help: 'largest request body' }),
  LOGIN_LIMIT_PER_EMAIL: integer({
    default: 5,
    min: 1,
    max: 10_000,
    help: 'failed logins for one email from one client address within the window',
  }),
  LOGIN_LIMIT_PER_IP: integer({
    default: 30,
    min: 1,
    max: 100_000,
    help: 'failed logins from one client address within the window',
  }),
  LOGIN_LIMIT_WINDOW_SECONDS: integer({
    default: 900,
    min: 1,
    max: 86_400,
    help: 'the window of the login limits',
  }),
  LOGIN_SLOWDOWN_AFTER: integer({
    default: 20,
    min: 1,
    max: 100_000,
    help: 'failed logins for one email from all addresses before each further attempt waits longer',
  }),
  LOGIN_SLOWDOWN_MAX_SECONDS: integer({
    default: 60,
    min: 1,
    max: 3600,
    help: 'the longest such wait',
  }),
  REGISTER_LIMIT_PER_IP: integer({
    default: 10,
    min: 1,
    max: 1_000_000,
    help: 'registrations from one client address within the window',
  }),
  REGISTER_LIMIT_WINDOW_SECONDS: integer({
    default: 3600,
    min: 1,
    max: 86_400,
    help: 'the window of the registration limit',
  }),
  SCRYPT_COST: integer({
    default: 16_384,
    min: 1024,
    max: 1_048_576,
    rule: powerOfTwo,
    help: 'scrypt N of new password hashes',
  }),
  HASH_CONCURRENCY: integer({
    min: 2,
    max: 256,
    defaultText: 'the CPUs, at least 2',
    help: 'password hashes computed at once; registrations get at most half',
  }),
  LOG_LEVEL: oneOf({
    default: 'info',
    words: LOG_LEVELS,
    refusal: (raw) => `unknown level "${raw}"`,
    help: 'the least severe level logged',
  }),
  SHUTDOWN_GRACE_MS: integer({
    default: 10_000,
    min: 0,
    max: 120_000,
    help: 'how long a stopping instance lets requests finish',
  }),
  SHUTDOWN_DRAIN_MS: integer({
    default: 2500,
    min: 0,
    max: 60_000,
    help: 'how long a stopping instance reports not-ready before it closes, so the proxy takes it out first',
  }),
};

export const REDIS_SETTINGS = {
  REDIS_SENTINELS: custom<SentinelAddress[] | undefined>({
    type: 'host:port list',
    default: undefined,
    defaultText: 'required unless REDIS_URL',
    help: 'the Sentinels to ask for the master (comma-separated); wins over REDIS_URL',
    parse: (raw, name) => sentinelList(name, raw),
  }),
  REDIS_MASTER_NAME: text({
    default: 'mymaster',
    pattern: /^[A-Za-z0-9._-]{1,64}$/,
    refusal: (raw) => `"${raw}" is not a valid master name`,
    allowed: '1 to 64 of A-Z a-z 0-9 . _ -',
    help: 'the name the Sentinels monitor the master under',
  }),
  REDIS_URL: custom<string | undefined>({
    type: 'URL',
    default: undefined,
    allowed: 'redis:// or rediss://',
    help: 'a single Redis without Sentinel',
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
  REDIS_USERNAME: text({ defaultText: 'the `default` user', help: 'the ACL user to log in as' }),
  REDIS_PASSWORD: text({ secret: true, help: "the ACL user's password" }),
  REDIS_SENTINEL_PASSWORD: text({ secret: true, help: "the Sentinels' password" }),
  REDIS_WAIT_REPLICAS: integer({
    min: 0,
    max: 16,
    defaultText: '1 with Sentinels, 0 with REDIS_URL',
    help: 'replicas that must confirm a write before it is acknowledged (WAIT n)',
  }),
  REDIS_WAIT_TIMEOUT_MS: integer({
    default: 500,
    min: 10,
    max: 60_000,
    help: 'how long WAIT waits for the replicas',
  }),
  WRITE_DEADLINE_MS: integer({
    default: 6000,
    min: 100,
    max: 120_000,
    help: 'how long a write may wait for a (new) master before the client gets 503',
  }),
  READ_FALLBACK_MS: integer({
    default: 150,
    min: 10,
    max: 10_000,
    help: 'how long a read waits for the master before it is served from a replica',
  }),
  NO_REPLICA_GRACE_MS: integer({
    default: 2000,
    min: 0,
    max: 120_000,
    help: 'how long a master may refuse writes for want of replicas before writes get 503 at once',
  }),
  REDIS_CONNECT_TIMEOUT_MS: integer({
    default: 1000,
    min: 100,
    max: 60_000,
    help: 'connect timeout of every Redis and Sentinel connection',
  }),
};

const nodeList = (help: string, defaultText: string) =>
  custom<NamedAddress[] | undefined>({
    type: 'name=host:port list',
    default: undefined,
    defaultText,
    help,
    parse: (raw, name) => namedList(name, raw),
  });

export const TOPOLOGY_SETTINGS = {
  TOPOLOGY_REDIS_NODES: nodeList('the Redis nodes the topology page watches', 'none'),
  TOPOLOGY_SENTINELS: nodeList('the Sentinels the topology page watches', 'REDIS_SENTINELS'),
  HAPROXY_STATS_URL: custom<string | undefined>({
    type: 'URL',
    default: undefined,
    allowed: 'http:// or https://',
    help: "HAProxy's stats page: which app instances are up",
    parse(raw, name) {
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        throw new ConfigError(name, `"${raw}" is not a URL`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:')
        throw new ConfigError(name, 'must be an http:// or https:// URL');
      return raw;
    },
  }),
  HAPROXY_APP_BACKEND: text({ default: 'apps', help: 'the HAProxy backend whose servers are the apps' }),
  TOPOLOGY_POLL_MS: integer({
    default: 500,
    min: 100,
    max: 60_000,
    help: 'how often the topology page asks the nodes',
  }),
  HA_STACK_STATE_FILE: text({
    help: "the local supervisor's state (process status, restarts), when it started this instance",
  }),
  HAPROXY_OPERATOR_PASSWORD: text({
    secret: true,
    allowed: 'as SESSION_SECRET',
    help: 'user operator on the operator front; set, the operator views require it',
  }),
  HAPROXY_OPERATOR_PASSWORD_PREVIOUS: text({
    secret: true,
    allowed: 'as SESSION_SECRET',
    help: 'accepted beside it while it is rotated (only with HAPROXY_OPERATOR_PASSWORD)',
  }),
  TOPOLOGY_STREAMS_PER_ADDRESS: integer({
    default: 8,
    min: 1,
    max: 10_000,
    help: 'open topology event streams one client address may hold on this instance',
  }),
  TOPOLOGY_STREAMS_PER_INSTANCE: integer({
    default: 64,
    min: 1,
    max: 100_000,
    help: 'open topology event streams on this instance, from all addresses together',
  }),
};

/** The app's variables, part by part as the documentation shows them. */
export const APP_SECTIONS: { title: string; table: Record<string, Setting<unknown>> }[] = [
  { title: 'Server, sessions and limits', table: SERVER_SETTINGS },
  { title: 'Redis', table: REDIS_SETTINGS },
  { title: 'Topology page and operator views', table: TOPOLOGY_SETTINGS },
];

export const APP_SETTINGS = { ...SERVER_SETTINGS, ...REDIS_SETTINGS, ...TOPOLOGY_SETTINGS };
