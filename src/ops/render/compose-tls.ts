import { components, FRONT_CERT, OPS_CERT, tlsEnvironment } from '../tls/certs.ts';
import type { Topology } from '../topology.ts';
import { SENTINEL_READER } from './acl.ts';
import {
  composePrometheusConfig,
  exporterArgs,
  PROMETHEUS_DIR,
  SENTINEL_EXPORTER,
} from './compose-monitoring.ts';
import { CONNECTIONS_VARIABLE, HARDENING, REDIS_PROGRAMS, USER_PASSWORD_VARIABLES } from './compose-names.ts';
import { BACKUP_SERVICE, RESTORE_SERVICE } from './compose-profiles.ts';
import { DEFAULT_CONNECTIONS_PER_ADDRESS, renderHaproxyCfg } from './haproxy.ts';
import { toYaml, type YamlValue } from './yaml.ts';

// deploy/compose.tls.yaml: the stack on TLS, as an override file beside compose.yaml
// (`docker compose -f compose.yaml -f compose.tls.yaml ...`, docs/tls.md "Compose"). An override,
// not a profile: a profile can only add services, while TLS changes the existing ones (their
// environment, health checks, HAProxy's config and ports); and an override composes with every
// profile, since the profiles' services stay in compose.yaml and the override changes those that
// need a certificate (backup, restore, the monitoring's exporters and Prometheus) when they run.

/** Where every TLS service mounts the certificate volume, read-only. */
export const TLS_MOUNT = '/tls';
/** Where the `certs` service alone mounts the CA's volume (ca.key never leaves it). */
export const CA_MOUNT = '/ca';
/**
 * The certificate volume: a named volume the `certs` service fills, or the operator's own folder
 * (`TLS_DIR=/path`, a bind mount; the file names of TLS_DIR in docs/tls.md).
 */
export const TLS_VOLUME = 'tls';
export const CA_VOLUME = 'tls-ca';
// biome-ignore lint/suspicious/noTemplateCurlyInString: compose variables, not templates
const TLS_SOURCE = '${TLS_DIR:-tls}';
export const CERTS_SERVICE = 'certs';
/** A Debian image with openssl (deploy/certs/Dockerfile), built by compose. */
export const CERTS_IMAGE = 'redis-ha-stack-certs';
const CERTS_SCRIPT = '/usr/local/bin/make-certs.sh';
/** The uid each image runs its user as (the official images'); the certs service chowns keys to them. */
export const TLS_UIDS = {
  redis: { variable: 'TLS_UID_VALKEY', default: 999 },
  haproxy: { variable: 'TLS_UID_HAPROXY', default: 99 },
  app: { variable: 'TLS_UID_NODE', default: 1000 },
  // redis_exporter's image has no user database: the number compose runs it as (USERS.exporter).
  exporter: { variable: 'TLS_UID_EXPORTER', default: 59000 },
} as const;
/** Certificates compose adds to the local stack's: the backup and restore services' (user valkey). */
export const BACKUP_CERT = 'backup';
/** ...and the monitoring profile's exporters' (redis_exporter's user). */
export const EXPORTER_CERT = 'exporter';
/** HAProxy's HTTPS port on the host (8443 inside the container). */
export const HTTPS_PUBLISHED = 443;

const uid = (kind: keyof typeof TLS_UIDS) => `\${${TLS_UIDS[kind].variable}:-${TLS_UIDS[kind].default}}`;

/** The user (by uid) that reads a component's key. */
function ownerOf(t: Topology, name: string): keyof typeof TLS_UIDS {
  if ([...t.redis, ...t.sentinels].some((n) => n.name === name) || name === BACKUP_CERT) return 'redis';
  if (name === FRONT_CERT) return 'haproxy';
  if (name === EXPORTER_CERT) return 'exporter';
  return 'app';
}

/** Every certificate of the compose stack with its names: the local stack's and compose's own. */
export function composeCertificates(t: Topology): Record<string, string[]> {
  return { ...components(t), [BACKUP_CERT]: [BACKUP_CERT], [EXPORTER_CERT]: [EXPORTER_CERT] };
}

/** TLS_COMPONENTS of the certs service: "name:uid:dns,..." each. */
export function certsComponents(t: Topology): string {
  return Object.entries(composeCertificates(t))
    .map(([name, names]) => `${name}:${uid(ownerOf(t, name))}:${names.join(',')}`)
    .join(' ');
}

const files = (name: string) => ({
  ca: `${TLS_MOUNT}/ca.crt`,
  cert: `${TLS_MOUNT}/${name}.crt`,
  key: `${TLS_MOUNT}/${name}.key`,
});

/** The variables a node, a Sentinel or a script reads (deploy/scripts/passwords.sh tls_on). */
const tlsVariables = (name: string) => {
  const f = files(name);
  return { REDIS_TLS_CA_FILE: f.ca, REDIS_TLS_CERT_FILE: f.cert, REDIS_TLS_KEY_FILE: f.key };
};

const certsDone = { [CERTS_SERVICE]: { condition: 'service_completed_successfully' } };
const tlsMount = `${TLS_SOURCE}:${TLS_MOUNT}:ro`;

// The whole check, as compose.ts gives it: an override's health check replaces the file's.
const healthcheck = (test: string | string[]): YamlValue => ({
  test: typeof test === 'string' ? ['CMD-SHELL', test] : test,
  interval: '2s',
  timeout: '2s',
  retries: 15,
  start_period: '5s',
});

/** valkey-cli with this component's certificate, checking the server's against the CA. */
const cli = (name: string) => {
  const f = files(name);
  return `${REDIS_PROGRAMS.cli} --tls --cacert ${f.ca} --cert ${f.cert} --key ${f.key}`;
};

function certsService(t: Topology): YamlValue {
  return {
    build: { context: './certs' },
    image: CERTS_IMAGE,
    // Root, to give each key to the user that reads it (CHOWN, nothing else); it runs once and exits.
    user: '0:0',
    ...HARDENING,
    cap_add: ['CHOWN'],
    entrypoint: ['sh', CERTS_SCRIPT],
    environment: { TLS_OUT: TLS_MOUNT, TLS_CA_DIR: CA_MOUNT, TLS_COMPONENTS: certsComponents(t) },
    volumes: [
      `./certs/make-certs.sh:${CERTS_SCRIPT}:ro`,
      `${TLS_SOURCE}:${TLS_MOUNT}`,
      `${CA_VOLUME}:${CA_MOUNT}`,
    ],
    restart: 'no',
  };
}

export function composeTlsDocument(t: Topology): { [key: string]: YamlValue } {
  const services: { [name: string]: YamlValue } = { [CERTS_SERVICE]: certsService(t) };
  for (const r of t.redis) {
    const check =
      r.initialRole === 'master'
        ? 'ping | grep -q PONG'
        : "info replication | grep -Eq 'role:master|master_link_status:up'";
    services[r.host] = {
      environment: tlsVariables(r.name),
      volumes: [tlsMount],
      depends_on: certsDone,
      healthcheck: healthcheck(`${cli(r.name)} --user haproxy -p ${r.port} ${check}`),
    };
  }
  for (const s of t.sentinels) {
    services[s.host] = {
      environment: tlsVariables(s.name),
      volumes: [tlsMount],
      depends_on: certsDone,
      healthcheck: healthcheck(`${cli(s.name)} -p ${s.port} sentinel ckquorum ${t.masterName} | grep -q OK`),
    };
  }
  for (const a of t.apps) {
    services[a.host] = { environment: tlsEnvironment(files(a.name)), volumes: [tlsMount] };
  }
  // The functions step logs in as the operator: the operator tools' certificate (user node).
  const { COOKIE_SECURE: _, ...opsTls } = tlsEnvironment(files(OPS_CERT));
  services.functions = { environment: opsTls, volumes: [tlsMount] };
  for (const name of [BACKUP_SERVICE, RESTORE_SERVICE])
    services[name] = { environment: tlsVariables(BACKUP_CERT), volumes: [tlsMount], depends_on: certsDone };
  // The monitoring profile: each exporter on rediss:// with its certificate, Prometheus reading the
  // operator front on HTTPS (the CA's certificate only; it holds no key).
  const f = files(EXPORTER_CERT);
  const exporterTls = [
    `-tls-ca-cert-file=${f.ca}`,
    `-tls-client-cert-file=${f.cert}`,
    `-tls-client-key-file=${f.key}`,
  ];
  const rediss = (args: string[]) => [
    ...args.map((a) => a.replace('=redis://', '=rediss://')),
    ...exporterTls,
  ];
  t.monitoring.redisExporters.forEach((e, i) => {
    const node = t.redis[i]!;
    services[e.name] = {
      command: rediss(exporterArgs(`${node.host}:${node.port}`, 'exporter')),
      volumes: [tlsMount],
      depends_on: certsDone,
    };
  });
  const first = t.sentinels[0]!;
  services[SENTINEL_EXPORTER] = {
    command: rediss(exporterArgs(`${first.host}:${first.port}`, SENTINEL_READER)),
    volumes: [tlsMount],
    depends_on: certsDone,
  };
  services['prometheus'] = {
    volumes: [`./monitoring/prometheus-tls.yml:${PROMETHEUS_DIR}/prometheus.yml:ro`, tlsMount],
  };
  const h = t.haproxy;
  services[h.host] = {
    volumes: ['./haproxy/haproxy-tls.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro', tlsMount],
    // Added to compose.yaml's: the site on HTTPS on every interface (HTTP :80 then redirects).
    ports: [`${HTTPS_PUBLISHED}:${h.httpsPort}`],
    // The operator front is on TLS now, which bash cannot speak: the HTTP front's redirect shows
    // HAProxy serves; the Redis front's check is HAProxy's own.
    healthcheck: healthcheck([
      'CMD',
      'bash',
      '-c',
      `exec 3<>/dev/tcp/127.0.0.1/${h.httpPort} && printf 'GET / HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && grep -q '^HTTP/1.[01] 301' <&3`,
    ]),
  };
  return { services, volumes: { [TLS_VOLUME]: {}, [CA_VOLUME]: {} } };
}

/** The compose files TLS adds, by path relative to deploy/ (compose.ts adds the header). */
export function renderComposeTlsFiles(t: Topology): Record<string, string> {
  return {
    'compose.tls.yaml': toYaml(composeTlsDocument(t)),
    'haproxy/haproxy-tls.cfg': renderHaproxyCfg(t, {
      target: 'compose',
      password: { env: USER_PASSWORD_VARIABLES.haproxy },
      operatorPassword: { env: 'HAPROXY_OPERATOR_PASSWORD' },
      connectionsPerAddress: { env: CONNECTIONS_VARIABLE, default: DEFAULT_CONNECTIONS_PER_ADDRESS },
      tls: {
        pem: `${TLS_MOUNT}/${FRONT_CERT}.crt`,
        ca: `${TLS_MOUNT}/ca.crt`,
        publicHttpsPort: HTTPS_PUBLISHED,
      },
    }),
    'monitoring/prometheus-tls.yml': composePrometheusConfig(t, `${TLS_MOUNT}/ca.crt`),
    'certs/Dockerfile': [
      '# The image of the certs service (compose.tls.yaml): openssl on Debian, nothing else.',
      'FROM debian:bookworm-slim',
      'RUN apt-get update && apt-get install -y --no-install-recommends openssl && rm -rf /var/lib/apt/lists/*',
      '',
    ].join('\n'),
  };
}
