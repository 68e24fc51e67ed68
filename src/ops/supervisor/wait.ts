export class ReadinessTimeoutError extends Error {
  constructor(
    readonly what: string,
    readonly timeoutMs: number,
    readonly lastError?: string,
    aborted = false,
  ) {
    super(
      aborted
        ? `gave up waiting for ${what}: ${lastError}`
        : `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last: ${lastError})` : ''}`,
    );
    this.name = 'ReadinessTimeoutError';
  }
}

/**
 * Polls a real condition until it holds or the deadline passes; never a fixed sleep. With
 * `progress`, the deadline counts from the last moment the thing waited for was seen working
 * towards the condition (a Redis node loading its data or receiving a full sync), up to
 * `maxMs` in all: a large data set is not killed for taking longer than an empty one.
 */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  opts: {
    timeoutMs?: number;
    intervalMs?: number;
    abort?: () => string | undefined;
    progress?: () => Promise<boolean> | boolean;
    maxMs?: number;
  } = {},
): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const started = Date.now();
  const hardDeadline = started + Math.max(opts.maxMs ?? timeoutMs, timeoutMs);
  let deadline = started + timeoutMs;
  let lastError: string | undefined;
  for (;;) {
    try {
      if (await check()) return;
      lastError = undefined;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    const aborted = opts.abort?.();
    if (aborted) throw new ReadinessTimeoutError(what, timeoutMs, aborted, true);
    if (opts.progress && (await opts.progress())) deadline = Math.min(Date.now() + timeoutMs, hardDeadline);
    if (Date.now() >= deadline) throw new ReadinessTimeoutError(what, Date.now() - started, lastError);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
  }
}
