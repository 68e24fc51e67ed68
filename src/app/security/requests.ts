import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

const PLAIN_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** A client's `X-Request-Id`, when it is short and plain enough to go into the logs as it is. */
export function acceptedRequestId(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' && PLAIN_ID.test(value) ? value : undefined;
}

/**
 * Request ids unique across instances and restarts: a random prefix per process and a counter
 * (a UUID per request costs more than the rest of the request's bookkeeping). The proxy's or a
 * client's `X-Request-Id` is kept only when it is short and plain (it goes into the logs as is).
 */
export function requestIds(): (req: { headers: Record<string, string | string[] | undefined> }) => string {
  const prefix = randomBytes(6).toString('base64url');
  let n = 0;
  return (req) => acceptedRequestId(req.headers['x-request-id']) ?? `${prefix}-${(++n).toString(36)}`;
}

/** Methods that change something: they must come from the site itself. */
export const WRITE_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Why a request comes from another site, or undefined when it does not: the browser says so
 * (`Sec-Fetch-Site: cross-site`), or its `Origin` names another host than the one it asked
 * (an opaque `Origin: null` included). Requests without either header (programs, older
 * browsers) pass: the CSRF token still guards their writes.
 */
export function crossSiteReason(headers: IncomingHttpHeaders): string | undefined {
  if (headers['sec-fetch-site'] === 'cross-site') return 'Sec-Fetch-Site: cross-site';
  const origin = headers.origin;
  if (origin === undefined) return undefined;
  let from: URL;
  try {
    from = new URL(origin);
  } catch {
    return 'an Origin that is not a URL';
  }
  if (from.protocol !== 'http:' && from.protocol !== 'https:') return `Origin ${origin.slice(0, 100)}`;
  const host = headers.host;
  if (!host) return 'an Origin but no Host';
  let own: string;
  try {
    // Through the same parser, so that default ports compare equal (`example.org:443`).
    own = new URL(`${from.protocol}//${host}`).host;
  } catch {
    return 'a Host that is not a host name';
  }
  return from.host === own ? undefined : `Origin ${origin.slice(0, 100)}`;
}

/** True when the request announces a body (`Content-Length` above 0, or a chunked one). */
export function hasBody(headers: IncomingHttpHeaders): boolean {
  const length = headers['content-length'];
  return (length !== undefined && length !== '0') || headers['transfer-encoding'] !== undefined;
}

/** True for `application/json`, with or without parameters (`; charset=utf-8`). */
export function isJson(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase() === 'application/json';
}
