import { Agent, type IncomingHttpHeaders, request } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { stackTls } from '../../ha/tls.ts';

/** A request of the load gives up after this long (the app's own deadlines are shorter). */
export const REQUEST_TIMEOUT_MS = 15_000;

export interface Answer {
  /** 0 when no answer came (connection refused or reset, timeout). */
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** Why no answer came. */
  error?: string;
  /** The request went out again on a new connection after its kept-alive one was found closed. */
  resent: boolean;
}

let users = 0;

/** The session cookie's value in a jar: `sid`, or `__Host-sid` from a site on HTTPS (COOKIE_SECURE). */
export function sessionCookie(cookies: ReadonlyMap<string, string>): string | undefined {
  return cookies.get('sid') ?? cookies.get('__Host-sid');
}

/**
 * A loopback address of its own for each simulated user when the site is on 127.0.0.0/8 (the whole
 * block reaches the loopback interface): real users come from many addresses, and the stack's
 * per-address limits (10 registrations an hour, connections, logins) must meet them as they would
 * real users, not as one client. 127.1.0.1, 127.1.0.2, ...: never a second user on one address.
 */
export function userAddress(base: string): string | undefined {
  if (!/^127\./.test(new URL(base).hostname)) return undefined;
  const n = users++;
  return `127.1.${Math.floor(n / 250) % 250}.${(n % 250) + 1}`;
}

/**
 * One user's browser: a single kept-alive connection (a browser's per-site pool, narrowed to one
 * so that each user's requests go out in order) and a cookie jar. When a request fails on a reused
 * connection before any answer arrived, it is sent once more on a fresh one, as browsers do: the
 * proxy may close an idle connection just as the next request leaves.
 */
export class UserAgent {
  private readonly agent: Agent;
  private readonly secure: boolean;
  readonly cookies = new Map<string, string>();

  constructor(
    readonly base: string,
    /** The address the user's connections come from (userAddress). */
    readonly localAddress: string | undefined = userAddress(base),
  ) {
    // An HTTPS site (a stack with TLS) is checked against the stack's CA, as a browser would check it.
    this.secure = new URL(base).protocol === 'https:';
    this.agent = this.secure
      ? new HttpsAgent({ keepAlive: true, maxSockets: 1, ...(stackTls() ? { ca: stackTls()!.ca } : {}) })
      : new Agent({ keepAlive: true, maxSockets: 1 });
  }

  async send(method: string, path: string, headers: Record<string, string> = {}, body?: string) {
    const first = await this.once(method, path, headers, body);
    if (!first.retry) return first.answer;
    const again = await this.once(method, path, headers, body);
    return { ...again.answer, resent: true };
  }

  /** The session cookie's value (sessionCookie). */
  get session(): string | undefined {
    return sessionCookie(this.cookies);
  }

  /** The Cookie header a browser would send (every cookie of the site: Path=/ throughout). */
  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  close(): void {
    this.agent.destroy();
  }

  /**
   * Closes the connection while it is idle (the next request opens a new one): a user waiting for
   * its turn must not hold one of the proxy's connections per client address.
   */
  rest(): void {
    for (const sockets of Object.values(this.agent.freeSockets)) for (const s of sockets ?? []) s.destroy();
  }

  private keep(setCookie: string[] | undefined): void {
    for (const line of setCookie ?? []) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const expired = attrs.some((a) => /^\s*max-age\s*=\s*0\s*$/i.test(a));
      if (expired) this.cookies.delete(name);
      else this.cookies.set(name, pair.slice(eq + 1).trim());
    }
  }

  private once(
    method: string,
    path: string,
    headers: Record<string, string>,
    body: string | undefined,
  ): Promise<{ answer: Answer; retry: boolean }> {
    const url = new URL(path, this.base);
    const cookie = this.cookieHeader();
    return new Promise((resolve) => {
      let answered = false;
      const req = (this.secure ? httpsRequest : request)(
        url,
        {
          method,
          agent: this.agent,
          ...(this.localAddress ? { localAddress: this.localAddress } : {}),
          headers: {
            ...headers,
            ...(cookie ? { cookie } : {}),
            ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}),
          },
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        },
        (res) => {
          answered = true;
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            this.keep(res.headers['set-cookie']);
            resolve({
              answer: {
                status: res.statusCode ?? 0,
                headers: res.headers,
                text: Buffer.concat(chunks).toString('utf8'),
                resent: false,
              },
              retry: false,
            });
          });
          res.on('error', (err) => resolve({ answer: failed(err), retry: false }));
          // A connection cut mid-answer ends the stream without 'end' (a no-op after 'end').
          res.on('close', () => {
            if (!res.complete) resolve({ answer: failed(new Error('answer cut short')), retry: false });
          });
        },
      );
      req.on('error', (err) => {
        const code = (err as NodeJS.ErrnoException).code;
        const closedUnderUs = code === 'ECONNRESET' || code === 'EPIPE' || err.message === 'socket hang up';
        resolve({ answer: failed(err), retry: req.reusedSocket && !answered && closedUnderUs });
      });
      req.end(body);
    });
  }
}

function failed(err: Error): Answer {
  const code = (err as NodeJS.ErrnoException).code;
  const error = err.name === 'AbortError' || err.name === 'TimeoutError' ? 'timeout' : (code ?? err.message);
  return { status: 0, headers: {}, text: '', error, resent: false };
}

/** A header's single value (the first when repeated). */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** A 503 that tells the client when to come back, as the contract asks (whole seconds). */
export function hasRetryAfter(headers: IncomingHttpHeaders): boolean {
  return /^\d+$/.test(header(headers, 'retry-after') ?? '');
}

/**
 * Who answered an error: the app names itself in X-Instance on every answer (its JSON error
 * carries a code too); HAProxy's own error pages carry neither.
 */
export function origin(answer: Answer): string {
  if (answer.status === 0) return answer.error ?? 'no answer';
  if (!header(answer.headers, 'x-instance')) return 'proxy';
  if ((header(answer.headers, 'content-type') ?? '').includes('json')) {
    try {
      const code = (JSON.parse(answer.text) as Record<string, unknown>)['error'];
      if (typeof code === 'string') return code;
    } catch {
      // An app answer that is not the JSON it claims: say so below.
    }
  }
  return 'app';
}
