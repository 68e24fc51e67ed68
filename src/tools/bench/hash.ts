import { randomBytes, scrypt } from 'node:crypto';
import { availableParallelism } from 'node:os';

/**
 * How many scrypt hashes per second this machine computes at the given cost, with as many hashes
 * in flight as libuv has threads (what a login waits for): the ceiling of logins per second.
 */
export async function hashesPerSecond(cost: number, seconds = 2): Promise<number> {
  const threads = Number(process.env['UV_THREADPOOL_SIZE'] ?? 4);
  const salt = randomBytes(16);
  const one = () =>
    new Promise<void>((resolve, reject) =>
      scrypt('bench-password', salt, 32, { N: cost, r: 8, p: 1, maxmem: 256 * cost * 8 }, (err) =>
        err ? reject(err) : resolve(),
      ),
    );
  const start = performance.now();
  const end = start + seconds * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: Math.min(threads, Math.max(1, availableParallelism() * 2)) }, async () => {
      while (performance.now() < end) {
        await one();
        done++;
      }
    }),
  );
  return Math.round((done / ((performance.now() - start) / 1000)) * 10) / 10;
}
