import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** A map that forgets its oldest entry once it holds `max`: memory stays bounded under any traffic. */
class Memo<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}

  get(key: string): V | undefined {
    return this.map.get(key);
  }

  set(key: string, value: V): V {
    if (this.map.size >= this.max) this.map.delete(this.map.keys().next().value as string);
    this.map.set(key, value);
    return value;
  }
}

/** Entries of each memo: a few MB at most, enough for the sessions active within minutes. */
const MEMO_ENTRIES = 20_000;

type SignedSession = Readonly<{ sid: string; email: string }>;
export type SignedDevice = Readonly<{ id: string; email: string; gen: string }>;

/**
 * Signed values: signed with the current secret, verified with it or with the previous one (when
 * set), so that rotating the secret logs no one out. The session cookie carries the session id and the user's email
 * under one HMAC, so the session and the cart can be read in the same round trip.
 *
 * An HMAC costs about 3 µs, as much as the rest of a page view's own code: cookies that verified
 * once and the CSRF tokens of recent sessions are remembered (bounded), so a returning browser's
 * request computes none. Only correctly signed values are remembered; a forged one is checked
 * every time.
 */
export class Tokens {
  private readonly sessions = new Memo<SignedSession>(MEMO_ENTRIES);
  private readonly csrf = new Memo<string>(MEMO_ENTRIES);

  constructor(
    private readonly secret: string,
    private readonly previous?: string,
  ) {}

  private mac(value: string, secret = this.secret): string {
    return createHmac('sha256', secret).update(value).digest('base64url');
  }

  /** True when `sig` signs `value` under the current secret or, failing that, the previous one. */
  private signs(sig: string, value: string): boolean {
    if (this.same(sig, this.mac(value))) return true;
    return this.previous !== undefined && this.same(sig, this.mac(value, this.previous));
  }

  private same(a: string, b: string): boolean {
    const x = Buffer.from(a);
    const y = Buffer.from(b);
    return x.length === y.length && timingSafeEqual(x, y);
  }

  newId(): string {
    return randomBytes(24).toString('base64url');
  }

  sessionCookie(sid: string, email: string): string {
    const body = `${sid}.${Buffer.from(email).toString('base64url')}`;
    return `${body}.${this.mac(`s:${body}`)}`;
  }

  /** The session id and email of a cookie, or undefined when it is malformed or its signature is wrong. */
  readSessionCookie(value: string | undefined): SignedSession | undefined {
    if (!value || value.length > 600) return undefined;
    const known = this.sessions.get(value);
    if (known) return known;
    const parts = value.split('.');
    if (parts.length !== 3) return undefined;
    const [sid, emailB64, sig] = parts as [string, string, string];
    if (!/^[A-Za-z0-9_-]{32}$/.test(sid)) return undefined;
    if (!this.signs(sig, `s:${sid}.${emailB64}`)) return undefined;
    return this.sessions.set(
      value,
      Object.freeze({ sid, email: Buffer.from(emailB64, 'base64url').toString() }),
    );
  }

  /**
   * The device cookie: a browser's random id, the email it logged in to and that account's
   * generation then, under one signature. It proves that this browser logged in to that account
   * before (it is issued only by a successful login), so the login limits judge it apart from
   * strangers.
   */
  deviceCookie(id: string, email: string, gen: string): string {
    const body = `${id}.${Buffer.from(email).toString('base64url')}.${gen}`;
    return `${body}.${this.mac(`d:${body}`)}`;
  }

  readDeviceCookie(value: string | undefined): SignedDevice | undefined {
    if (!value || value.length > 600) return undefined;
    const parts = value.split('.');
    if (parts.length !== 4) return undefined;
    const [id, emailB64, gen, sig] = parts as [string, string, string, string];
    if (!/^[A-Za-z0-9_-]{32}$/.test(id) || !/^[A-Za-z0-9_-]{1,64}$/.test(gen)) return undefined;
    if (!this.signs(sig, `d:${id}.${emailB64}.${gen}`)) return undefined;
    return { id, email: Buffer.from(emailB64, 'base64url').toString(), gen };
  }

  /** CSRF token bound to a session id, or to the anonymous nonce cookie before login. */
  csrfFor(kind: 'session' | 'anon', id: string): string {
    const input = `csrf:${kind}:${id}`;
    return this.csrf.get(input) ?? this.csrf.set(input, this.mac(input));
  }

  checkCsrf(token: unknown, kind: 'session' | 'anon', id: string | undefined): boolean {
    if (typeof token !== 'string' || id === undefined) return false;
    if (this.same(token, this.csrfFor(kind, id))) return true;
    return this.previous !== undefined && this.same(token, this.mac(`csrf:${kind}:${id}`, this.previous));
  }

  /** The nonce cookie before login is signed too, so it cannot be chosen by another site. */
  anonCookie(nonce: string): string {
    return `${nonce}.${this.mac(`a:${nonce}`)}`;
  }

  readAnonCookie(value: string | undefined): string | undefined {
    if (!value || value.length > 200) return undefined;
    const [nonce, sig] = value.split('.');
    if (!nonce || !sig || !/^[A-Za-z0-9_-]{32}$/.test(nonce)) return undefined;
    return this.signs(sig, `a:${nonce}`) ? nonce : undefined;
  }
}

/** Parses a Cookie header into a map; malformed pairs are skipped. */
export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (!header) return out;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (!out.has(name)) out.set(name, part.slice(eq + 1).trim());
  }
  return out;
}

/** Cookie names: with `Secure` cookies, the `__Host-` prefix (the browser then refuses them from a subdomain or over HTTP). */
export function cookieNames(secure: boolean): { session: string; anon: string; device: string } {
  return secure
    ? { session: '__Host-sid', anon: '__Host-csrf', device: '__Host-dev' }
    : { session: 'sid', anon: 'csrf', device: 'dev' };
}

/** How long a browser keeps its device cookie: 180 days from its last login. */
export const DEVICE_COOKIE_MAX_AGE_SECONDS = 180 * 86_400;

export interface CookieOptions {
  secure: boolean;
  /** Seconds; 0 deletes the cookie. Omitted: a browser-session cookie (no Expires). */
  maxAge?: number;
}

export function serializeCookie(name: string, value: string, opts: CookieOptions): string {
  let out = `${name}=${value}; Path=/; HttpOnly; SameSite=Lax`;
  if (opts.secure) out += '; Secure';
  if (opts.maxAge !== undefined) out += `; Max-Age=${opts.maxAge}`;
  return out;
}
