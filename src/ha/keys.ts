/**
 * Key names of the data model, for the app's stores and every tool that reads or writes the same
 * data; braces are a hash tag so a user's keys share a cluster slot. The ACL patterns the app's
 * Redis user is given are derived from the same names (KEY_PATTERNS).
 */

/** Every login and sign-up limit lives under this prefix. */
const LIMITS = 'rl:';

export const keys = {
  user: (email: string) => `user:{${email}}`,
  cart: (email: string) => `cart:{${email}}`,
  session: (sid: string) => `sess:${sid}`,
  /** The live sessions of one account (a hash of ids to creation times), for the cap per account. */
  accountSessions: (email: string) => `sess:of:{${email}}`,
  loginByPair: (email: string, ip: string) => `${LIMITS}login:pair:{${email}}:${ip}`,
  loginByEmail: (email: string) => `${LIMITS}login:email:{${email}}`,
  loginGate: (email: string) => `${LIMITS}login:gate:{${email}}`,
  loginByIp: (ip: string) => `${LIMITS}login:ip:${ip}`,
  /** Attempts for one email from one browser that logged in to it before (its device cookie). */
  loginByDevice: (email: string, device: string) => `${LIMITS}login:device:{${email}}:${device}`,
  registerByIp: (ip: string) => `${LIMITS}register:ip:${ip}`,
};

/**
 * When the last good backup was taken (unix seconds), written by the operator's backup; the app's
 * user may read this one key and nothing else of the operator's (its ACL: `%R~`), for /metrics.
 */
export const BACKUP_LAST_GOOD_KEY = 'ha-stack:backup:last-good';

/**
 * Glob patterns that every key of `keys` matches (ACL `~<pattern>`): each kind of record by its
 * name with `*` for the variable part, and the limits by their common prefix.
 */
export const KEY_PATTERNS: readonly string[] = [
  keys.user('*'),
  keys.cart('*'),
  keys.session('*'),
  `${LIMITS}*`,
];
