import { fetchStats } from '../../../ha/haproxy-stats.ts';
import { NodeWatch, SentinelWatch } from '../../../ha/watch.ts';
import type { TopologyConfig } from '../config.ts';
import { describeSentinelEvent, isTimelineEvent } from './events.ts';
import type { TopologySnapshot } from './model.ts';
import { masterOf, nameOf, nodeRows, quorumOf, sentinelRows } from './rows.ts';
import {
  alarms,
  haproxyPart,
  missing,
  modeOf,
  readSupervisorState,
  withCertificateWarnings,
} from './snapshot.ts';
import { Timeline } from './timeline.ts';

/** A page load followed by its stream connecting should not stop and start the poller in between. */
const LINGER_MS = 5000;

export interface ObserverOptions {
  config: TopologyConfig;
  instance: string;
  /** The ACL user the nodes are polled as (INFO only). */
  redisUsername?: string | undefined;
  redisPassword: string | undefined;
  /** The Sentinels' user (the read-only `reader` in the stack) and its password. */
  sentinelUsername?: string | undefined;
  sentinelPassword: string | undefined;
  /** User `operator`'s password on HAProxy's operator front, where the stats page is. */
  statsPassword?: string | undefined;
  /** The one before it, tried on a 401 while the password is rotated. */
  statsPreviousPassword?: string | undefined;
  /** The masters' `min-replicas-to-write`: fewer replicas than this is the read-only mode. */
  minReplicas: number;
}

type Listener = (s: TopologySnapshot) => void;
const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * One per app process: polls every node, Sentinel and HAProxy's stats, follows the Sentinels'
 * event channels, and hands each changed snapshot to its listeners. It runs only while someone
 * listens (and a few seconds after), so it costs nothing to an instance nobody watches.
 */
export class TopologyObserver {
  private readonly listeners = new Set<Listener>();
  private nodes: NodeWatch[] = [];
  private sentinels: SentinelWatch[] = [];
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private linger: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private again = false;
  private latest: TopologySnapshot | undefined;
  private sent = '';
  private readonly timeline = new Timeline();
  private firstPoll: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly opts: ObserverOptions) {}

  get active(): boolean {
    return this.running;
  }

  /** Calls `fn` with the current snapshot and every changed one after it; returns the unsubscribe. */
  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    this.ensureRunning();
    if (this.latest) fn(this.latest);
    return () => {
      if (this.listeners.delete(fn) && this.listeners.size === 0) this.scheduleStop();
    };
  }

  /** The latest snapshot, polling once first when the poller is not running. */
  async current(): Promise<TopologySnapshot> {
    this.ensureRunning();
    await this.firstPoll;
    if (this.listeners.size === 0) this.scheduleStop();
    if (!this.latest) throw new Error('the topology observer is closed');
    return this.latest;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    this.stop();
    await this.polling;
  }

  private ensureRunning(): void {
    clearTimeout(this.linger);
    this.linger = undefined;
    if (this.running || this.closed) return;
    this.running = true;
    const { config, redisUsername, redisPassword, sentinelUsername, sentinelPassword } = this.opts;
    const timeout = Math.max(100, Math.min(1000, config.pollMs - 50));
    this.nodes = config.redisNodes.map((n) => {
      const login = { username: redisUsername, password: redisPassword };
      const w = new NodeWatch(n.host, n.port, login, timeout);
      // A dropped connection is often a node dying: look now rather than at the next tick.
      w.onLost(() => {
        if (this.running) void this.poll();
      });
      return w;
    });
    this.sentinels = config.sentinels.map(
      (s) =>
        new SentinelWatch(
          s.host,
          s.port,
          { username: sentinelUsername, password: sentinelPassword },
          timeout,
          (type, msg) => this.sentinelEvent(s.name, type, msg),
        ),
    );
    this.firstPoll = this.poll();
  }

  private scheduleStop(): void {
    clearTimeout(this.linger);
    this.linger = setTimeout(() => {
      if (this.listeners.size === 0) this.stop();
    }, LINGER_MS);
    this.linger.unref();
  }

  private stop(): void {
    clearTimeout(this.linger);
    clearTimeout(this.timer);
    this.linger = this.timer = undefined;
    if (!this.running) return;
    this.running = false;
    for (const w of [...this.nodes, ...this.sentinels]) w.close();
    this.nodes = [];
    this.sentinels = [];
    // The next start compares against its own first look, not against one from long ago.
    this.latest = undefined;
    this.sent = '';
  }

  /** Polls now; a poll asked for while one runs is done right after it. */
  private poll(): Promise<void> {
    if (this.polling) {
      this.again = true;
      return this.polling;
    }
    clearTimeout(this.timer);
    const started = Date.now();
    this.polling = this.read()
      .then((s) => this.publish(s))
      .catch(() => undefined)
      .finally(() => {
        this.polling = undefined;
        if (!this.running) return;
        const wait = this.again ? 0 : Math.max(0, this.opts.config.pollMs - (Date.now() - started));
        this.again = false;
        this.timer = setTimeout(() => void this.poll(), wait);
      });
    return this.polling;
  }

  private nameOf(host: string, port: number | string): string {
    return nameOf(this.opts.config, host, port);
  }

  private sentinelEvent(source: string, type: string, msg: string): void {
    if (!this.running || !isTimelineEvent(type)) return;
    const text = describeSentinelEvent(type, msg, this.opts.config.masterName, (h, p) => this.nameOf(h, p));
    if (!text) return;
    this.timeline.add(type, text, source);
    this.publish(this.latest, true);
    // The state behind the event (a new role, a lost link) is worth reading now, not at the next tick.
    void this.poll();
  }

  private publish(s: TopologySnapshot | undefined, eventsChanged = false): void {
    if (!s || !this.running) return;
    if (eventsChanged) s = { ...s, events: this.timeline.list() };
    const previous = this.latest;
    this.latest = s;
    if (previous && previous !== s) {
      const last = this.timeline.lastId;
      this.timeline.diff(previous, s);
      if (this.timeline.lastId !== last || s.events.at(-1)?.id !== last)
        this.latest = s = { ...s, events: this.timeline.list() };
    }
    const key = JSON.stringify({ ...this.latest, at: '' });
    if (key === this.sent) return;
    this.sent = key;
    // One listener that throws (a stream whose client went away) must not silence the others.
    for (const fn of this.listeners) {
      try {
        fn(this.latest);
      } catch {
        this.listeners.delete(fn);
      }
    }
  }

  private async read(): Promise<TopologySnapshot> {
    const { config } = this.opts;
    const settle = <T>(p: Promise<T>) =>
      p.then(
        (value) => ({ value, error: null }),
        (err: unknown) => ({ value: null, error: message(err) }),
      );
    const [states, beliefs, stats, processes] = await Promise.all([
      Promise.all(this.nodes.map((n) => settle(n.replication()))),
      Promise.all(this.sentinels.map((s) => settle(s.belief(config.masterName)))),
      config.haproxyStatsUrl
        ? settle(
            fetchStats(
              config.haproxyStatsUrl,
              this.opts.statsPassword,
              Math.max(200, config.pollMs),
              this.opts.statsPreviousPassword,
            ),
          )
        : Promise.resolve(null),
      readSupervisorState(config.stateFile),
    ]);
    const nodes = nodeRows(config, states, processes);
    const sentinels = sentinelRows(config, beliefs, processes);
    const master = masterOf(config, beliefs, nodes);
    return {
      at: new Date().toISOString(),
      observer: this.opts.instance,
      masterName: config.masterName,
      master,
      mode: modeOf(nodes, sentinels, master, this.opts.minReplicas, quorumOf(beliefs)),
      ...withCertificateWarnings(alarms(nodes, sentinels)),
      missing: missing(config),
      nodes,
      sentinels,
      haproxy: haproxyPart(config, stats),
      events: this.timeline.list(),
    };
  }
}
