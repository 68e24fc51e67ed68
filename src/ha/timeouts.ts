export class TimeoutError extends Error {
  constructor(ms: number) {
    super(`Command timed out after ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

/** `p`, or a TimeoutError after `ms`; one promise and one timer (this runs on every read). */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new TimeoutError(ms)), ms);
    p.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/** Waits `ms`, but never past `deadline` (a Date.now() time). */
export function pauseUntil(ms: number, deadline: number): Promise<void> {
  const wait = Math.min(ms, Math.max(0, deadline - Date.now()));
  return new Promise((r) => setTimeout(r, wait));
}
