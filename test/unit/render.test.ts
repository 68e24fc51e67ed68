// Over 300 lines: one topology rendered once; each renderer's output checked against it (20 cases).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { keys } from '../../src/ha/keys.ts';
import {
  ACL_RULES,
  APP_KEY_PATTERNS,
  aclPasswordHash,
  DEFAULT_USER,
  REDIS_USERS,
  SENTINEL_READER_RULES,
} from '../../src/ops/render/acl.ts';
import { DEFAULT_CONNECTIONS_PER_ADDRESS, renderHaproxyCfg } from '../../src/ops/render/haproxy.ts';
import { renderRedisConf } from '../../src/ops/render/redis.ts';
import { renderSentinelConf } from '../../src/ops/render/sentinel.ts';
import { defineTopology, portNames } from '../../src/ops/topology.ts';

const lines = (text: string) => text.split('\n').map((l) => l.trim());
const has = (text: string, line: string) =>
  assert.ok(lines(text).includes(line), `missing line "${line}" in:\n${text}`);
const hasNot = (text: string, re: RegExp) => assert.ok(!re.test(text), `unexpected ${re} in:\n${text}`);
/** Redis's glob for the key patterns used here (`*` only). */
const globMatch = (pattern: string, key: string) =>
  new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(key);

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
    assert.deepEqual(t.haproxy, {
      host: '127.0.0.1',
      httpPort: 8080,
      httpsPort: 8443,
      statsPort: 8404,
      redisPort: 6379,
    });
    assert.equal(t.masterName, 'mymaster');
    assert.equal(t.quorum, 2);
    assert.deepEqual([t.downAfterMs, t.failoverTimeoutMs, t.parallelSyncs], [2000, 3000, 1]);
    // Each Redis node and Sentinel on its own loopback address (a packet filter can partition them).
    assert.deepEqual(
      [...t.redis, ...t.sentinels].map((n) => n.host),
      ['127.0.0.11', '127.0.0.12', '127.0.0.13', '127.0.0.21', '127.0.0.22', '127.0.0.23'],
    );
    for (const n of t.apps) assert.equal(n.host, '127.0.0.1');
  });

  it('takes every port and host from overrides', () => {
    const ports = Object.fromEntries(portNames().map((k, i) => [k, 40000 + i]));
    const t = defineTopology({ ports, hosts: { 'redis-1': 'redis-master' }, host: 'node' });
    const all = [...t.redis, ...t.sentinels, ...t.apps].map((n) => n.port);
    all.push(t.haproxy.httpPort, t.haproxy.httpsPort, t.haproxy.statsPort, t.haproxy.redisPort);
    const m = t.monitoring;
    all.push(
      ...m.redisExporters.map((e) => e.port),
      m.sentinelExporterPort,
      m.prometheusPort,
      m.alertmanagerPort,
    );
    assert.deepEqual(all.sort(), Object.values(ports).sort());
    assert.equal(t.redis[0]!.host, 'redis-master');
    assert.equal(t.redis[1]!.host, 'node');
  });
});

describe('redis.conf', () => {
  const t = defineTopology({ hosts: { 'redis-1': 'redis-master', 'redis-2': 'redis-replica-1' } });
  const [master, replica] = [t.redis[0]!, t.redis[1]!];

  it('renders a master with durability and safety settings', () => {
    const conf = renderRedisConf(t, master, { dir: '/data/r1', users: undefined });
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
      'maxmemory 256mb',
      'maxmemory-policy noeviction',
      'enable-debug-command local',
      'protected-mode no',
      'daemonize no',
      'logfile ""',
    ])
      has(conf, line);
    hasNot(conf, /^replicaof/m);
    hasNot(conf, /requirepass|masterauth|^user /m);
    has(conf, 'masteruser replication');
  });

  it('renders a replica of the initial master, with an ACL user each and default off', () => {
    const users = {
      app: 'a-pw',
      replication: 'r-pw',
      sentinel: 's-pw',
      operator: 'o-pw',
      haproxy: 'h-pw',
      exporter: 'e-pw',
      backup: 'b-pw',
    };
    const conf = renderRedisConf(t, replica, { dir: '/d', users });
    has(conf, 'bind redis-replica-1');
    has(conf, 'replicaof redis-master 6380');
    has(conf, 'masteruser replication');
    has(conf, 'masterauth r-pw');
    hasNot(conf, /requirepass/);
    has(conf, 'user default off resetpass ~* &* +@all');
    assert.equal(DEFAULT_USER[0], 'off');
    for (const u of REDIS_USERS) {
      // Only a hash of each user's password is in the file.
      has(conf, `user ${u} on ${aclPasswordHash(users[u])} ${ACL_RULES[u].join(' ')}`);
      hasNot(conf, new RegExp(`>${users[u]}`));
    }
  });

  it('gives the app only its own keys and no administrative command', () => {
    const app = ACL_RULES.app;
    for (const key of Object.values(keys).map((k) => k('a{b}*:c@example.com', '10.0.0.1'))) {
      assert.ok(
        APP_KEY_PATTERNS.some((p) => globMatch(p, key)),
        `${key}: no key pattern of the app user matches it`,
      );
    }
    assert.ok(app.includes('-@all'), 'nothing but what is listed');
    for (const cmd of [
      'config',
      'flushall',
      'flushdb',
      'keys',
      'debug',
      'shutdown',
      'script',
      'module',
      'migrate',
      'acl',
      'replicaof',
      'slaveof',
      // No Lua of its own: it calls the functions the operator loads (FCALL), nothing else.
      'eval',
      'evalsha',
      'eval_ro',
      'evalsha_ro',
      'function',
      'fcall_ro',
    ])
      assert.ok(!app.some((r) => r.startsWith(`+${cmd}`) || r.startsWith('+@')), `app may run ${cmd}`);
    assert.ok(app.includes('+fcall'));
    assert.deepEqual(ACL_RULES.haproxy, ['-@all', '+ping', '+info', '+quit']);
    assert.deepEqual(ACL_RULES.replication, ['-@all', '+psync', '+sync', '+replconf', '+ping']);
  });

  it("sets the topology's maxmemory", () => {
    const big = defineTopology({ maxMemory: '1GB' });
    has(renderRedisConf(big, big.redis[0]!, { dir: '/d', users: undefined }), 'maxmemory 1gb');
    assert.throws(() => defineTopology({ maxMemory: '12 parsecs' }), /REDIS_MAXMEMORY: must be a size/);
  });

  it('follows an explicit master (a node rejoining), or none', () => {
    const rejoin = renderRedisConf(t, master, { dir: '/d', users: undefined, replicaOf: replica });
    has(rejoin, 'replicaof redis-replica-1 6381');
    hasNot(renderRedisConf(t, replica, { dir: '/d', users: undefined, replicaOf: null }), /^replicaof/m);
  });
});

describe('sentinel.conf', () => {
  const t = defineTopology({
    hosts: { 'redis-1': 'redis-master' },
    downAfterMs: 2500,
    failoverTimeoutMs: 4000,
  });

  it('monitors the master with the quorum and timings of the topology', () => {
    const conf = renderSentinelConf(t, t.sentinels[1]!, { dir: '/s2', authPass: 'pw', requirePass: 'spw' });
    for (const line of [
      'port 26381',
      'dir /s2',
      'sentinel monitor mymaster redis-master 6380 2',
      'sentinel down-after-milliseconds mymaster 2500',
      'sentinel failover-timeout mymaster 4000',
      'sentinel parallel-syncs mymaster 1',
      'sentinel auth-user mymaster sentinel',
      'sentinel auth-pass mymaster pw',
      'requirepass spw',
      'sentinel sentinel-pass spw',
    ])
      has(conf, line);
  });

  it("has the apps' read-only user: only the hash of its password locally, the password as given in compose", () => {
    const rules = SENTINEL_READER_RULES.join(' ');
    const opts = { dir: '/s', authPass: 'pw', requirePass: 'spw', readerPass: 'rpw' };
    const local = renderSentinelConf(t, t.sentinels[0]!, opts);
    has(local, `user reader on ${aclPasswordHash('rpw')} ${rules}`);
    hasNot(local, /rpw/);
    has(renderSentinelConf(t, t.sentinels[0]!, { ...opts, hostnames: true }), `user reader on >rpw ${rules}`);
    // Finding the master and following failovers; never reconfiguring a Sentinel.
    for (const r of [
      '+sentinel|get-master-addr-by-name',
      '+sentinel|replicas',
      '+sentinel|sentinels',
      '+subscribe',
    ])
      assert.ok(SENTINEL_READER_RULES.includes(r as never), r);
    assert.equal(SENTINEL_READER_RULES[1], '-@all');
    for (const r of SENTINEL_READER_RULES)
      assert.doesNotMatch(
        r,
        /\+@|\+sentinel$|\|(set|remove|monitor|failover|reset|config|flushconfig)$|acl|publish/,
        r,
      );
  });

  it('has no password line without passwords, and the same monitor line on every Sentinel', () => {
    const confs = t.sentinels.map((s) =>
      renderSentinelConf(t, s, { dir: '/s', authPass: undefined, requirePass: undefined }),
    );
    for (const c of confs) hasNot(c, /auth-pass|auth-user|requirepass|sentinel-pass/);
    const monitors = confs.map((c) => lines(c).find((l) => l.startsWith('sentinel monitor')));
    assert.equal(new Set(monitors).size, 1);
  });
});

describe('haproxy.cfg', () => {
  const t = defineTopology({ hosts: { 'app-1': 'web-1', 'redis-2': 'redis-replica-1' } });
  const local = renderHaproxyCfg(t, { target: 'local', password: 'pw' });

  it('balances the apps with health checks, the client address and safe retries', () => {
    for (const line of [
      'mode http',
      'timeout connect 2s',
      'timeout client 30s',
      'timeout server 30s',
      'timeout http-keep-alive 10s',
      'bind 127.0.0.1:8080',
      'http-request set-header X-Forwarded-For %[src]',
      'balance roundrobin',
      'option httpchk GET /readyz',
      'http-check expect status 200',
      'retries 3',
      'option redispatch 1',
      'retry-on conn-failure empty-response',
      'http-request disable-l7-retry unless idempotent',
      'server app-1 web-1:3001',
      'server app-2 127.0.0.1:3002',
    ])
      has(local, line);
    assert.match(local, /acl idempotent method GET HEAD OPTIONS PUT DELETE TRACE/);
    assert.doesNotMatch(local.match(/acl idempotent .*/)![0], /POST|PATCH/);
    // A replay 30 s late would write an old cart over newer acknowledged writes.
    hasNot(local, /response-timeout/);
    assert.match(local, /default-server check inter 1s .*fall 2 rise 2/);
    hasNot(local, /init-addr/);
  });

  it('keeps its idle timeout below the app keepAliveTimeout (65 s)', () => {
    const s = Number(/timeout http-keep-alive (\d+)s/.exec(local)![1]);
    assert.ok(s < 65);
  });

  /** The lines of one section (`frontend http`, `backend apps`), up to the next one. */
  const section = (cfg: string, head: string) => {
    const all = cfg.split('\n');
    const from = all.indexOf(head);
    assert.ok(from >= 0, `no section ${head}`);
    const to = all.findIndex((l, i) => i > from && /^\S/.test(l));
    return all.slice(from + 1, to < 0 ? undefined : to).map((l) => l.trim());
  };

  it('cuts slow clients and caps the connections of one address on both HTTP fronts', () => {
    has(local, 'timeout http-request 10s');
    has(local, 'stick-table type ipv6 size 100k expire 30s store conn_cur');
    for (const front of ['frontend http', 'frontend operator']) {
      const lines = section(local, front);
      const track = lines.indexOf('tcp-request connection track-sc0 src,ipmask(32,64) table per_address');
      assert.ok(track >= 0, front);
      assert.equal(
        lines[track + 1],
        `tcp-request connection reject if { sc_conn_cur(0) gt "${DEFAULT_CONNECTIONS_PER_ADDRESS}" }`,
      );
    }
    assert.ok(DEFAULT_CONNECTIONS_PER_ADDRESS > 32 + 16, 'the bench and the chaos load stay under the cap');
    const small = renderHaproxyCfg(t, { target: 'local', password: undefined, connectionsPerAddress: 3 });
    has(small, 'tcp-request connection reject if { sc_conn_cur(0) gt "3" }');
    const fromEnv = renderHaproxyCfg(t, {
      target: 'compose',
      password: undefined,
      connectionsPerAddress: { env: 'CAP', default: 64 },
    });
    // biome-ignore lint/suspicious/noTemplateCurlyInString: HAProxy expands the variable
    has(fromEnv, 'tcp-request connection reject if { sc_conn_cur(0) gt "${CAP-64}" }');
  });

  it('makes every request id itself, replacing the one the client sent', () => {
    for (const front of ['frontend http', 'frontend operator']) {
      const lines = section(local, front);
      for (const line of [
        'unique-id-format %[uuid()]',
        'http-request set-header X-Request-Id %[unique-id]',
        'http-response set-header X-Request-Id %[unique-id]',
        'http-request set-header X-Forwarded-For %[src]',
      ])
        assert.ok(lines.includes(line), `${front}: ${line}`);
    }
  });

  it("answers the operator's paths 404 on the public front, whatever their case or encoding", () => {
    const lines = section(local, 'frontend http');
    assert.ok(lines.includes('acl operator_path path,url_dec -i -m str /metrics /topology /api/topology'));
    assert.ok(lines.includes('acl operator_path path,url_dec -i -m beg /metrics/ /topology/ /api/topology/'));
    const deny = lines.indexOf(
      'http-request return status 404 content-type text/plain string "not found" if operator_path',
    );
    assert.ok(deny >= 0 && deny < lines.indexOf('default_backend apps'));
  });

  it("puts stats, topology and each app's metrics behind the operator's login on the stats port", () => {
    const cfg = renderHaproxyCfg(t, { target: 'local', password: undefined, operatorPassword: 'op"pw' });
    has(cfg, 'user operator insecure-password "op\\"pw"');
    const lines = section(cfg, 'frontend operator');
    assert.equal(lines[0], 'bind 127.0.0.1:8404');
    const auth = lines.indexOf('http-request auth realm redis-ha-stack unless operator');
    assert.ok(lines.includes('acl operator http_auth(operators)') && auth > 0);
    assert.ok(auth < lines.indexOf('stats enable'), 'the login comes before the stats page');
    for (const line of ['stats uri /stats', 'stats hide-version', 'use_backend apps if topology'])
      assert.ok(lines.includes(line), line);
    assert.ok(!lines.some((l) => /stats (admin|auth)/.test(l)), 'no admin actions, one userlist');
    // The page (and the apps reading it) see the fronts, the apps and the Redis front only.
    assert.deepEqual(
      lines.filter((l) => l.startsWith('stats scope ')),
      ['http', 'apps', 'operator', 'redis', 'redis_master'].map((p) => `stats scope ${p}`),
    );
    for (const app of t.apps) {
      assert.ok(lines.includes(`use_backend metrics-${app.name} if { path /metrics/${app.name} }`));
      assert.deepEqual(section(cfg, `backend metrics-${app.name}`).slice(0, 3), [
        'source 127.0.0.80',
        'http-request set-path /metrics',
        `server ${app.name} ${app.host}:${app.port}`,
      ]);
    }
    assert.equal(lines.at(-1) === '' ? lines.at(-2) : lines.at(-1), 'default_backend not_found');
    // Without a password nobody logs in: the userlist has no user.
    assert.deepEqual(section(local, 'userlist operators').filter(Boolean), []);
    const env = renderHaproxyCfg(t, {
      target: 'compose',
      password: undefined,
      operatorPassword: { env: 'OP' },
    });
    // biome-ignore lint/suspicious/noTemplateCurlyInString: HAProxy expands the variable
    has(env, 'user operator insecure-password "${OP}"');
  });

  it('serves stats and routes the Redis front to the master only', () => {
    for (const line of [
      'bind 127.0.0.1:8404',
      'stats uri /stats',
      'stats refresh 2s',
      'stats hide-version',
      'bind 127.0.0.1:6379',
      'mode tcp',
      'option tcpka',
      'timeout client 1h',
      'timeout server 1h',
      'option tcp-check',
      'tcp-check send "AUTH haproxy pw\\r\\n"',
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
    const auth = lines(local).indexOf('tcp-check send "AUTH haproxy pw\\r\\n"');
    assert.ok(auth < lines(local).indexOf('tcp-check send "PING\\r\\n"'), 'AUTH comes before PING');
  });

  it('omits AUTH without a password and escapes quotes in one', () => {
    hasNot(renderHaproxyCfg(t, { target: 'local', password: undefined }), /AUTH/);
    assert.match(renderHaproxyCfg(t, { target: 'local', password: 'a"b' }), /AUTH haproxy a\\"b/);
  });

  it('resolves service names at run time in the compose variant only', () => {
    const compose = renderHaproxyCfg(t, { target: 'compose', password: undefined });
    assert.match(compose, /default-server init-addr last,libc,none/);
    has(compose, 'bind *:8080');
    has(compose, 'bind *:8404');
    has(compose, 'bind *:6379');
  });

  it('takes the password from an environment variable when asked, for HAProxy to expand', () => {
    const cfg = renderHaproxyCfg(t, { target: 'compose', password: { env: 'REDIS_HAPROXY_PASSWORD' } });
    // biome-ignore lint/suspicious/noTemplateCurlyInString: HAProxy expands the variable
    has(cfg, 'tcp-check send "AUTH haproxy ${REDIS_HAPROXY_PASSWORD}\\r\\n"');
  });
});
