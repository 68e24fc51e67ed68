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

/** Polls a real condition until it holds or the deadline passes; never a fixed sleep. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  opts: { timeoutMs?: number; intervalMs?: number; abort?: () => string | undefined } = {},
): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const deadline = Date.now() + timeoutMs;
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
    if (Date.now() >= deadline) throw new ReadinessTimeoutError(what, timeoutMs, lastError);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
  }
}
