/**
 * In-process stand-ins for Redis, one per layer the code under test looks at:
 * - FakeLink: the connection to a master (MasterLink) that DurableWriter and FallbackReader use;
 * - FakeClient: an ioredis client as src/ha/clients.ts sees it (status, socket, events);
 * - FakeRedis and fakeLayer(): the commands the stores send, in memory, behind a RedisLayer.
 */
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { FUNCTIONS } from '../../src/app/stores/functions.ts';
import type { RedisLayer } from '../../src/ha/index.ts';
import type { MasterLink } from '../../src/ha/links.ts';

/**
 * A master connection: commands are functions of `client`, readiness is a flag. Every WAIT is
 * recorded as [replicas, timeout ms] and answered with `acks()`.
 */
export class FakeLink<C> implements MasterLink<C> {
  isReady = true;
  ep = 1;
  waits: [number, number][] = [];
  acks: () => number = () => 1;
  batches = 0;
  private readyWaiters: (() => void)[] = [];
  constructor(readonly client: C) {}
  ready() {
    return this.isReady;
  }
  /** Ready at once, on becomeReady(), or whatever `isReady` says at the deadline. */
  whenReady(deadline: number): Promise<boolean> {
    if (this.isReady) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(this.isReady), Math.max(0, deadline - Date.now()));
      this.readyWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }
  /** The connection is back: a new connection, so a new epoch. */
  becomeReady() {
    this.isReady = true;
    this.ep++;
    for (const w of this.readyWaiters.splice(0)) w();
  }
  batch<T>(fn: () => T): T {
    this.batches++;
    return fn();
  }
  epoch() {
    return this.ep;
  }
  async wait(replicas: number, timeoutMs: number): Promise<number> {
    this.waits.push([replicas, timeoutMs]);
    return this.acks();
  }
}

/** A client as far as clients.ts looks at it: a status, a socket and the 'ready'/'close' events. */
export class FakeClient extends EventEmitter {
  status = 'connecting';
  stream:
    | {
        remoteAddress?: string;
        remotePort?: number;
        log: string[];
        cork(): void;
        uncork(): void;
        destroy(): void;
      }
    | undefined;
  calls: string[][] = [];
  constructor() {
    super();
    const log: string[] = [];
    this.stream = {
      remoteAddress: '10.0.0.5',
      remotePort: 6380,
      log,
      cork: () => log.push('cork'),
      uncork: () => log.push('uncork'),
      destroy: () => log.push('destroy'),
    };
  }
  async call(...args: string[]) {
    this.calls.push(args);
    return 2;
  }
  asRedis(): Redis {
    return this as unknown as Redis;
  }
}

type Reply = [Error | null, unknown];

/** An in-memory stand-in for the few ioredis commands the stores send; every command is logged. */
export class FakeRedis {
  strings = new Map<string, { value: string; ttl?: number }>();
  hashes = new Map<string, Map<string, string>>();
  log: unknown[][] = [];
  /** The functions called (FCALL), each with the script body it runs. */
  evals: { name: string; script: string; numKeys: number; args: unknown[] }[] = [];
  evalReply: unknown = null;
  /** False: as a master whose function library was never loaded. */
  libraryLoaded = true;
  /** Errors that `exec` reports for the commands of a transaction, by position. */
  execErrors: (Error | null)[] = [];
  execReturnsNull = false;
  /** Thrown by GETEX (a write): READONLY as a replica, NOREPLICAS as a master without replicas. */
  refuseWrites: Error | null = null;

  private hash(key: string): Map<string, string> {
    let h = this.hashes.get(key);
    if (!h) {
      h = new Map();
      this.hashes.set(key, h);
    }
    return h;
  }
  async get(key: string) {
    this.log.push(['get', key]);
    return this.strings.get(key)?.value ?? null;
  }
  async getex(key: string, ...args: unknown[]) {
    this.log.push(['getex', key, ...args]);
    if (this.refuseWrites) throw this.refuseWrites;
    const s = this.strings.get(key);
    if (!s) return null;
    s.ttl = Number(args[1]);
    return s.value;
  }
  async set(key: string, value: string, ...args: unknown[]) {
    this.log.push(['set', key, value, ...args]);
    this.strings.set(key, { value, ttl: args[0] === 'EX' ? Number(args[1]) : undefined });
    return 'OK';
  }
  async del(...ks: string[]) {
    this.log.push(['del', ...ks]);
    let n = 0;
    for (const k of ks) if (this.strings.delete(k) || this.hashes.delete(k)) n++;
    return n;
  }
  async hget(key: string, field: string) {
    this.log.push(['hget', key, field]);
    return this.hashes.get(key)?.get(field) ?? null;
  }
  async hmget(key: string, ...fields: string[]) {
    this.log.push(['hmget', key, ...fields]);
    return fields.map((f) => this.hashes.get(key)?.get(f) ?? null);
  }
  async hgetall(key: string) {
    this.log.push(['hgetall', key]);
    return Object.fromEntries(this.hashes.get(key) ?? []);
  }
  async hset(key: string, ...pairs: string[]) {
    this.log.push(['hset', key, ...pairs]);
    const h = this.hash(key);
    for (let i = 0; i < pairs.length; i += 2) h.set(pairs[i]!, pairs[i + 1]!);
    return pairs.length / 2;
  }
  async hdel(key: string, ...fields: string[]) {
    this.log.push(['hdel', key, ...fields]);
    for (const f of fields) this.hashes.get(key)?.delete(f);
    return fields.length;
  }
  /** FCALL of a library function: logged with the body it runs (the stores' registry), as a script. */
  async call(command: string, name: string, numKeys: number, ...args: unknown[]) {
    if (command !== 'FCALL') throw new Error(`FakeRedis: unexpected ${command}`);
    const script = (FUNCTIONS as Record<string, string>)[name];
    if (script === undefined || !this.libraryLoaded) throw new Error('ERR Function not found');
    this.evals.push({ name, script, numKeys, args });
    return this.evalReply;
  }
  multi() {
    const queued: (() => Promise<unknown>)[] = [];
    const names: string[] = [];
    const chain = {
      set: (...a: Parameters<FakeRedis['set']>) => {
        names.push('set');
        queued.push(() => this.set(...a));
        return chain;
      },
      del: (...a: string[]) => {
        names.push('del');
        queued.push(() => this.del(...a));
        return chain;
      },
      hset: (key: string, ...a: string[]) => {
        names.push('hset');
        queued.push(() => this.hset(key, ...a));
        return chain;
      },
      hdel: (key: string, ...a: string[]) => {
        names.push('hdel');
        queued.push(() => this.hdel(key, ...a));
        return chain;
      },
      exec: async (): Promise<Reply[] | null> => {
        this.log.push(['multi', ...names]);
        if (this.execReturnsNull) return null;
        const out: Reply[] = [];
        for (const [i, run] of queued.entries()) {
          const err = this.execErrors[i] ?? null;
          out.push(err ? [err, null] : [null, await run()]);
        }
        return out;
      },
    };
    return chain;
  }
}

/** A RedisLayer that runs every call at once against one FakeRedis and says which path was taken. */
export class FakeLayer {
  paths: string[] = [];
  readOnly = false;
  fromReplica = false;
  /** With `fromReplica`, reads run here when set: a replica that lags the master (`r`). */
  replica: FakeRedis | undefined;
  constructor(readonly r: FakeRedis) {}
  async read<T>(fn: (r: FakeRedis, readOnly: boolean) => Promise<T>) {
    this.paths.push(this.readOnly ? 'read-only' : 'read');
    const on = this.fromReplica && this.replica ? this.replica : this.r;
    return { value: await fn(on, this.readOnly), fromReplica: this.fromReplica };
  }
  /** The deadline each write was given (undefined: the layer's own). */
  deadlines: (number | undefined)[] = [];
  async write<T>(fn: (r: FakeRedis) => Promise<T>, deadlineMs?: number) {
    this.paths.push('write');
    this.deadlines.push(deadlineMs);
    return fn(this.r);
  }
  async fastWrite<T>(fn: (r: FakeRedis) => Promise<T>) {
    this.paths.push('fastWrite');
    return fn(this.r);
  }
}

/** A FakeRedis behind a FakeLayer; `redis` is the layer as the stores take it. */
export function fakeLayer() {
  const r = new FakeRedis();
  const layer = new FakeLayer(r);
  return { r, layer, redis: layer as unknown as RedisLayer };
}
