/** No master could take the write before its deadline: the client should retry later (HTTP 503). */
export class NoMasterError extends Error {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
    this.name = 'NoMasterError';
  }
}

/** Neither the master nor a replica answered a read in time (HTTP 503). */
export class ReadUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReadUnavailableError';
  }
}

/** Redis refused a write because it is full (maxmemory with noeviction). */
export class StoreFullError extends Error {
  constructor() {
    super('Redis is out of memory and refuses writes');
    this.name = 'StoreFullError';
  }
}

/**
 * Errors after which the same write may succeed on a (new) master a moment later. Among them the
 * AbortError ioredis gives a MULTI/EXEC cut off by its connection closing (the layer drops the
 * connection to an old master at a switch): writes are safe to run again by contract.
 */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return /READONLY|NOREPLICAS|EXECABORT|MASTERDOWN|LOADING|TRYAGAIN|CLUSTERDOWN|Connection is closed|Stream isn't writeable|Command timed out|aborted due to connection close|ECONNRESET|ECONNREFUSED|EPIPE|not confirmed|max retries per request/.test(
    err.message,
  );
}
