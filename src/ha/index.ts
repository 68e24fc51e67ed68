import type { Redis } from 'ioredis';
import type { RedisConfig } from '../config/index.ts';
import type { ClientGone } from './client-scope.ts';
import { askFirst, createClient, drop, linkOf, masterLinkOf, remoteOf } from './clients.ts';
import { parseReplicationDetail } from './info.ts';
import { type ServiceMode, serviceMode } from './mode.ts';
import { FallbackReader, type Read, type ReadFn } from './reads.ts';
import { type Switch, SwitchWatcher } from './switch.ts';
import { withTimeout } from './timeouts.ts';
import { DurableWriter } from './writes.ts';

export type { Redis } from 'ioredis';
export {
  classify,
  NoMasterError,
  NotEnoughReplicasError,
  ReadUnavailableError,
  refusesWrites,
  StoreFullError,
  UnavailableError,
} from './errors.ts';
export type { ServiceMode } from './mode.ts';
export type { Read, ReadFn } from './reads.ts';
export { TimeoutError } from './timeouts.ts';

export interface LayerEvents {
  onError?: (where: 'master' | 'replica' | 'write' | 'read' | 'sentinel-watch', err: Error) => void;
  onMasterChange?: (addr: string) => void;
  /**
   * A Sentinel announced `+switch-master` to `to`; `master` says what became of the master
   * connection: `kept` (already there), `dropped` (it was elsewhere: it asks the Sentinels again)
   * or its ioredis status while it is not ready (it asks them anyway).
   */
  onSwitch?: (to: string, master: string) => void;
  /** A read was served by a replica (the master did not answer in time). */
  onReplicaRead?: () => void;
  /** Something an operator should see in the log (once per outage, not at every retry). */
  onWarn?: (message: string, err: Error) => void;
}

/** What this instance can serve now, as `/readyz` reports it. */
export interface LayerHealth {
  mode: ServiceMode;
  /** The connection that answered: the master, a replica, or none. */
  serving: 'master' | 'replica' | 'none';
  /** Replicas the master counts as good for `min-replicas-to-write` (null: no master answered). */
  replicasOfMaster: number | null;
}

/** After a master refused the renewal inside a read, reads skip it for this long. */
const RENEW_PAUSE_MS = 1000;

/**
 * The only place that knows about Sentinel, WAIT and replica reads. Callers ask for a durable
 * write or a read that may be served by a replica; the paths themselves live in writes.ts and
 * reads.ts, the ioredis specifics in clients.ts.
 */
export class RedisLayer {
  readonly master: Redis;
  readonly replica: Redis | null;
  private readonly reader: FallbackReader<Redis>;
  private readonly writer: DurableWriter<Redis>;
  private readonly watcher: SwitchWatcher;
  private closed = false;

  constructor(
    private readonly config: RedisConfig,
    name: string,
    private readonly events: LayerEvents = {},
  ) {
    const isClosed = () => this.closed;
    this.master = createClient(config, 'master', `${name}:master`);
    this.replica =
      config.target.kind === 'sentinel' ? createClient(config, 'replica', `${name}:replica`) : null;
    const masterLink = masterLinkOf(this.master, isClosed);
    this.master.on('ready', () => {
      const peer = remoteOf(this.master);
      this.events.onMasterChange?.(`${peer.host ?? '?'}:${peer.port ?? '?'}`);
    });
    this.master.on('error', (err: Error) => this.events.onError?.('master', err));
    this.replica?.on('error', (err: Error) => this.events.onError?.('replica', err));
    for (const client of [this.master, this.replica]) if (client) this.keepConnecting(client);
    this.reader = new FallbackReader(
      masterLink,
      this.replica ? linkOf(this.replica, isClosed) : null,
      {
        fallbackMs: config.readFallbackMs,
        lastChanceMs: config.writeDeadlineMs,
        renewPauseMs: RENEW_PAUSE_MS,
        onReplicaRead: () => this.events.onReplicaRead?.(),
      },
      (err) => this.events.onError?.('read', err),
    );
    this.writer = new DurableWriter(
      masterLink,
      {
        waitReplicas: config.waitReplicas,
        waitTimeoutMs: config.waitTimeoutMs,
        deadlineMs: config.writeDeadlineMs,
        noReplicaGraceMs: config.noReplicaGraceMs,
      },
      (err) => this.events.onError?.('write', err),
    );
    this.watcher = SwitchWatcher.forConfig(
      config,
      (to) => this.onSwitch(to),
      (sentinel, err, first) => {
        this.events.onError?.('sentinel-watch', err);
        if (first)
          this.events.onWarn?.(
            `the +switch-master subscription on Sentinel ${sentinel} failed; retrying`,
            err,
          );
      },
    );
  }

  /**
   * Sentinel moved the master: leave a master connection that is already there and drop one to
   * elsewhere; move a replica connection off the node that was just promoted (degraded reads must
   * not depend on the master they stand in for).
   */
  private onSwitch(to: Switch): void {
    if (this.closed) return;
    const at = (client: Redis) => {
      const peer = remoteOf(client);
      return peer.port === to.port && peer.host === to.host;
    };
    // A client that is not ready is reconnecting and asks the Sentinels anyway.
    // Whoever reconnects asks the Sentinel that announced the switch first: it has the new master.
    if (to.from) for (const c of [this.master, this.replica]) if (c) askFirst(c, to.from);
    const ready = this.master.status === 'ready';
    if (ready && !at(this.master)) drop(this.master);
    this.events.onSwitch?.(
      `${to.host}:${to.port}`,
      ready ? (at(this.master) ? 'kept' : 'dropped') : this.master.status,
    );
    if (this.replica?.status === 'ready' && at(this.replica)) drop(this.replica);
  }

  /**
   * ioredis gives up for good ('end') when its Sentinel connector is interrupted while it asks a
   * Sentinel for the master, which is what its failover detector does on +switch-master during
   * a reconnect. The layer never wants a client to give up while it is open: start it again.
   */
  private keepConnecting(client: Redis): void {
    client.on('end', () => {
      if (this.closed) return;
      // At once: this happens right when Sentinel has named the new master.
      setImmediate(() => {
        if (!this.closed && client.status === 'end') client.connect().catch(() => undefined);
      });
    });
  }

  /**
   * Runs `fn` against the master and acknowledges only once `waitReplicas` replicas confirmed it;
   * not run again once `gone()` says its client left (client-scope.ts).
   */
  write<T>(fn: (r: Redis) => Promise<T>, deadlineMs?: number, gone?: ClientGone): Promise<T> {
    return this.writer.write(fn, deadlineMs, gone);
  }

  /** A write that needs no replica confirmation (counters whose loss is harmless). */
  fastWrite<T>(fn: (r: Redis) => Promise<T>, deadlineMs?: number): Promise<T> {
    return this.writer.fastWrite(fn, deadlineMs);
  }

  /**
   * Reads from the master; from a replica when the master does not answer within
   * `readFallbackMs`; without its write part (`readOnly`) where writes are refused.
   */
  read<T>(fn: ReadFn<Redis, T>): Promise<Read<T>> {
    return this.reader.read(fn);
  }

  private async answers(client: Redis | null, timeoutMs: number): Promise<boolean> {
    if (client?.status !== 'ready') return false;
    try {
      return (await withTimeout(client.ping(), timeoutMs)) === 'PONG';
    } catch {
      return false;
    }
  }

  /** What this instance can serve now, and in which of the stack's modes it finds itself. */
  async health(timeoutMs = 500): Promise<LayerHealth> {
    const [info, replicaUp] = await Promise.all([
      this.master.status === 'ready'
        ? withTimeout(this.master.info('replication'), timeoutMs).then(parseReplicationDetail, () => null)
        : Promise.resolve(null),
      this.answers(this.replica, timeoutMs),
    ]);
    const masterUp = info?.role === 'master';
    const good = info?.goodReplicas ?? 0;
    const replicasOfMaster = masterUp ? good : null;
    const mode = serviceMode({
      masterUp,
      replicasOfMaster: good,
      minReplicas: this.config.waitReplicas,
      replicasUp: replicaUp ? 1 : info ? 1 : 0,
    });
    return { mode, serving: masterUp ? 'master' : replicaUp ? 'replica' : 'none', replicasOfMaster };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.watcher.close();
    await Promise.all(
      [this.master, this.replica].map(async (c) => {
        if (!c) return;
        try {
          await withTimeout(c.quit(), 500);
        } catch {
          c.disconnect();
        }
      }),
    );
  }
}
