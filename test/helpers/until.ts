/**
 * Resolves once `cond()` holds, polling every 5 ms; rejects when it still does not after `ms`,
 * naming `what` when given.
 */
export async function until(cond: () => boolean, ms = 5000, what?: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end)
      throw new Error(what ? `not within ${ms} ms: ${what}` : 'condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
