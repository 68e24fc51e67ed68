import { performance } from 'node:perf_hooks';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';

/** Latency buckets in seconds: a page view is a millisecond or two, a durable write a few. */
export const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
type Labelled = 'redisErrors' | 'loginRefused' | 'registrationRefused';
type Plain = 'sessionsCreated' | 'replicaReads' | 'masterConnections' | 'storeFull' | 'passwordChecks';

/** Each counter: its name, what it counts, and its one label when it has one. */
const COUNTERS: Record<Plain | Labelled, { name: string; help: string; label?: string }> = {
  redisErrors: { name: 'redis_errors_total', help: 'Redis errors seen by this instance.', label: 'where' },
  sessionsCreated: { name: 'sessions_created_total', help: 'Sessions created (logins).' },
  replicaReads: {
    name: 'redis_replica_reads_total',
    help: 'Reads served by a replica because no master answered in time.',
  },
  masterConnections: {
    name: 'redis_master_connections_total',
    help: 'Connections made to a master (1 plus one per failover followed).',
  },
  storeFull: { name: 'redis_store_full_total', help: 'Writes refused because Redis reached maxmemory.' },
  passwordChecks: {
    name: 'login_password_checks_total',
    help: 'Passwords checked at login (attempts the limits let through).',
  },
  loginRefused: {
    name: 'login_refused_total',
    help: 'Login attempts refused before any check, by limit (pair, address, email).',
    label: 'reason',
  },
  registrationRefused: {
    name: 'registration_refused_total',
    help: 'Registrations refused before any hash, by cause (address, busy).',
    label: 'reason',
  },
};

/** One route's latency histogram: a count per bucket (not cumulative), the sum and the count. */
class RouteHistogram {
  readonly counts = new Array<number>(BUCKETS.length).fill(0);
  sum = 0;
  count = 0;

  observe(seconds: number): void {
    this.sum += seconds;
    this.count++;
    for (let i = 0; i < BUCKETS.length; i++) {
      if (seconds <= BUCKETS[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }
}

/** A label value in the exposition format: backslash, quote and newline escaped. */
const label = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export interface MetricsOptions {
  /**
   * Also export prom-client's default Node metrics (GC durations, the event-loop delay histogram,
   * heap spaces, handles): measured at about 7 µs of CPU on every page view, so off unless asked.
   */
  node?: boolean;
}

/**
 * The instance's Prometheus metrics. prom-client keeps the registry: the Redis and login counters,
 * the gauges read when scraped, Node's process metrics (CPU, memory, event-loop delay, GC, handles)
 * and the exposition. The two families every request updates (`http_requests_total` and the
 * latency histogram) are plain counts rendered beside them: prom-client's labelled `inc` and
 * `observe` cost about 1 µs a request, more than 1 % of a page view (docs/performance-history.md, "Metrics").
 * Every sample carries `instance_id`.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly counters = new Map<string, Counter<string>>();
  private readonly requests = new Map<string, number>();
  private readonly latency = new Map<string, RouteHistogram>();

  constructor(
    private readonly instance: string,
    options: MetricsOptions = {},
  ) {
    for (const [key, c] of Object.entries(COUNTERS)) {
      const counter = new Counter({
        name: c.name,
        help: c.help,
        labelNames: c.label ? ['instance_id', c.label] : ['instance_id'],
        registers: [this.registry],
      });
      // A plain counter is shown at 0 from the start; a labelled one has no sample until counted.
      if (!c.label) counter.inc({ instance_id: instance }, 0);
      this.counters.set(key, counter);
    }
    if (options.node) collectDefaultMetrics({ register: this.registry, labels: { instance_id: instance } });
    else this.processGauges();
  }

  /**
   * What a dashboard needs of the process, read at the scrape and nothing on the request path:
   * CPU seconds, resident and heap memory, and the event loop's busy share since the last scrape.
   */
  private processGauges(): void {
    const registers = [this.registry];
    const instance = this.instance;
    const labelNames = ['instance_id'];
    new Counter({
      name: 'process_cpu_seconds_total',
      help: 'User and system CPU time spent in seconds.',
      labelNames,
      registers,
      collect() {
        const { user, system } = process.cpuUsage();
        this.reset();
        this.inc({ instance_id: instance }, (user + system) / 1e6);
      },
    });
    this.gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', () =>
      process.memoryUsage.rss(),
    );
    this.gauge('nodejs_heap_size_used_bytes', 'Process heap size used from Node.js in bytes.', () =>
      Number(process.memoryUsage().heapUsed),
    );
    let last = performance.eventLoopUtilization();
    this.gauge(
      'nodejs_eventloop_utilization',
      'Share of the time since the last scrape the event loop was busy (0 to 1).',
      () => {
        const now = performance.eventLoopUtilization();
        const share = performance.eventLoopUtilization(now, last).utilization;
        last = now;
        return share;
      },
    );
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  request(method: string, route: string, status: number, seconds: number): void {
    const key = `${method}\u0000${route}\u0000${status}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    let h = this.latency.get(route);
    if (!h) {
      h = new RouteHistogram();
      this.latency.set(route, h);
    }
    h.observe(seconds);
  }

  /** Adds one to a plain counter. */
  count(which: Plain): void {
    this.counters.get(which)!.inc({ instance_id: this.instance });
  }

  redisError(where: string): void {
    this.counters.get('redisErrors')!.inc({ instance_id: this.instance, where });
  }

  loginRefused(reason: string): void {
    this.counters.get('loginRefused')!.inc({ instance_id: this.instance, reason });
  }

  registrationRefused(reason: string): void {
    this.counters.get('registrationRefused')!.inc({ instance_id: this.instance, reason });
  }

  /** A value read when the metrics are scraped (nothing to update on the request path). */
  gauge(name: string, help: string, read: () => number): void {
    const instance = this.instance;
    new Gauge({
      name,
      help,
      labelNames: ['instance_id'],
      registers: [this.registry],
      collect() {
        this.set({ instance_id: instance }, read());
      },
    });
  }

  async render(): Promise<string> {
    return `${this.renderRequests()}${await this.registry.metrics()}`;
  }

  /** The two per-request families, in the exposition format prom-client writes for its own. */
  private renderRequests(): string {
    const inst = `instance_id="${label(this.instance)}"`;
    const out: string[] = [
      '# HELP http_requests_total HTTP requests by route, method and status.',
      '# TYPE http_requests_total counter',
    ];
    for (const [key, n] of this.requests) {
      const [method, route, status] = key.split('\u0000');
      out.push(
        `http_requests_total{${inst},method="${label(method!)}",route="${label(route!)}",status="${status}"} ${n}`,
      );
    }
    out.push(
      '',
      '# HELP http_request_duration_seconds Time from request to response.',
      '# TYPE http_request_duration_seconds histogram',
    );
    for (const [route, h] of this.latency) {
      const r = `${inst},route="${label(route)}"`;
      let cumulative = 0;
      BUCKETS.forEach((b, i) => {
        cumulative += h.counts[i]!;
        out.push(`http_request_duration_seconds_bucket{le="${b}",${r}} ${cumulative}`);
      });
      out.push(`http_request_duration_seconds_bucket{le="+Inf",${r}} ${h.count}`);
      out.push(`http_request_duration_seconds_sum{${r}} ${h.sum}`);
      out.push(`http_request_duration_seconds_count{${r}} ${h.count}`);
    }
    return `${out.join('\n')}\n\n`;
  }
}
