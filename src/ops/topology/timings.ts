import { ConfigError } from '../../config/types.ts';

/**
 * The lowest Sentinel down-after-milliseconds the stack accepts. Right after a failover the leading
 * Sentinel reconnects to the master it elected up to 1 s late (sentinel.c: it keeps the reconnect
 * time of the old master's link, and reconnects once a second) while its down-after clock already
 * runs, and it still holds the other Sentinels' "down" replies about the old master for 5 s: a
 * PONG that comes a little late under CPU load makes it judge the new master down at once and fail
 * back to the old one, with two masters for up to 10 s. Below this value that happened under
 * contention; at it, it did not (docs/failover-and-chaos.md, "Fail-back").
 */
export const DOWN_AFTER_FLOOR_MS = 2000;

export const DOWN_AFTER_FLOOR_REASON =
  "below it a Sentinel can judge the master it has just elected down before it has reconnected to it, and fail back to the old one (docs/failover-and-chaos.md, 'Fail-back')";

/** A down-after value the stack accepts, or a ConfigError naming the floor and why. */
export function checkDownAfter(ms: number, variable = 'SENTINEL_DOWN_AFTER_MS'): number {
  if (!Number.isInteger(ms) || ms < DOWN_AFTER_FLOOR_MS)
    throw new ConfigError(
      variable,
      `must be at least ${DOWN_AFTER_FLOOR_MS} ms, got ${ms}: ${DOWN_AFTER_FLOOR_REASON}`,
    );
  return ms;
}
