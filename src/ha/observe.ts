import { Redis } from 'ioredis';

/** `INFO` text as a record of fields (section headers left out). */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** The fields of `SENTINEL MASTER <name>` (a flat list of names and values) the stack reads. */
export interface SentinelMasterFields {
  /** The master as this Sentinel has it in its configuration (its `ip` and `port`). */
  master: { host: string; port: number } | null;
  quorum: number;
  flags: string;
  /** Epoch of the configuration this Sentinel holds: a later failover has a higher one. */
  configEpoch: number;
  replicas: number;
  otherSentinels: number;
}

export function parseSentinelMaster(raw: string[]): SentinelMasterFields {
  const m: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) m[raw[i]!] = raw[i + 1]!;
  return {
    master: m['ip'] && m['port'] ? { host: m['ip'], port: Number(m['port']) } : null,
    quorum: Number(m['quorum'] ?? 0),
    flags: m['flags'] ?? '',
    configEpoch: Number(m['config-epoch'] ?? 0),
    replicas: Number(m['num-slaves'] ?? 0),
    otherSentinels: Number(m['num-other-sentinels'] ?? 0),
  };
}

/**
 * The master named in the newest configuration among Sentinels' answers (highest config epoch:
 * right after a failover the Sentinels that have not heard of it yet still name the old master),
 * then by number of Sentinels naming it; undefined when none names one.
 */
export function newestMaster(
  views: readonly (
    | { master: { host: string; port: number } | null; configEpoch: number }
    | null
    | undefined
  )[],
): { host: string; port: number; epoch: number; votes: number } | undefined {
  const named = new Map<string, { host: string; port: number; epoch: number; votes: number }>();
  for (const v of views) {
    if (!v?.master) continue;
    const key = `${v.master.host}:${v.master.port}`;
    const entry = named.get(key) ?? { ...v.master, epoch: 0, votes: 0 };
    entry.epoch = Math.max(entry.epoch, v.configEpoch);
    entry.votes++;
    named.set(key, entry);
  }
  return [...named.values()].sort((a, b) => b.epoch - a.epoch || b.votes - a.votes)[0];
}

export interface Replication {
  role: 'master' | 'slave' | 'unknown';
  offset: number;
  connectedReplicas: number;
  linkUp: boolean;
  masterHost?: string | undefined;
  masterPort?: number | undefined;
  /** Replicas as the master sees them: address, offset and lag in seconds. */
  replicas: { ip: string; port: number; offset: number; lag: number }[];
}

/** The replication section of `INFO` as typed fields. */
export function parseReplication(text: string): Replication {
  const info = parseInfo(text);
  const replicas = Object.entries(info)
    .filter(([k]) => /^slave\d+$/.test(k))
    .map(([, v]) => {
      const f = Object.fromEntries(v.split(',').map((kv) => kv.split('=') as [string, string]));
      return {
        ip: f['ip'] ?? '',
        port: Number(f['port']),
        offset: Number(f['offset']),
        lag: Number(f['lag']),
      };
    });
  const role = info['role'] === 'master' || info['role'] === 'slave' ? info['role'] : 'unknown';
  return {
    role,
    offset: Number(info['master_repl_offset'] ?? info['slave_repl_offset'] ?? 0),
    connectedReplicas: Number(info['connected_slaves'] ?? 0),
    linkUp: info['master_link_status'] === 'up',
    masterHost: info['master_host'],
    masterPort: info['master_port'] ? Number(info['master_port']) : undefined,
    replicas,
  };
}

/** `INFO memory`: bytes in use and the node's `maxmemory` (0: no limit). */
export interface Memory {
  used: number;
  max: number;
}

export function parseMemory(text: string): Memory | null {
  const info = parseInfo(text);
  if (info['used_memory'] === undefined) return null;
  return { used: Number(info['used_memory']), max: Number(info['maxmemory'] ?? 0) };
}

/** Share of `maxmemory` in use above which a node is reported: full, it refuses writes. */
export const MEMORY_ALARM_SHARE = 0.8;

/** The alarm for a node whose memory passed MEMORY_ALARM_SHARE of its maxmemory, else null. */
export function memoryAlarm(name: string, m: Memory | null | undefined): string | null {
  if (!m || m.max <= 0 || m.used < m.max * MEMORY_ALARM_SHARE) return null;
  const pct = Math.round((100 * m.used) / m.max);
  return `${name} uses ${pct} % of its maxmemory (${m.used} of ${m.max} bytes): writes are refused once it is full`;
}

/** What a poll of one node reads: `INFO replication memory`. */
export type NodeInfo = Replication & { memory: Memory | null };

export function parseNodeInfo(text: string): NodeInfo {
  return { ...parseReplication(text), memory: parseMemory(text) };
}

export interface SentinelBelief {
  master: { host: string; port: number } | null;
  flags: string;
  /** Epoch of the configuration this Sentinel holds: a later failover has a higher one. */
  configEpoch: number;
  replicas: number;
  otherSentinels: number;
  /** In TILT mode (it saw its clock jump, or was paused): it takes part in no failover for 30 s. */
  tilt: boolean;
  /** Sentinels that must agree the master is down, as this Sentinel was told. */
  quorum: number;
}

/** A short reason a watched node did not answer, for a person to read. */
export function whyDown(err: unknown): string {
  const e = err as { code?: string; message?: string };
  if (e?.code === 'ECONNREFUSED') return 'connection refused';
  if (e?.code === 'ECONNRESET') return 'connection reset';
  if (/timed? ?out/i.test(e?.message ?? '')) return 'no reply in time';
  if (/writeable|closed|not connected|max retries per request/i.test(e?.message ?? ''))
    return 'connection lost';
  return (e?.message ?? String(err)).slice(0, 80);
}

/** An ACL user and its password (a Sentinel takes a password alone). */
export interface Login {
  username?: string | undefined;
  password: string | undefined;
}

/**
 * A watcher's connection: kept open between polls (a poll every half second should not pay for a
 * connect) and never queueing a command while disconnected. Before each command it waits for a
 * connection that is being made again, but no longer than the first failed attempt: Sentinel
 * disconnects every client of a node it reconfigures, which must not read as the node being down,
 * while a dead node must show as down at once.
 */
class WatchClient {
  readonly redis: Redis;
  private lastError: unknown;

  constructor(
    host: string,
    port: number,
    login: Login,
    private readonly timeoutMs: number,
  ) {
    this.redis = new Redis({
      host,
      port,
      username: login.username,
      password: login.password,
      connectionName: 'topology-watch',
      connectTimeout: timeoutMs,
      commandTimeout: timeoutMs,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: (attempt) => Math.min(50 * attempt, 250),
    });
    this.redis.on('error', (err) => {
      this.lastError = err;
    });
  }

  /** Runs `fn` once connected; throws the reason the node cannot be reached. */
  async run<T>(fn: (r: Redis) => Promise<T>): Promise<T> {
    const r = this.redis;
    if (r.status !== 'ready') {
      const ok = await new Promise<boolean>((resolve) => {
        const done = (v: boolean) => {
          clearTimeout(timer);
          r.off('ready', onReady);
          r.off('error', onError);
          resolve(v);
        };
        const onReady = () => done(true);
        const onError = () => done(false);
        const timer = setTimeout(() => done(false), this.timeoutMs);
        r.on('ready', onReady);
        r.on('error', onError);
      });
      if (!ok) throw new Error(this.lastError ? whyDown(this.lastError) : 'not connected');
    }
    try {
      return await fn(r);
    } catch (err) {
      throw new Error(whyDown(err));
    }
  }

  close(): void {
    this.redis.disconnect();
  }
}

/** Polls one Redis node's replication state and memory. */
export class NodeWatch {
  private readonly client: WatchClient;

  constructor(host: string, port: number, login: Login, timeoutMs: number) {
    this.client = new WatchClient(host, port, login, timeoutMs);
  }

  replication(): Promise<NodeInfo> {
    return this.client.run(async (r) =>
      parseNodeInfo((await r.call('INFO', 'replication', 'memory')) as string),
    );
  }

  /** Called when the connection to the node drops: the caller may want to look again at once. */
  onLost(fn: () => void): void {
    this.client.redis.on('close', fn);
  }

  close(): void {
    this.client.close();
  }
}

/** A Sentinel's belief about one master, and its event channels (`+sdown`, `+switch-master`, ...). */
export class SentinelWatch {
  private readonly client: WatchClient;
  private readonly events: Redis;

  constructor(
    host: string,
    port: number,
    password: string | undefined,
    timeoutMs: number,
    onEvent: (type: string, message: string) => void,
  ) {
    this.client = new WatchClient(host, port, { password }, timeoutMs);
    this.events = new WatchClient(host, port, { password }, timeoutMs).redis;
    this.events.on('pmessage', (_pattern: string, channel: string, message: string) => {
      if (!channel.startsWith('__')) onEvent(channel, message);
    });
    // Commands are not queued while disconnected: subscribe on every (re)connection instead.
    this.events.on('ready', () => {
      this.events.psubscribe('*').catch(() => undefined);
    });
  }

  belief(masterName: string): Promise<SentinelBelief> {
    return this.client.run(async (r) => {
      const [raw, info] = await Promise.all([
        r.call('SENTINEL', 'MASTER', masterName) as Promise<string[]>,
        r.info('sentinel'),
      ]);
      return { tilt: parseInfo(info)['sentinel_tilt'] === '1', ...parseSentinelMaster(raw) };
    });
  }

  close(): void {
    this.client.close();
    this.events.disconnect();
  }
}
