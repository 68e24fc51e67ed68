// The arithmetic and the words of the login and registration limits (limits.ts counts them in Redis).

export interface LoginLimits {
  /** Attempts for one email from one address (the hard limit: 429 until the window ends). */
  perPair: number;
  /** Attempts from one address, whatever the email, refused ones included. */
  perAddress: number;
  /** Attempts for one email from all addresses before each further one waits longer. */
  slowdownAfter: number;
  slowdownMaxSeconds: number;
  /** Attempts for one email from one browser that logged in to it before (its device cookie). */
  perDevice: number;
  windowSeconds: number;
}

export interface RegistrationLimits {
  perAddress: number;
  windowSeconds: number;
}

export type LoginRefusal = { reason: 'pair' | 'address' | 'email' | 'device'; waitSeconds: number };

/** Whole seconds until a counter with `ms` left lets go again: never 0 while it still holds. */
export function retryAfterSeconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/** Waits after the slowdown threshold: 1 s, 2 s, 4 s... up to `maxSeconds`, the last one repeated. */
export function slowdownDelaysMs(maxSeconds: number): number[] {
  const out: number[] = [];
  for (let ms = 1000; ms < maxSeconds * 1000; ms *= 2) out.push(ms);
  out.push(maxSeconds * 1000);
  return out;
}

/** What a refused login is told: why, and what to do. */
export function loginRefusalMessage(r: LoginRefusal): string {
  const wait = `wait ${r.waitSeconds} s and try again`;
  switch (r.reason) {
    case 'pair':
      return `too many failed logins for this email from your address: ${wait}, checking the email and password`;
    case 'address':
      return `too many failed logins from your address: ${wait}`;
    case 'email':
      return `this account has had many failed logins from elsewhere, so each attempt must wait a while: ${wait}`;
    case 'device':
      return `too many failed logins for this email from this browser: ${wait}, checking the email and password`;
  }
}
