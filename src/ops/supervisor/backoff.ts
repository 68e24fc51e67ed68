/** How long the supervisor waits before it starts a crashed process again. */
export interface BackoffPolicy {
  /** Delay before the first restart after a crash. */
  firstMs: number;
  /** The delay doubles per crash and never exceeds this. */
  maxMs: number;
  /** A process that stayed up this long starts over at `firstMs` when it crashes again. */
  windowMs: number;
}

export const RESTART_BACKOFF: BackoffPolicy = { firstMs: 250, maxMs: 10_000, windowMs: 10_000 };

/**
 * The delay before the next restart. `streak` is the number of crashes in a row so far (0 for a
 * process that never crashed), `upMs` how long the process was up before this crash (0 when it did
 * not even become ready). Returns the delay and the new streak to pass next time.
 */
export function nextBackoff(
  streak: number,
  upMs: number,
  policy: BackoffPolicy = RESTART_BACKOFF,
): { delayMs: number; streak: number } {
  const next = upMs >= policy.windowMs ? 1 : streak + 1;
  // 2 ** 30 is far beyond any cap; it only keeps the number finite for a very long crash loop.
  const delayMs = Math.min(policy.maxMs, policy.firstMs * 2 ** Math.min(next - 1, 30));
  return { delayMs, streak: next };
}
