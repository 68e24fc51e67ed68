import { callFunction } from '../../ha/functions.ts';
import type { RedisLayer } from '../../ha/index.ts';
import { keys } from '../../ha/keys.ts';
import { newGeneration } from '../../ha/session.ts';
import type { FunctionName } from './functions.ts';

// Creates the user only if the key is absent; otherwise returns the stored hash so that a write
// retried after a failover recognises its own earlier success.
export const CREATE_USER = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('HGET', KEYS[1], 'password')
end
redis.call('HSET', KEYS[1], 'email', ARGV[1], 'password', ARGV[2], 'created', ARGV[3], 'gen', ARGV[4])
return 1`;

// An account made before accounts had a generation gets one at its next login.
export const ENSURE_GENERATION = `
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local gen = redis.call('HGET', KEYS[1], 'gen')
if gen then return gen end
redis.call('HSET', KEYS[1], 'gen', ARGV[1])
return ARGV[1]`;

export interface Account {
  passwordHash: string;
  /** Absent on accounts made before generations existed. */
  gen: string | null;
}

export class UserStore {
  constructor(private readonly redis: RedisLayer) {}

  /** True when this call created the user, false when the email was already taken. */
  async create(email: string, passwordHash: string, gen: string): Promise<boolean> {
    const created = String(Date.now());
    const result = await this.redis.write(
      (r) =>
        callFunction<FunctionName>(
          r,
          'create_user',
          1,
          keys.user(email),
          email,
          passwordHash,
          created,
          gen,
        ) as Promise<number | string>,
    );
    return result === 1 || result === passwordHash;
  }

  async account(email: string): Promise<Account | null> {
    const { value } = await this.redis.read((r) => r.hmget(keys.user(email), 'password', 'gen'));
    const [passwordHash, gen] = value;
    return passwordHash ? { passwordHash, gen: gen ?? null } : null;
  }

  /** The account's generation, given one first if it has none; null when the account is gone. */
  async ensureGeneration(email: string): Promise<string | null> {
    const gen = await this.redis.write(
      (r) =>
        callFunction<FunctionName>(r, 'ensure_generation', 1, keys.user(email), newGeneration()) as Promise<
          string | null
        >,
    );
    return gen ?? null;
  }
}
