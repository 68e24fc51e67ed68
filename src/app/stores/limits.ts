import type { RedisLayer } from '../../redis/index.ts';

export interface LimitRule {
  key: string;
  max: number;
}

/**
 * Failed-login counters in Redis, so every app instance sees the same count.
 * A lost increment after a failover only grants one more attempt: no replica confirmation needed.
 */
export class LoginLimiter {
  constructor(
    private readonly redis: RedisLayer,
    private readonly windowSeconds: number,
  ) {}

  /** Seconds until the first exceeded rule allows attempts again, or 0 when none is exceeded. */
  async blockedFor(rules: LimitRule[]): Promise<number> {
    const { value } = await this.redis.read((r) =>
      Promise.all(rules.flatMap((rule) => [r.get(rule.key), r.ttl(rule.key)])),
    );
    let wait = 0;
    rules.forEach((rule, i) => {
      const count = Number(value[i * 2] ?? 0);
      const ttl = Number(value[i * 2 + 1]);
      if (count >= rule.max) wait = Math.max(wait, ttl > 0 ? ttl : this.windowSeconds);
    });
    return wait;
  }

  async recordFailure(rules: LimitRule[]): Promise<void> {
    await this.redis.fastWrite(async (r) => {
      const m = r.multi();
      for (const rule of rules) m.incr(rule.key).expire(rule.key, this.windowSeconds, 'NX');
      await m.exec();
    });
  }

  async reset(key: string): Promise<void> {
    await this.redis.fastWrite((r) => r.del(key));
  }
}
