import { Redis, type RedisOptions } from 'ioredis';
import type { RedisConfig } from '../config/index.ts';

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
    reconnectOnError: (err) => (/READONLY|MASTERDOWN/.test(err.message) ? 1 : false),
  };
  if (config.target.kind === 'url') {
    return new Redis(config.target.url, common);
  }
  return new Redis({
    ...common,
    sentinels: config.target.sentinels,
    name: config.target.masterName,
    role: role === 'master' ? 'master' : 'slave',
    sentinelPassword: config.sentinelPassword,
    sentinelRetryStrategy: (attempt) => retryDelay(attempt),
    sentinelCommandTimeout: config.connectTimeoutMs,
    // The layer watches +switch-master itself (SwitchWatcher): ioredis's detector drops every
    // connection on each Sentinel's announcement, also a fresh one to the new master.
    failoverDetector: false,
    enableTLSForSentinelMode: false,
    // With several replicas, spread degraded reads; ioredis picks randomly without a preference.
    preferredSlaves: undefined,
  });
}

/**
 * Runs `fn`, and the commands it sends leave in one write: the socket is corked while `fn` queues
 * them (ioredis writes each command on its own, a system call each, also in `Promise.all`).
 */
export function together<T>(client: Redis, fn: () => T): T {
  const socket = client.status === 'ready' ? client.stream : undefined;
  if (!socket) return fn();
  socket.cork();
  try {
    return fn();
  } finally {
    socket.uncork();
  }
}
