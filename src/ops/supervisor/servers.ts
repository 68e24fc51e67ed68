import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { KeptProbes } from '../../ha/kept-probes.ts';
import type { RedisLogin } from '../../ha/probes.ts';
import { probeOn } from '../../ha/probes.ts';

/** Which server a Redis node or Sentinel of the local stack runs: Debian's Redis 7.0 or Valkey 8.0. */
export const SERVER_KINDS = ['redis', 'valkey'] as const;
export type ServerKind = (typeof SERVER_KINDS)[number];

export function isServerKind(x: unknown): x is ServerKind {
  return typeof x === 'string' && (SERVER_KINDS as readonly string[]).includes(x);
}

/** The programs of each kind: the node, the Sentinel, the command-line client. */
export function binaries(kind: ServerKind): { server: string; sentinel: string; cli: string } {
  return kind === 'valkey'
    ? { server: 'valkey-server', sentinel: 'valkey-sentinel', cli: 'valkey-cli' }
    : { server: 'redis-server', sentinel: 'redis-sentinel', cli: 'redis-cli' };
}

/**
 * The kind each process is started on: the stack's setting (REDIS_SERVER) for all of them, until
 * `ha-stack upgrade` moves them one at a time.
 */
export class ServerChoice {
  private readonly chosen = new Map<string, ServerKind>();

  constructor(readonly initial: ServerKind = 'redis') {}

  of(name: string): ServerKind {
    return this.chosen.get(name) ?? this.initial;
  }

  set(name: string, kind: ServerKind): void {
    this.chosen.set(name, kind);
  }
}

/** `valkey 8.0.1` or `redis 7.0.15`, from a reply of INFO server. */
export function parseServer(info: string): string {
  const field = (key: string) => new RegExp(`^${key}:(.*)$`, 'm').exec(info)?.[1]?.trim();
  const name = field('server_name') ?? 'redis';
  const version = field(`${name}_version`) ?? field('redis_version') ?? '?';
  return `${name} ${version}`;
}

/** What a node (or, with the Sentinels' password alone, a Sentinel) says it runs; null when it does not answer. */
export function serverOf(
  host: string,
  port: number,
  login: RedisLogin,
  kept?: KeptProbes,
): Promise<string | null> {
  const ask = async (r: Redis) => parseServer((await r.call('INFO', 'server')) as string);
  return probeOn(kept, host, port, login, ask).catch(() => null);
}

/** Removes what a Valkey node wrote in its folder (RDB version 11), so Redis 7.0 starts without it. */
export function dropValkeyFiles(dir: string): void {
  rmSync(join(dir, 'appendonlydir'), { recursive: true, force: true });
  rmSync(join(dir, 'dump.rdb'), { force: true });
}
