/**
 * What the read and write paths need of a connection, and nothing more: the real ones wrap
 * ioredis clients (see clients.ts), unit tests drive the paths with fakes.
 */
export interface Link<C> {
  /** What callers' functions receive to send commands with. */
  readonly client: C;
  ready(): boolean;
  /** Resolves true once the connection is ready, false at the deadline (a Date.now() time). */
  whenReady(deadline: number): Promise<boolean>;
  /** Runs `fn`; the commands it sends leave in one write. */
  batch<T>(fn: () => T): T;
}

export interface MasterLink<C> extends Link<C> {
  /** Changes whenever the connection closes or opens: a WAIT only confirms writes of its own epoch. */
  epoch(): number;
  /** `WAIT replicas timeoutMs` on the connection: how many replicas confirmed every earlier write. */
  wait(replicas: number, timeoutMs: number): Promise<number>;
}
