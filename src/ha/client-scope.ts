import type { IncomingMessage } from 'node:http';

/**
 * Whether the client a write runs for is still there. A write interrupted by a failover is run
 * again until its deadline (writes.ts); once its client's connection has closed, nobody waits for
 * the answer, and the client may already have sent the request again elsewhere (a browser does, on
 * a connection reset) and written since. A retry landing after that would overwrite newer,
 * acknowledged data with the old request's: so a write whose client has gone is not run again.
 * Given to the writes whose order matters (a cart's quantities are absolute: the last one stays).
 */
export type ClientGone = () => boolean;

/** The request's connection has closed (an HTTP request of the app). */
export const clientOf =
  (req: IncomingMessage): ClientGone =>
  () =>
    req.socket?.destroyed ?? false;
