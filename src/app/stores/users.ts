import type { RedisLayer } from '../../redis/index.ts';
import { keys } from './keys.ts';

// Creates the user only if the key is absent; otherwise returns the stored hash so that a write
// retried after a failover recognises its own earlier success.
const CREATE_USER = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('HGET', KEYS[1], 'password')
end
redis.call('HSET', KEYS[1], 'email', ARGV[1], 'password', ARGV[2], 'created', ARGV[3])
return 1`;

export class UserStore {
  constructor(private readonly redis: RedisLayer) {}

  /** True when this call created the user, false when the email was already taken. */
  async create(email: string, passwordHash: string): Promise<boolean> {
    const created = String(Date.now());
    const result = await this.redis.write(
      (r) =>
        r.eval(CREATE_USER, 1, keys.user(email), email, passwordHash, created) as Promise<number | string>,
    );
    return result === 1 || result === passwordHash;
  }

  async passwordHash(email: string): Promise<string | null> {
    const { value } = await this.redis.read((r) => r.hget(keys.user(email), 'password'));
    return value;
  }
}
