import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Metrics } from '../../src/app/metrics.ts';

/** The value of the one sample line that starts with `prefix` (name and labels). */
function sample(text: string, prefix: string): string {
  const lines = text.split('\n').filter((l) => l.startsWith(`${prefix} `));
  assert.equal(lines.length, 1, `one line for ${prefix}`);
  return lines[0]!.slice(prefix.length + 1);
}

describe('metrics', () => {
  it('counts requests by method, route and status', async () => {
    const m = new Metrics('app-1');
    m.request('GET', '/get', 200, 0.002);
    m.request('GET', '/get', 200, 0.003);
    m.request('POST', '/add', 303, 0.01);
    m.request('GET', '/get', 503, 0.2);
    const text = await m.render();
    const inst = 'instance_id="app-1"';
    assert.equal(sample(text, `http_requests_total{${inst},method="GET",route="/get",status="200"}`), '2');
    assert.equal(sample(text, `http_requests_total{${inst},method="POST",route="/add",status="303"}`), '1');
    assert.equal(sample(text, `http_requests_total{${inst},method="GET",route="/get",status="503"}`), '1');
    assert.ok(text.endsWith('\n'));
    assert.ok(!text.endsWith('\n\n'));
    assert.match(m.contentType, /^text\/plain; version=0\.0\.4/);
  });

  it('renders cumulative histogram buckets, with +Inf, sum and count per route', async () => {
    const m = new Metrics('i');
    // 0.001 is on a bucket's bound (le: less or equal), 0.003 falls in 0.005, 20 in none but +Inf.
    for (const s of [0.001, 0.003, 0.003, 0.3, 20]) m.request('GET', '/get', 200, s);
    const text = await m.render();
    const b = (le: string) =>
      sample(text, `http_request_duration_seconds_bucket{le="${le}",instance_id="i",route="/get"}`);
    assert.equal(b('0.001'), '1');
    assert.equal(b('0.0025'), '1');
    assert.equal(b('0.005'), '3');
    assert.equal(b('0.25'), '3');
    assert.equal(b('0.5'), '4');
    assert.equal(b('10'), '4');
    assert.equal(b('+Inf'), '5');
    assert.equal(sample(text, 'http_request_duration_seconds_count{instance_id="i",route="/get"}'), '5');
    assert.equal(
      Number(sample(text, 'http_request_duration_seconds_sum{instance_id="i",route="/get"}')).toFixed(3),
      '20.307',
    );
    // Every bucket of the histogram is listed, in increasing order of bound.
    const bounds = text
      .split('\n')
      .filter((l) => l.startsWith('http_request_duration_seconds_bucket{'))
      .map((l) => /le="([^"]+)"/.exec(l)![1]);
    assert.deepEqual(bounds, [
      '0.001',
      '0.0025',
      '0.005',
      '0.01',
      '0.025',
      '0.05',
      '0.1',
      '0.25',
      '0.5',
      '1',
      '2.5',
      '5',
      '10',
      '+Inf',
    ]);
  });

  it('keeps one histogram per route', async () => {
    const m = new Metrics('i');
    m.request('GET', '/a', 200, 0.001);
    m.request('POST', '/b', 200, 1);
    m.request('GET', '/b', 200, 1);
    const text = await m.render();
    assert.equal(sample(text, 'http_request_duration_seconds_count{instance_id="i",route="/a"}'), '1');
    assert.equal(sample(text, 'http_request_duration_seconds_count{instance_id="i",route="/b"}'), '2');
    assert.equal(
      sample(text, 'http_request_duration_seconds_bucket{le="0.5",instance_id="i",route="/b"}'),
      '0',
    );
    assert.equal(
      sample(text, 'http_request_duration_seconds_bucket{le="1",instance_id="i",route="/b"}'),
      '2',
    );
  });

  it('escapes label values (backslash, quote, newline)', async () => {
    const m = new Metrics('x"y\\z\nw');
    m.request('GET', 'a"b\\c\nd', 200, 0.001);
    const text = await m.render();
    const inst = 'instance_id="x\\"y\\\\z\\nw"';
    assert.equal(
      sample(text, `http_requests_total{${inst},method="GET",route="a\\"b\\\\c\\nd",status="200"}`),
      '1',
    );
    assert.equal(sample(text, `http_request_duration_seconds_count{${inst},route="a\\"b\\\\c\\nd"}`), '1');
  });

  it('counts Redis errors, refusals and the plain counters', async () => {
    const m = new Metrics('i');
    m.redisError('read');
    m.redisError('read');
    m.redisError('write');
    m.loginRefused('pair');
    m.loginRefused('pair');
    m.loginRefused('email');
    m.registrationRefused('busy');
    const plain = {
      sessionsCreated: 4,
      replicaReads: 5,
      masterConnections: 6,
      storeFull: 7,
      passwordChecks: 8,
    } as const;
    for (const [which, n] of Object.entries(plain))
      for (let i = 0; i < n; i++) m.count(which as keyof typeof plain);
    const text = await m.render();
    const inst = 'instance_id="i"';
    assert.equal(sample(text, `redis_errors_total{${inst},where="read"}`), '2');
    assert.equal(sample(text, `redis_errors_total{${inst},where="write"}`), '1');
    assert.equal(sample(text, `login_refused_total{${inst},reason="pair"}`), '2');
    assert.equal(sample(text, `login_refused_total{${inst},reason="email"}`), '1');
    assert.equal(sample(text, `registration_refused_total{${inst},reason="busy"}`), '1');
    assert.equal(sample(text, `sessions_created_total{${inst}}`), '4');
    assert.equal(sample(text, `redis_replica_reads_total{${inst}}`), '5');
    assert.equal(sample(text, `redis_master_connections_total{${inst}}`), '6');
    assert.equal(sample(text, `redis_store_full_total{${inst}}`), '7');
    assert.equal(sample(text, `login_password_checks_total{${inst}}`), '8');
    for (const name of [
      'http_requests_total',
      'redis_errors_total',
      'sessions_created_total',
      'redis_replica_reads_total',
      'redis_master_connections_total',
      'redis_store_full_total',
      'login_password_checks_total',
      'login_refused_total',
      'registration_refused_total',
    ]) {
      assert.match(text, new RegExp(`^# TYPE ${name} counter$`, 'm'));
      assert.match(text, new RegExp(`^# HELP ${name} \\S`, 'm'));
    }
    assert.match(text, /^# TYPE http_request_duration_seconds histogram$/m);
  });

  it('reads gauges when rendering, not when they are declared', async () => {
    const m = new Metrics('i');
    let open = 1;
    m.gauge('open_streams', 'Open event streams.', () => open);
    open = 3;
    const text = await m.render();
    assert.match(text, /^# HELP open_streams Open event streams\.$/m);
    assert.match(text, /^# TYPE open_streams gauge$/m);
    assert.equal(sample(text, 'open_streams{instance_id="i"}'), '3');
    open = 0;
    assert.equal(sample(await m.render(), 'open_streams{instance_id="i"}'), '0');
  });

  it('renders a fresh registry with its counters at zero and no sample of maps', async () => {
    const text = await new Metrics('i').render();
    assert.equal(sample(text, 'sessions_created_total{instance_id="i"}'), '0');
    assert.ok(!text.includes('http_requests_total{'));
    assert.ok(!text.includes('http_request_duration_seconds_bucket{'));
    assert.ok(!text.includes('redis_errors_total{'));
    // prom-client's default Node metrics only when asked for.
    assert.ok(!text.includes('nodejs_gc_duration_seconds'));
    assert.ok(!text.includes('nodejs_eventloop_lag_p99_seconds'));
  });

  it('reads the process figures at the scrape: CPU seconds grow, memory and busy share are real', async () => {
    const m = new Metrics('i');
    const cpu = async () => Number(sample(await m.render(), 'process_cpu_seconds_total{instance_id="i"}'));
    const first = await cpu();
    const until = performance.now() + 30;
    while (performance.now() < until); // 30 ms of CPU
    // A turn of the event loop after the busy wait: its busy time is counted when the loop turns.
    await new Promise((resolve) => setImmediate(resolve));
    const second = await cpu();
    assert.ok(first > 0 && second >= first + 0.02, `${first} then ${second}`);
    const text = await m.render();
    assert.match(text, /^# TYPE process_cpu_seconds_total counter$/m);
    assert.ok(Number(sample(text, 'process_resident_memory_bytes{instance_id="i"}')) > 1e6);
    assert.ok(Number(sample(text, 'nodejs_heap_size_used_bytes{instance_id="i"}')) > 1e5);
    const busy = Number(sample(text, 'nodejs_eventloop_utilization{instance_id="i"}'));
    assert.ok(busy > 0 && busy <= 1, String(busy));
  });

  it("exports prom-client's default Node metrics with the instance label when asked", async () => {
    const text = await new Metrics('i', { node: true }).render();
    assert.match(text, /^# TYPE process_cpu_seconds_total counter$/m);
    assert.match(text, /^process_resident_memory_bytes\{instance_id="i"\} [1-9]\d*$/m);
    assert.match(text, /^# TYPE nodejs_eventloop_lag_p99_seconds gauge$/m);
    assert.match(text, /^# TYPE nodejs_gc_duration_seconds histogram$/m);
  });
});
