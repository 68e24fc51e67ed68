import { PROXY_SOURCE_ADDRESS, type Topology } from '../topology.ts';

export interface HaproxyRenderOptions {
  target: 'local' | 'compose';
  /**
   * The `haproxy` ACL user's password for the master check: a value, or the name of an environment
   * variable that HAProxy expands when it reads the file (compose: the secret never lands in a
   * committed file).
   */
  password: string | { env: string } | undefined;
  /** Address HAProxy binds: the topology's host locally, every address in a container. */
  bindHost?: string;
  /**
   * The password of user `operator` on the operator front (stats, topology, metrics): a value, or
   * an environment variable HAProxy expands. Without one nobody passes the front's login.
   */
  operatorPassword?: string | { env: string } | undefined;
  /**
   * How many connections one client address may hold open at once on the HTTP fronts (default
   * DEFAULT_CONNECTIONS_PER_ADDRESS); `env`: a variable HAProxy reads, with this default.
   */
  connectionsPerAddress?: number | { env: string; default: number };
  /**
   * For reloads without a lost request (local mode, HAProxy run with -W): an admin socket (a file
   * 0600 in the private run directory) to save the servers' states before a reload, and the file the
   * new worker loads them from, so a Redis node known down is not routed to while it is checked again.
   */
  reload?: { socket: string; stateFile: string };
  /**
   * The address HAProxy's connections to the apps leave from: the one address whose
   * `X-Forwarded-For` the apps believe (their TRUST_PROXY). Locally PROXY_SOURCE_ADDRESS, so that a
   * local client reaching an app's port from 127.0.0.1 is not taken for the proxy; in compose the
   * container's fixed address, set by the network, not here.
   */
  appSource?: string | undefined;
  /**
   * TLS (docs/tls.md): the site on HTTPS (its HTTP port redirects there), the operator front and the
   * Redis front on TLS, and TLS to the Redis nodes with `crt` shown to them and their certificates
   * checked against `ca`. `pem`: HAProxy's certificate and key in one file (compose: its certificate,
   * the key beside it with the extension `.key`). `publicHttpsPort`: where clients reach HTTPS when
   * it is not the port HAProxy binds (compose publishes 8443 on 443); the redirect names it.
   */
  tls?: { pem: string; ca: string; publicHttpsPort?: number } | undefined;
  /**
   * HTTPS to the apps (hosts: HAProxy reaches the apps of other hosts over the network), each app's
   * certificate checked against `ca` and for its name; the health checks too.
   */
  appTls?: { ca: string } | undefined;
}

/** HSTS: a browser that saw the site on HTTPS goes there by itself for two years. */
export const HSTS = 'max-age=63072000';

/**
 * What the public front answers while no app may take a request: during a restore (the operator
 * set every app to maintenance, ops/backup/maintenance.ts) or while every app is down. One line of
 * HTML without double quotes (HAProxy's quoted string), a 503 that asks the client to come back.
 */
export const MAINTENANCE_PAGE =
  "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Back in a minute</title></head><body><h1>Back in a minute</h1><p>The shop is being restored or restarted. Your cart is safe: please try again in a minute.</p></body></html>";

/** How long a worker left by a reload may finish its connections (streams, the Redis front). */
export const HARD_STOP_AFTER = '30s';

/** Above the bench (32 connections) and the chaos load (16 users) from one address. */
export const DEFAULT_CONNECTIONS_PER_ADDRESS = 64;

/**
 * The operator's views on the public front: answered 404 there (the app also refuses them to a
 * request without the operator's credentials). Matched on the decoded path in any case, as the
 * app's router may decode `%6d` into `m`.
 */
export const OPERATOR_PATHS = {
  exact: ['/metrics', '/topology', '/api/topology'],
  prefix: ['/metrics/', '/topology/', '/api/topology/'],
};

/**
 * One line per request, as `option httplog` without what may hold a secret: no captured headers or
 * cookies, and the path without its query string. The request id (%ID) is the one the apps log.
 */
export const REQUEST_LOG_FORMAT =
  '%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %ID %{+Q}HM %{+Q}HPO';

/** A value inside a double-quoted HAProxy argument. */
const quoted = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');

/**
 * haproxy.cfg: round robin over the apps with health checks on /readyz, a stats page, and a TCP
 * front that routes only to the Redis node reporting role:master with at least one replica attached
 * (an isolated old master loses its replicas and drops out).
 */
export function renderHaproxyCfg(t: Topology, opts: HaproxyRenderOptions): string {
  const bind = opts.bindHost ?? (opts.target === 'compose' ? '*' : t.haproxy.host);
  // In compose these are the ports inside the container; compose.ts publishes them on the host.
  const ports = { http: t.haproxy.httpPort, stats: t.haproxy.statsPort, redis: t.haproxy.redisPort };
  const password =
    typeof opts.password === 'object' ? `\${${opts.password.env}}` : opts.password && quoted(opts.password);
  // The check logs in as the `haproxy` ACL user (PING and INFO only; see render/acl.ts).
  const auth = password
    ? [`  tcp-check send "AUTH haproxy ${password}\\r\\n"`, '  tcp-check expect string +OK']
    : [];
  const env = (v: { env: string }) => `\${${v.env}}`;
  const operatorPassword =
    typeof opts.operatorPassword === 'object'
      ? env(opts.operatorPassword)
      : opts.operatorPassword && quoted(opts.operatorPassword);
  const limit = opts.connectionsPerAddress ?? DEFAULT_CONNECTIONS_PER_ADDRESS;
  // What a TLS front's `bind` adds: its certificate (TLS 1.2 at least, HAProxy's default).
  const tls = opts.tls ? `ssl crt ${opts.tls.pem}` : undefined;
  const publicHttps = opts.tls?.publicHttpsPort ?? t.haproxy.httpsPort;
  const redirectPort = publicHttps === 443 ? '' : `:${publicHttps}`;
  const perAddress = typeof limit === 'object' ? `\${${limit.env}-${limit.default}}` : String(limit);
  // Both HTTP fronts: one table of client addresses, so the limit holds across the two. An IPv6
  // client is counted by its /64, what one host is commonly given: its other addresses are the same one.
  const guard = [
    '  tcp-request connection track-sc0 src,ipmask(32,64) table per_address',
    `  tcp-request connection reject if { sc_conn_cur(0) gt "${perAddress}" }`,
    // The whole request, body included, must arrive within `timeout http-request`: a client sending
    // its body a byte at a time is cut (408) as one sending its headers slowly is.
    '  option http-buffer-request',
    // The client's address is the connection's: whatever X-Forwarded-For it sent is replaced.
    '  http-request set-header X-Forwarded-For %[src]',
    // The front makes every request's id (a UUID: short and plain), replacing whatever the client
    // sent, so the apps' log lines of one request share an id nobody outside chose.
    '  unique-id-format %[uuid()]',
    '  http-request set-header X-Request-Id %[unique-id]',
    '  http-response set-header X-Request-Id %[unique-id]',
    `  log-format "${REQUEST_LOG_FORMAT}"`,
  ];
  const appSource = opts.appSource ?? (opts.target === 'local' ? PROXY_SOURCE_ADDRESS : undefined);
  const source = appSource ? [`  source ${appSource}`] : [];
  const appTls = opts.appTls ? ` ssl verify required ca-file ${opts.appTls.ca} check-ssl` : '';
  const appServer = (a: Topology['apps'][number]) =>
    `  server ${a.name} ${a.host}:${a.port}${appTls}${opts.appTls ? ` verifyhost ${a.name}` : ''}`;
  const lines = [
    `# generated by redis-ha-stack (src/ops/render/haproxy.ts), target: ${opts.target}`,
    'global',
    '  maxconn 4096',
    // Every request (log-format below) and HAProxy's own messages, to standard output: the run
    // directory's logs/haproxy.log locally, the container's log in compose.
    '  log stdout format raw local0 info',
    // Compose: the certificate volume holds haproxy.crt and haproxy.key apart (the file names of
    // TLS_DIR); `crt haproxy.crt` then takes its key from haproxy.key.
    ...(opts.tls && opts.target === 'compose' ? ['  ssl-load-extra-del-ext'] : []),
    ...(opts.reload
      ? [
          `  stats socket ${opts.reload.socket} mode 600 level admin`,
          `  server-state-file ${opts.reload.stateFile}`,
          `  hard-stop-after ${HARD_STOP_AFTER}`,
        ]
      : []),
    '',
    'defaults',
    '  mode http',
    '  log global',
    '  option dontlognull',
    '  timeout connect 2s',
    '  timeout client 30s',
    '  timeout server 30s',
    // Shorter than the app's keepAliveTimeout (65 s): HAProxy closes idle connections first.
    '  timeout http-keep-alive 10s',
    '  timeout check 2s',
    // A client has this long to send a request (its body too: http-buffer-request on the fronts):
    // slow senders cannot hold connections.
    '  timeout http-request 10s',
    // A reload's old worker answers a request on an idle kept-alive connection (with `Connection:
    // close`) instead of closing it under a client about to send one.
    '  option idle-close-on-response',
    ...(opts.reload ? ['  load-server-state-from-file global'] : []),
    // Compose: every server has a fixed address in /etc/hosts (compose-network.ts), read once.
    ...(opts.target === 'compose' ? ['  default-server init-addr last,libc,none'] : []),
    '',
    'userlist operators',
    ...(operatorPassword
      ? // Plain, not a crypt(3) hash: HAProxy would hash every request's password on its event
        // loop (thousands of rounds), and the file is as private as operator.password itself.
        [`  user operator insecure-password "${operatorPassword}"`]
      : []),
    '',
    'backend per_address',
    '  stick-table type ipv6 size 100k expire 30s store conn_cur',
    '',
    'frontend http',
    `  bind ${bind}:${ports.http}`,
    ...(tls
      ? [
          `  bind ${bind}:${t.haproxy.httpsPort} ${tls}`,
          // Plain HTTP is only ever a redirect to the same path on HTTPS.
          `  http-request redirect location https://%[req.hdr(host),field(1,:)]${redirectPort}%[capture.req.uri] code 301 unless { ssl_fc }`,
          `  http-response set-header Strict-Transport-Security "${HSTS}" if { ssl_fc }`,
        ]
      : []),
    ...guard,
    `  acl operator_path path,url_dec -i -m str ${OPERATOR_PATHS.exact.join(' ')}`,
    `  acl operator_path path,url_dec -i -m beg ${OPERATOR_PATHS.prefix.join(' ')}`,
    '  http-request return status 404 content-type text/plain string "not found" if operator_path',
    '  default_backend apps',
    '',
    'backend apps',
    ...source,
    '  balance roundrobin',
    '  option redispatch 1',
    '  retries 3',
    // HAProxy 2.6 replays on these events whatever the method; only conn-failure means the request
    // never reached a server. So every other kind of retry is switched off for methods that are not
    // idempotent: a POST that reached an app is never sent twice. Never on response-timeout: that
    // replay comes `timeout server` (30 s) later, when the client has long given up and sent newer
    // writes; a PUT of a cart replayed then wrote an old value over an acknowledged one (a host
    // scenario, slow-link, counted it lost). An empty response is replayed at once, while the
    // client still waits, so nothing newer can have been acknowledged to it.
    '  retry-on conn-failure empty-response',
    '  acl idempotent method GET HEAD OPTIONS PUT DELETE TRACE',
    '  http-request disable-l7-retry unless idempotent',
    '  option httpchk GET /readyz',
    '  http-check expect status 200',
    '  default-server check inter 1s fastinter 500ms fall 2 rise 2',
    // The page HAProxy itself answers when no app may take the request (all in maintenance or
    // down); an app's own 503 passes unchanged. Not `nbsrv(apps) eq 0` on the front: a reloaded
    // worker counts 0 servers for its first requests, before the loaded states are applied.
    `  http-error status 503 content-type "text/html; charset=utf-8" string "${MAINTENANCE_PAGE}" hdr Retry-After 30`,
    ...t.apps.map(appServer),
    '',
    // The operator's front: HAProxy's stats (read only), the topology page and each app's metrics.
    'frontend operator',
    `  bind ${bind}:${ports.stats}${tls ? ` ${tls}` : ''}`,
    ...guard,
    '  acl operator http_auth(operators)',
    '  http-request auth realm redis-ha-stack unless operator',
    '  stats enable',
    '  stats uri /stats',
    '  stats refresh 2s',
    '  stats show-legends',
    '  stats hide-version',
    // The page lists the fronts, the apps and the Redis front; not the helper backends below.
    ...['http', 'apps', 'operator', 'redis', 'redis_master'].map((p) => `  stats scope ${p}`),
    '  acl topology path /topology /api/topology /api/topology/stream /static/topology.js /static/app.css',
    '  use_backend apps if topology',
    // HAProxy's own metrics in Prometheus's format, behind the same password (docs/monitoring.md).
    '  http-request use-service prometheus-exporter if { path /metrics/haproxy }',
    ...t.apps.map((a) => `  use_backend metrics-${a.name} if { path /metrics/${a.name} }`),
    '  default_backend not_found',
    '',
    ...t.apps.flatMap((a) => [
      `backend metrics-${a.name}`,
      ...source,
      '  http-request set-path /metrics',
      appServer(a),
      '',
    ]),
    'backend not_found',
    '  http-request return status 404 content-type text/plain string "not found"',
    '',
    'frontend redis',
    '  mode tcp',
    `  bind ${bind}:${ports.redis}${tls ? ` ${tls}` : ''}`,
    '  option tcplog',
    '  timeout client 1h',
    '  option tcpka',
    '  default_backend redis_master',
    '',
    'backend redis_master',
    '  mode tcp',
    '  timeout server 1h',
    '  option tcpka',
    '  option tcp-check',
    // With TLS the check connects as the server lines say (ssl, the CA, HAProxy's certificate).
    opts.tls ? '  tcp-check connect default' : '  tcp-check connect',
    ...auth,
    '  tcp-check send "PING\\r\\n"',
    '  tcp-check expect string +PONG',
    '  tcp-check send "INFO replication\\r\\n"',
    '  tcp-check expect string role:master',
    '  tcp-check expect rstring connected_slaves:[1-9]',
    '  tcp-check send "QUIT\\r\\n"',
    '  tcp-check expect string +OK',
    '  default-server check inter 1s fall 1 rise 2 on-marked-down shutdown-sessions',
    ...(opts.tls
      ? [`  default-server check-ssl ssl verify required ca-file ${opts.tls.ca} crt ${opts.tls.pem}`]
      : []),
    // With TLS each node's certificate must name it (verifyhost), not only be one of the stack's.
    ...t.redis.map((r) => `  server ${r.name} ${r.host}:${r.port}${opts.tls ? ` verifyhost ${r.name}` : ''}`),
    '',
  ];
  return lines.join('\n');
}
