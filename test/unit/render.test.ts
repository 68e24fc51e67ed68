import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderHaproxyCfg } from '../../src/stack/render/haproxy.ts';
import { renderRedisConf } from '../../src/stack/render/redis.ts';
import { renderSentinelConf } from '../../src/stack/render/sentinel.ts';
import { DEFAULT_PORTS, defineTopology } from '../../src/stack/topology.ts';

const lines = (text: string) => text.split('\n').map((l) => l.trim());
const has = (text: string, line: string) =>
  assert.ok(lines(text).includes(line), `missing line "${line}" in:\n${text}`);
const hasNot = (text: string, re: RegExp) => assert.ok(!re.test(text), `unexpected ${re} in:\n${text}`);

describe('topology', () => {
  it('has the documented defaults', () => {
    const t = defineTopology();
    assert.deepEqual(
      t.redis.map((r) => [r.name, r.port, r.initialRole]),
      [
        ['redis-1', 6380, 'master'],
        ['redis-2', 6381, 'replica'],
        ['redis-3', 6382, 'replica'],
      ],
    );
    assert.deepEqual(
      t.sentinels.map((s) => [s.name, s.port]),
      [
        ['sentinel-1', 26380],
        ['sentinel-2', 26381],
        ['sentinel-3', 26382],
      ],
    );
    assert.deepEqual(
      t.apps.map((a) => [a.name, a.port]),
      [
        ['app-1', 3001],
        ['app-2', 3002],
      ],
    );
    assert.deepEqual(t.haproxy, { host: '127.0.0.1', httpPort: 8080, statsPort: 8404, redisPort: 6379 });
    assert.equal(t.masterName, 'mymaster');
    assert.equal(t.quorum, 2);
    assert.deepEqual([t.downAfterMs, t.failoverTimeoutMs, t.parallelSyncs], [1500, 3000, 1]);
    // Each Redis node and Sentinel on its own loopback address (a packet filter can partition them).
    assert.deepEqual(
      [...t.redis, ...t.sentinels].map((n) => n.host),
      ['127.0.0.11', '127.0.0.12', '127.0.0.13', '127.0.0.21', '127.0.0.22', '127.0.0.23'],
    );
    for (const n of t.apps) assert.equal(n.host, '127.0.0.1');
  });

  it('takes every port and host from overrides', () => {
    const ports = Object.fromEntries(Object.keys(DEFAULT_PORTS).map((k, i) => [k, 40000 + i]));
    const t = defineTopology({ ports, hosts: { 'redis-1': 'redis-master' }, host: 'node' });
    const all = [...t.redis, ...t.sentinels, ...t.apps].map((n) => n.port);
    all.push(t.haproxy.httpPort, t.haproxy.statsPort, t.haproxy.redisPort);
    assert.deepEqual(all.sort(), Object.values(ports).sort());
    assert.equal(t.redis[0]!.host, 'redis-master');
    assert.equal(t.redis[1]!.host, 'node');
  });
});

describe('redis.conf', () => {
  const t = defineTopology({ hosts: { 'redis-1': 'redis-master', 'redis-2': 'redis-replica-1' } });
  const [master, replica] = [t.redis[0]!, t.redis[1]!];

  it('renders a master with durability and safety settings', () => {
    const conf = renderRedisConf(t, master, { dir: '/data/r1', password: undefined });
    for (const line of [
      'bind redis-master',
      'port 6380',
      'dir /data/r1',
      'appendonly yes',
      'appendfsync everysec',
      'min-replicas-to-write 1',
      'min-replicas-max-lag 5',
      'repl-diskless-sync yes',
      'repl-diskless-sync-delay 0',
      'maxmemory-policy noeviction',
      'enable-debug-command local',
      'protected-mode no',
      'daemonize no',
      'logfile ""',
    ])
      has(conf, line);
    hasNot(conf, /^replicaof/m);
    hasNot(conf, /requirepass|masterauth/);
  });

  it('renders a replica of the initial master, with the password', () => {
    const conf = renderRedisConf(t, replica, { dir: '/d', password: 's3cret' });
    has(conf, 'bind redis-replica-1');
    has(conf, 'replicaof redis-master 6380');
    has(conf, 'requirepass s3cret');
    has(conf, 'masterauth s3cret');
  });

  it('follows an explicit master (a node rejoining), or none', () => {
    const rejoin = renderRedisConf(t, master, { dir: '/d', password: undefined, replicaOf: replica });
    has(rejoin, 'replicaof redis-replica-1 6381');
    hasNot(renderRedisConf(t, replica, { dir: '/d', password: undefined, replicaOf: null }), /^replicaof/m);
  });
});

describe('sentinel.conf', () => {
  const t = defineTopology({
    hosts: { 'redis-1': 'redis-master' },
    downAfterMs: 1500,
    failoverTimeoutMs: 4000,
  });

  it('monitors the master with the quorum and timings of the topology', () => {
    const conf = renderSentinelConf(t, t.sentinels[1]!, { dir: '/s2', password: 'pw' });
    for (const line of [
      'port 26381',
      'dir /s2',
      'sentinel monitor mymaster redis-master 6380 2',
      'sentinel down-after-milliseconds mymaster 1500',
      'sentinel failover-timeout mymaster 4000',
      'sentinel parallel-syncs mymaster 1',
      'sentinel auth-pass mymaster pw',
    ])
      has(conf, line);
  });

  it('has no auth-pass without a password, and the same monitor line on every Sentinel', () => {
    const confs = t.sentinels.map((s) => renderSentinelConf(t, s, { dir: '/s', password: undefined }));
    for (const c of confs) hasNot(c, /auth-pass/);
    const monitors = confs.map((c) => lines(c).find((l) => l.startsWith('sentinel monitor')));
    assert.equal(new Set(monitors).size, 1);
  });
});

describe('haproxy.cfg', () => {
  const t = defineTopology({ hosts: { 'app-1': 'web-1', 'redis-2': 'redis-replica-1' } });
  const local = renderHaproxyCfg(t, { target: 'local', password: 'pw' });

  it('balances the apps with health checks, forwardfor and safe retries', () => {
    for (const line of [
      'mode http',
      'timeout connect 2s',
      'timeout client 30s',
      'timeout server 30s',
      'timeout http-keep-alive 10s',
      'bind 127.0.0.1:8080',
      'option forwardfor',
      'balance roundrobin',
      'option httpchk GET /readyz',
      'http-check expect status 200',
      'retries 3',
      'option redispatch 1',
      'retry-on conn-failure empty-response response-timeout',
      'http-request disable-l7-retry unless idempotent',
      'server app-1 web-1:3001',
      'server app-2 127.0.0.1:3002',
    ])
      has(local, line);
    assert.match(local, /acl idempotent method GET HEAD OPTIONS PUT DELETE TRACE/);
    assert.doesNotMatch(local.match(/acl idempotent .*/)![0], /POST|PATCH/);
    assert.match(local, /default-server check inter 1s .*fall 2 rise 2/);
    hasNot(local, /init-addr/);
  });

  it('keeps its idle timeout below the app keepAliveTimeout (65 s)', () => {
    const s = Number(/timeout http-keep-alive (\d+)s/.exec(local)![1]);
    assert.ok(s < 65);
  });

  it('serves stats and routes the Redis front to the master only', () => {
    for (const line of [
      'bind 127.0.0.1:8404',
      'stats uri /stats',
      'stats refresh 2s',
      'bind 127.0.0.1:6379',
      'mode tcp',
      'option tcpka',
      'timeout client 1h',
      'timeout server 1h',
      'option tcp-check',
      'tcp-check send "AUTH pw\\r\\n"',
      'tcp-check send "PING\\r\\n"',
      'tcp-check expect string +PONG',
      'tcp-check send "INFO replication\\r\\n"',
      'tcp-check expect string role:master',
      'tcp-check send "QUIT\\r\\n"',
      'default-server check inter 1s fall 1 rise 2 on-marked-down shutdown-sessions',
      'server redis-1 127.0.0.11:6380',
      'server redis-2 redis-replica-1:6381',
    ])
      has(local, line);
    const auth = lines(local).indexOf('tcp-check send "AUTH pw\\r\\n"');
    assert.ok(auth < lines(local).indexOf('tcp-check send "PING\\r\\n"'), 'AUTH comes before PING');
  });

  it('omits AUTH without a password and escapes quotes in one', () => {
    hasNot(renderHaproxyCfg(t, { target: 'local', password: undefined }), /AUTH/);
    assert.match(renderHaproxyCfg(t, { target: 'local', password: 'a"b' }), /AUTH a\\"b/);
  });

  it('resolves service names at run time in the compose variant only', () => {
    const compose = renderHaproxyCfg(t, { target: 'compose', password: undefined });
    assert.match(compose, /default-server init-addr last,libc,none/);
    has(compose, 'bind *:8080');
    has(compose, 'bind *:8404');
    has(compose, 'bind *:6379');
  });

  it('takes the password from an environment variable when asked, for HAProxy to expand', () => {
    const cfg = renderHaproxyCfg(t, { target: 'compose', password: { env: 'REDIS_PASSWORD' } });
    // biome-ignore lint/suspicious/noTemplateCurlyInString: HAProxy expands the variable
    has(cfg, 'tcp-check send "AUTH ${REDIS_PASSWORD}\\r\\n"');
  });
});
