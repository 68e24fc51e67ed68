import { TimeoutError } from './timeouts.ts';

/**
 * The layer's answer when it cannot serve a request now; the client should come back later
 * (HTTP 503 with Retry-After). Each cause is its own class.
 */
export class UnavailableError extends Error {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
    this.name = 'UnavailableError';
  }
}

/** No master could take the write before its deadline. */
export class NoMasterError extends UnavailableError {
  constructor(message: string, retryAfterSeconds = 1) {
    super(message, retryAfterSeconds);
    this.name = 'NoMasterError';
  }
}

/**
 * The master has had too few replicas for a while (`min-replicas-to-write`): it refuses writes, and
 * the layer says so at once instead of retrying until the deadline.
 */
export class NotEnoughReplicasError extends UnavailableError {
  constructor(
    message = 'writes are refused: the master has no replica to confirm them',
    retryAfterSeconds = 2,
  ) {
    super(message, retryAfterSeconds);
    this.name = 'NotEnoughReplicasError';
  }
}

/** Neither the master nor a replica answered a read in time. */
export class ReadUnavailableError extends UnavailableError {
  constructor(message: string) {
    super(message, 1);
    this.name = 'ReadUnavailableError';
  }
}

/** Redis refused a write because it is full (maxmemory with noeviction): answered at once, never retried. */
export class StoreFullError extends UnavailableError {
  constructor() {
    super('the store is full (Redis maxmemory reached) and refuses writes', 30);
    this.name = 'StoreFullError';
  }
}

/**
 * What a Redis reply or a client error means to the layer:
 * - `full`: OOM, also inside MULTI (EXEC answers EXECABORT and the cause is among the queued errors);
 * - `no-replicas`: the master refuses writes for want of replicas (NOREPLICAS);
 * - `read-only`: the node is a replica (READONLY: a demoted master, or MASTERDOWN);
 * - `refused`: another lasting refusal to write (MISCONF: the node cannot persist);
 * - `transient`: the same command may succeed a moment later, on this or a new master (a lost
 *   connection, a timeout, a node loading its data, a WAIT that was not confirmed);
 * - `late`: the master refused a write that reached it after its deadline (LATE, from the cart
 *   functions): the app has given up on it, so must not run it again;
 * - `fatal`: a bad command or a wrong type: retrying cannot help.
 */
export type ErrorKind = 'full' | 'no-replicas' | 'read-only' | 'refused' | 'transient' | 'late' | 'fatal';

interface ReplyLike {
  message?: unknown;
  name?: unknown;
  previousErrors?: unknown;
}

/** Redis error codes (the reply's first word) and what they mean here. */
const CODES: Record<string, ErrorKind> = {
  OOM: 'full',
  NOREPLICAS: 'no-replicas',
  READONLY: 'read-only',
  MASTERDOWN: 'read-only',
  MISCONF: 'refused',
  LATE: 'late',
  LOADING: 'transient',
  TRYAGAIN: 'transient',
  BUSY: 'transient',
  CLUSTERDOWN: 'transient',
};

/** Client-side failures of ioredis and of the socket below it (ioredis has no classes for them). */
const CONNECTION =
  /^(Connection is closed|Stream isn't writeable|Command aborted due to connection close|Command timed out|Reached the max retries per request)|ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT/;

/** The first word of a Redis error reply, e.g. `NOREPLICAS`. */
function code(message: string): string {
  const m = /^([A-Z]+) /.exec(message);
  return m?.[1] ?? '';
}

export function classify(err: unknown): ErrorKind {
  if (err instanceof TimeoutError || err instanceof NotConfirmedError) return 'transient';
  if (!(err instanceof Error)) return 'fatal';
  const e = err as ReplyLike;
  const message = String(e.message ?? '');
  if (code(message) === 'EXECABORT') {
    // The transaction was refused because of a queued command: its error tells why.
    const causes = Array.isArray(e.previousErrors) ? e.previousErrors.map(classify) : [];
    for (const kind of ['full', 'refused', 'no-replicas', 'read-only', 'transient'] as const)
      if (causes.includes(kind)) return kind;
    return causes.length ? 'fatal' : 'transient';
  }
  const known = CODES[code(message)];
  if (known) return known;
  if (CONNECTION.test(message) || e.name === 'AbortError' || e.name === 'MaxRetriesPerRequestError')
    return 'transient';
  return 'fatal';
}

/** A refusal to write by a node that still answers reads: reading without renewal works there. */
export function refusesWrites(err: unknown): boolean {
  const kind = classify(err);
  return kind === 'full' || kind === 'refused' || kind === 'no-replicas' || kind === 'read-only';
}

/** Errors after which the same command may succeed a moment later (not a full store, not a bad command). */
export function isTransient(err: unknown): boolean {
  const kind = classify(err);
  return kind === 'transient' || kind === 'no-replicas' || kind === 'read-only';
}

/** A WAIT that returned fewer confirmations than asked for, or one of an earlier connection. */
export class NotConfirmedError extends Error {
  constructor(replicas: number) {
    super(`write not confirmed by ${replicas} replica(s)`);
    this.name = 'NotConfirmedError';
  }
}
