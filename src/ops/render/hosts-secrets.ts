import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { newSecret } from '../supervisor/rotate.ts';
import { REDIS_USERS, type RedisUser } from './acl.ts';
import type { HostSecrets } from './hosts.ts';

/** The file in a hosts folder that holds every password (0600): rendering again reuses them. */
export const HOST_SECRETS_FILE = 'secrets.json';

export function newHostSecrets(): HostSecrets {
  return {
    redis: Object.fromEntries(REDIS_USERS.map((u) => [u, newSecret(32)])) as Record<RedisUser, string>,
    sentinel: newSecret(32),
    sentinelReader: newSecret(32),
    sessionSecret: newSecret(48),
    operatorPassword: newSecret(24),
  };
}

const SECRET = /^[A-Za-z0-9_-]{16,200}$/;

/** The secrets saved in `dir`, checked; undefined when there are none yet. */
export function readHostSecrets(dir: string): HostSecrets | undefined {
  const file = join(dir, HOST_SECRETS_FILE);
  if (!existsSync(file)) return undefined;
  const v = JSON.parse(readFileSync(file, 'utf8')) as HostSecrets;
  const all = [
    ...REDIS_USERS.map((u) => v.redis?.[u]),
    v.sentinel,
    v.sentinelReader,
    v.sessionSecret,
    v.operatorPassword,
  ];
  if (!all.every((x) => typeof x === 'string' && SECRET.test(x)))
    throw new Error(`${file}: not a secrets file of redis-ha-stack (a missing or malformed password)`);
  return v;
}
