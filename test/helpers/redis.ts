import type { Redis } from 'ioredis';

/** Every key with its type and serialised value (TTL left out): equal snapshots mean nothing was written. */
export async function snapshot(redis: Redis): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const dump = await redis.dumpBuffer(key);
      if (dump) out.set(key, dump.toString('base64'));
    }
  } while (cursor !== '0');
  return out;
}
