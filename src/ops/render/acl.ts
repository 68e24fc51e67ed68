import { createHash } from 'node:crypto';
import { BACKUP_LAST_GOOD_KEY, KEY_PATTERNS } from '../../ha/keys.ts';

/**
 * The Redis ACL users of the stack. Each client logs in as its own user, with only the keys and
 * commands its job needs; `default` is off, so a connection that names no user gets nothing.
 * Every node carries every user: any of them may become the master.
 */
export const REDIS_USERS = [
  'app',
  'replication',
  'sentinel',
  'operator',
  'haproxy',
  'exporter',
  'backup',
] as const;
export type RedisUser = (typeof REDIS_USERS)[number];

/**
 * A password for each ACL user, plus the Sentinels' own (`requirepass`, `sentinel-pass`: the
 * `default` user of each Sentinel, which the Sentinels and the operator log in as) and that of the
 * Sentinels' read-only user (SENTINEL_READER) the apps log in as.
 */
export interface StackSecrets {
  redis: Record<RedisUser, string>;
  sentinel: string;
  sentinelReader: string;
}

/** The Sentinels' ACL user for clients that only need to find the master and follow failovers. */
export const SENTINEL_READER = 'reader';

/**
 * What it may do on a Sentinel, in `ACL SETUSER` syntax: what ioredis sends to find the master and
 * the replicas (`GET-MASTER-ADDR-BY-NAME`, `SENTINELS`, `REPLICAS`/`SLAVES`), what the topology page
 * reads (`MASTER`, `INFO`) and the events it and the app follow (`SUBSCRIBE`/`PSUBSCRIBE`; a
 * Sentinel publishes only its own events). The Sentinels' exporter (docs/monitoring.md) logs in as
 * this user too: it reads `INFO`, `MASTERS`, `SENTINELS`, `SLAVES` and `CKQUORUM` (which only
 * counts the Sentinels it can reach). Never `SENTINEL SET`, `MONITOR`, `REMOVE`, `FAILOVER`,
 * `RESET`, `CONFIG`, `ACL` or `PUBLISH`: a compromised app cannot move or drop the master.
 */
export const SENTINEL_READER_RULES = [
  '&*',
  '-@all',
  '+ping',
  '+info',
  '+client|setname',
  '+subscribe',
  '+psubscribe',
  '+unsubscribe',
  '+punsubscribe',
  '+sentinel|get-master-addr-by-name',
  '+sentinel|master',
  '+sentinel|masters',
  '+sentinel|replicas',
  '+sentinel|slaves',
  '+sentinel|sentinels',
  '+sentinel|ckquorum',
] as const;

/** The reader's `user` line of sentinel.conf; `hashed` false takes the password as given (compose). */
export function sentinelReaderLine(password: string, hashed: boolean): string {
  const pass = hashed ? aclPasswordHash(password) : `>${password}`;
  return `user ${SENTINEL_READER} on ${pass} ${SENTINEL_READER_RULES.join(' ')}`;
}

/** The web app's keys: the patterns derived from the key names in src/ha/keys.ts. */
export const APP_KEY_PATTERNS = KEY_PATTERNS;

/**
 * What the app sends (AUTH and HELLO need no permission): ioredis's connection set-up, INFO for
 * /readyz and the topology page, its stores (also from inside their Redis functions), transactions
 * and the WAIT of a durable write.
 */
const APP_COMMANDS = [
  'select',
  'client|setname',
  'ping',
  'info',
  'quit',
  'get',
  'getex',
  'set',
  'del',
  'exists',
  'incr',
  'decr',
  'expire',
  'ttl',
  'pttl',
  'hget',
  'hmget',
  'hgetall',
  'hset',
  'hdel',
  // The master's clock, read by the cart functions for the write's deadline (cart-functions.ts):
  // a command a function calls is checked against the caller's rules.
  'time',
  // The functions of the library the operator loads (src/ha/functions.ts). Never EVAL, EVALSHA,
  // SCRIPT or FUNCTION: the app runs no Lua of its own, so a compromised app cannot run a script
  // that holds the node busy (a BUSY loop only SHUTDOWN NOSAVE ends) nor replace the library.
  // Redis checks the keys the function touches against the patterns above, as for any command.
  'fcall',
  'multi',
  'exec',
  'discard',
  'wait',
];

/** Permissions of each user, in `ACL SETUSER` syntax (without `on` and the password). */
export const ACL_RULES: Record<RedisUser, readonly string[]> = {
  // `%R~`: the time of the last good backup, read (GET) for /metrics, never written.
  app: [
    ...APP_KEY_PATTERNS.map((p) => `~${p}`),
    `%R~${BACKUP_LAST_GOOD_KEY}`,
    '-@all',
    ...APP_COMMANDS.map((c) => `+${c}`),
  ],
  // What a replica sends its master (https://redis.io/docs/management/security/acl/#acl-rules-for-sentinel-and-replicas),
  // and SYNC, which `redis-cli --rdb` sends: the backups of compose and Kubernetes
  // (deploy/scripts/redis-backup.sh) log in as this user. SYNC hands out what PSYNC already does.
  replication: ['-@all', '+psync', '+sync', '+replconf', '+ping'],
  // What Redis documents for Sentinel: watch, announce itself on its hello channel, promote, demote.
  sentinel: [
    '&__sentinel__:hello',
    '-@all',
    '+multi',
    '+exec',
    '+slaveof',
    '+ping',
    '+subscribe',
    '+config|rewrite',
    '+role',
    '+publish',
    '+info',
    '+client|setname',
    '+client|kill',
    '+script|kill',
  ],
  // The operator's CLI, the chaos suite, the bench and the tests.
  operator: ['~*', '&*', '+@all'],
  // HAProxy's check of the master (AUTH, PING, INFO replication, QUIT); also compose's health checks.
  haproxy: ['-@all', '+ping', '+info', '+quit'],
  // redis_exporter 1.45 (docs/monitoring.md): what its scrape of a node sends, no key and no CONFIG
  // (CONFIG GET * would hand it masterauth, the replication user's password; it is started with
  // `-config-command=-`, a command Redis does not know, and reads maxmemory from INFO).
  exporter: ['-@all', '+ping', '+info', '+client|setname', '+latency|latest', '+slowlog|len', '+slowlog|get'],
  // The backups of compose and Kubernetes (deploy/scripts/redis-backup.sh): the replication stream
  // `redis-cli --rdb` reads from a replica (as `replication` has), and on the master a plain SET of
  // the time of the last good backup, the one key it may touch, write-only (`%W~`: no GET, no other
  // key, so it can neither read data nor change any).
  backup: [`%W~${BACKUP_LAST_GOOD_KEY}`, '-@all', '+psync', '+sync', '+replconf', '+ping', '+set'],
};

/**
 * `default` is off: no connection can log in as it, so every command of a connection that has not
 * logged in as another user answers NOAUTH. Its permissions stay whole on purpose: Redis 7.0 loads
 * the AOF as this user, and a restricted `default` would silently drop, at every restart, each
 * MULTI/EXEC block the AOF holds (the effects of every Lua script among them).
 */
export const DEFAULT_USER = ['off', 'resetpass', '~*', '&*', '+@all'] as const;

/** `#<sha256>`: a password as ACL rules take it, so a config file never holds it in the clear. */
export function aclPasswordHash(password: string): string {
  return `#${createHash('sha256').update(password).digest('hex')}`;
}

/** The `user` lines of redis.conf: `default` off, then every user with the hash of its password. */
export function renderUsers(passwords: Record<RedisUser, string>): string[] {
  return [
    `user default ${DEFAULT_USER.join(' ')}`,
    ...REDIS_USERS.map((u) => `user ${u} on ${aclPasswordHash(passwords[u])} ${ACL_RULES[u].join(' ')}`),
  ];
}

/**
 * The same users as `redis-server` arguments, with each password taken as given (compose passes
 * `$VAR` references that its Redis entrypoint fills in at start, so no file holds a secret).
 */
export function userArguments(passwords: Record<RedisUser, string>): string[] {
  return [
    ...['--user', 'default', ...DEFAULT_USER],
    ...REDIS_USERS.flatMap((u) => ['--user', u, 'on', `>${passwords[u]}`, ...ACL_RULES[u]]),
  ];
}
