const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

class Histogram {
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

const label = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/**
 * A small Prometheus registry: a handful of counters and one histogram per route,
 * cheap enough to update on every request.
 */
export class Metrics {
  private readonly requests = new Map<string, number>();
  private readonly latency = new Map<string, Histogram>();
  private readonly redisErrors = new Map<string, number>();
  private readonly gauges: { name: string; help: string; read: () => number }[] = [];
  sessionsCreated = 0;
  replicaReads = 0;
  masterChanges = 0;
  /** Writes refused because Redis is full (maxmemory with noeviction). */
  storeFull = 0;
  /** Passwords checked at login (attempts the limits let through). */
  passwordChecks = 0;
  private readonly loginsRefused = new Map<string, number>();
  private readonly registrationsRefused = new Map<string, number>();

  loginRefused(reason: string): void {
    this.loginsRefused.set(reason, (this.loginsRefused.get(reason) ?? 0) + 1);
  }

  registrationRefused(reason: string): void {
    this.registrationsRefused.set(reason, (this.registrationsRefused.get(reason) ?? 0) + 1);
  }

  request(method: string, route: string, status: number, seconds: number): void {
    const key = `${method}\u0000${route}\u0000${status}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
    let h = this.latency.get(route);
    if (!h) {
      h = new Histogram();
      this.latency.set(route, h);
    }
    h.observe(seconds);
  }

  /** A value read when the metrics are rendered (nothing to update on the request path). */
  gauge(name: string, help: string, read: () => number): void {
    this.gauges.push({ name, help, read });
  }

  redisError(where: string): void {
    this.redisErrors.set(where, (this.redisErrors.get(where) ?? 0) + 1);
  }

  render(instance: string): string {
    const inst = `instance_id="${label(instance)}"`;
    const out: string[] = [
      '# HELP http_requests_total HTTP requests by route, method and status.',
      '# TYPE http_requests_total counter',
    ];
    for (const [key, n] of this.requests) {
      const [method, route, status] = key.split('\u0000');
      out.push(
        `http_requests_total{${inst},method="${method}",route="${label(route!)}",status="${status}"} ${n}`,
      );
    }
    out.push(
      '# HELP http_request_duration_seconds Time from request to response.',
      '# TYPE http_request_duration_seconds histogram',
    );
    for (const [route, h] of this.latency) {
      const r = `${inst},route="${label(route)}"`;
      let cumulative = 0;
      BUCKETS.forEach((b, i) => {
        cumulative += h.counts[i]!;
        out.push(`http_request_duration_seconds_bucket{${r},le="${b}"} ${cumulative}`);
      });
      out.push(`http_request_duration_seconds_bucket{${r},le="+Inf"} ${h.count}`);
      out.push(`http_request_duration_seconds_sum{${r}} ${h.sum}`);
      out.push(`http_request_duration_seconds_count{${r}} ${h.count}`);
    }
    out.push(
      '# HELP redis_errors_total Redis errors seen by this instance.',
      '# TYPE redis_errors_total counter',
    );
    for (const [where, n] of this.redisErrors) out.push(`redis_errors_total{${inst},where="${where}"} ${n}`);
    out.push(
      '# HELP sessions_created_total Sessions created (logins).',
      '# TYPE sessions_created_total counter',
      `sessions_created_total{${inst}} ${this.sessionsCreated}`,
      '# HELP redis_replica_reads_total Reads served by a replica because no master answered in time.',
      '# TYPE redis_replica_reads_total counter',
      `redis_replica_reads_total{${inst}} ${this.replicaReads}`,
      '# HELP redis_master_connections_total Connections made to a master (1 plus one per failover followed).',
      '# TYPE redis_master_connections_total counter',
      `redis_master_connections_total{${inst}} ${this.masterChanges}`,
      '# HELP redis_store_full_total Writes refused because Redis reached maxmemory.',
      '# TYPE redis_store_full_total counter',
      `redis_store_full_total{${inst}} ${this.storeFull}`,
      '# HELP login_password_checks_total Passwords checked at login (attempts the limits let through).',
      '# TYPE login_password_checks_total counter',
      `login_password_checks_total{${inst}} ${this.passwordChecks}`,
      '# HELP login_refused_total Login attempts refused before any check, by limit (pair, address, email).',
      '# TYPE login_refused_total counter',
    );
    for (const [reason, n] of this.loginsRefused)
      out.push(`login_refused_total{${inst},reason="${reason}"} ${n}`);
    out.push(
      '# HELP registration_refused_total Registrations refused before any hash, by cause (address, busy).',
      '# TYPE registration_refused_total counter',
    );
    for (const [reason, n] of this.registrationsRefused)
      out.push(`registration_refused_total{${inst},reason="${reason}"} ${n}`);
    for (const g of this.gauges)
      out.push(`# HELP ${g.name} ${g.help}`, `# TYPE ${g.name} gauge`, `${g.name}{${inst}} ${g.read()}`);
    return `${out.join('\n')}\n`;
  }
}
