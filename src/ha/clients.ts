import { Redis, type RedisOptions } from 'ioredis';
import type { RedisConfig } from '../config/index.ts';
import type { Link, MasterLink } from './links.ts';
import { liveStackTls } from './tls.ts';

export type Role = 'master' | 'replica';

/** Backoff with jitter, short and flat: a failover takes about a second, so waiting longer only adds to the window. */
export function retryDelay(_attempt: number): number {
  // Flat and short: an exponential back-off adds up to seconds after Sentinel has already switched,
  // and each attempt asks a Sentinel for the master again. On loopback an attempt costs little.
  // The jitter keeps many instances from reconnecting in lockstep.
  return 10 + Math.round(Math.random() * 15);
}

/**
 * Builds one long-lived client. Commands never queue while disconnected
 * (enableOfflineQueue: false): the layer above decides how long a request may wait.
 */
export function createClient(config: RedisConfig, role: Role, connectionName: string): Redis {
  const common: RedisOptions = {
    username: config.username,
    password: config.password,
    connectionName,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: config.connectTimeoutMs,
    // The WAIT of a durable write is the longest command we send; anything longer is a hung node.
    commandTimeout: config.waitTimeoutMs + 1000,
    keepAlive: 1000,
    noDelay: true,
    lazyConnect: false,
    retryStrategy: retryDelay,
    // A demoted master answers READONLY: reconnect so the connector asks the Sentinels again.
    reconnectOnError: (err) => (/^(READONLY|MASTERDOWN)/.test(err.message) ? 1 : false),
  };
  // TLS to every node and Sentinel when the stack speaks it (tls.ts): the same CA and certificate,
  // read again at each connection, so a rotation reaches a client that lives for days.
  const tls = liveStackTls();
  if (tls) common.tls = tls;
  if (config.target.kind === 'url') {
    return new Redis(config.target.url, common);
  }
  return new Redis({
    ...common,
    sentinels: config.target.sentinels,
    name: config.target.masterName,
    role: role === 'master' ? 'master' : 'slave',
    sentinelUsername: config.sentinelUsername,
    sentinelPassword: config.sentinelPassword,
    sentinelRetryStrategy: (attempt) => retryDelay(attempt),
    sentinelCommandTimeout: config.connectTimeoutMs,
    // The layer watches +switch-master itself (SwitchWatcher): ioredis's detector drops every
    // connection on each Sentinel's announcement, also a fresh one to the new master.
    failoverDetector: false,
    // The nodes the Sentinels name are reached with `tls` too.
    enableTLSForSentinelMode: tls !== undefined,
    ...(tls ? { sentinelTLS: tls } : {}),
  });
}

/** Sockets corked for the rest of this turn of the event loop (together). */
const corkedThisTurn = new WeakSet<object>();

/**
 * Runs `fn`, and the commands it sends leave in one write with those of every other `together` on
 * the same client in this turn of the event loop: the socket is corked at the first and uncorked
 * once the turn's I/O callbacks have run (setImmediate). ioredis writes each command on its own, a
 * system call each, also in `Promise.all`; page views that arrive in one poll of the event loop
 * then share one write to Redis (as they share a TLS record on a TLS socket). One app loaded
 * directly: 1.08 write calls a page view instead of 2.01, 70-90 µs of CPU instead of 84-118, no
 * higher p99 (docs/performance.md).
 */
export function together<T>(client: Redis, fn: () => T): T {
  const socket = client.status === 'ready' ? client.stream : undefined;
  if (!socket) return fn();
  if (!corkedThisTurn.has(socket)) {
    corkedThisTurn.add(socket);
    socket.cork();
    setImmediate(() => {
      corkedThisTurn.delete(socket);
      socket.uncork();
    });
  }
  return fn();
}

interface Socketish {
  remoteAddress?: string;
  remotePort?: number;
  destroy(): void;
}

/** The socket of a client (ioredis keeps it as `stream`). */
function socketOf(client: Redis): Socketish | undefined {
  return (client as unknown as { stream?: Socketish }).stream;
}

export function remoteOf(client: Redis): { host: string | undefined; port: number | undefined } {
  const stream = socketOf(client);
  return { host: stream?.remoteAddress, port: stream?.remotePort };
}

/**
 * Closes a client's connection at once so that it reconnects through the Sentinels. (ioredis's
 * disconnect(true) ends the socket politely and then waits for the peer to close its side, which a
 * paused or cut-off node never does.)
 */
export function drop(client: Redis): void {
  socketOf(client)?.destroy();
}

/** Resolves true once `client` is ready, false at the deadline or when `closed()` says so. */
function readyBy(client: Redis, deadline: number, closed: () => boolean): Promise<boolean> {
  if (client.status === 'ready') return Promise.resolve(true);
  const left = deadline - Date.now();
  if (left <= 0 || closed()) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      client.off('ready', onReady);
      resolve(ok);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), left);
    client.on('ready', onReady);
  });
}

/** An ioredis client as the read path sees it. */
export function linkOf(client: Redis, closed: () => boolean): Link<Redis> {
  return {
    client,
    ready: () => client.status === 'ready',
    whenReady: (deadline) => readyBy(client, deadline, closed),
    batch: (fn) => together(client, fn),
  };
}

/** The master's client as the write path sees it: its epoch changes whenever it closes or opens. */
export function masterLinkOf(client: Redis, closed: () => boolean): MasterLink<Redis> {
  let epoch = 0;
  const bump = () => {
    epoch++;
  };
  client.on('close', bump);
  client.on('ready', bump);
  return {
    ...linkOf(client, closed),
    epoch: () => epoch,
    wait: async (replicas, timeoutMs) =>
      (await client.call('WAIT', String(replicas), String(timeoutMs))) as number,
  };
}

interface SentinelIteratorLike {
  sentinels?: { host?: string; port?: number }[];
  cursor?: number;
}

/**
 * Makes the next Sentinel a client asks for the master (or a replica) `sentinel`: true when it did.
 * ioredis asks the Sentinels in turn, starting after the one that answered its last connection, so
 * after a failover it may first ask one on the lost host and wait out a connect timeout (1 s,
 * measured in the host scenarios) before the next. The Sentinel that has just announced the switch
 * answers at once, with the new master. This reaches into ioredis's Sentinel connector
 * (`connector.sentinelIterator`, as of ioredis 6; test/unit/ask-first.test.ts fails if that goes)
 * and does nothing when it is not there or does not list that Sentinel.
 */
export function askFirst(client: Redis, sentinel: { host: string; port: number }): boolean {
  const it = (client as unknown as { connector?: { sentinelIterator?: SentinelIteratorLike } }).connector
    ?.sentinelIterator;
  if (!it || !Array.isArray(it.sentinels) || typeof it.cursor !== 'number') return false;
  const i = it.sentinels.findIndex(
    (s) => (s.host ?? '127.0.0.1') === sentinel.host && (s.port ?? 26379) === sentinel.port,
  );
  if (i < 0) return false;
  it.sentinels.unshift(...it.sentinels.splice(i, 1));
  it.cursor = 0;
  return true;
}
