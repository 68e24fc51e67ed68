import type { Topology } from '../topology.ts';
import { SENTINEL_READER } from './acl.ts';
import {
  HARDENING,
  imageRef,
  LIMITS,
  PRIVATE_HOST,
  PUBLISHED_PORTS,
  SECRET_VARIABLES,
  USERS,
} from './compose-names.ts';
import { renderAlertmanagerConfig, renderPrometheusConfig } from './monitoring.ts';
import type { YamlValue } from './yaml.ts';

// The `monitoring` profile of compose.yaml: what `ha-stack up --monitoring` runs locally
// (docs/monitoring.md), as services. An exporter per Redis node (the `exporter` ACL user), one for
// the Sentinels (their read-only user), Prometheus with deploy/monitoring/alerts.yml (the very file
// local mode loads) and Alertmanager, both behind basic auth (user `monitoring`) and published on
// the host's loopback only.

export const MONITORING_PROFILE = 'monitoring';
export const MONITORING_VOLUMES = ['prometheus-data', 'alertmanager-data'];
/** redis_exporter's own port, in every exporter's container. */
const EXPORTER_PORT = 9121;
export const SENTINEL_EXPORTER = 'sentinel-exporter';
/** The entrypoint writes the passwords and the web config here (the container's tmpfs), 0600. */
const SECRETS_DIR = '/tmp/monitoring';
const ENTRYPOINT = '/scripts/monitoring-entrypoint.sh';
export const PROMETHEUS_DIR = '/etc/prometheus';
const ALERTMANAGER_DIR = '/etc/alertmanager';

/** The monitoring's own password, and its bcrypt hash for the web config: needed by the profile only. */
export const MONITORING_VARIABLES = {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: compose variables, not templates
  MONITORING_PASSWORD: '${MONITORING_PASSWORD:-}',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: compose variables, not templates
  MONITORING_PASSWORD_HASH: '${MONITORING_PASSWORD_HASH:-}',
} as const;

/** deploy/monitoring/ files the profile mounts, by path relative to deploy/. */
export function renderMonitoringFiles(t: Topology): Record<string, string> {
  return {
    'monitoring/prometheus.yml': composePrometheusConfig(t),
    'monitoring/alertmanager.yml': renderAlertmanagerConfig(),
  };
}

/** Prometheus's config in compose; `ca`: the operator front on HTTPS checked against it (compose.tls.yaml). */
export function composePrometheusConfig(t: Topology, ca?: string): string {
  return renderPrometheusConfig(
    t,
    {
      rules: `${PROMETHEUS_DIR}/alerts.yml`,
      operatorPasswordFile: `${SECRETS_DIR}/operator.password`,
      monitoringPasswordFile: `${SECRETS_DIR}/monitoring.password`,
      ...(ca ? { ca } : {}),
    },
    {
      redisExporter: (name) => `${name}:${EXPORTER_PORT}`,
      sentinelExporter: `${SENTINEL_EXPORTER}:${EXPORTER_PORT}`,
      alertmanager: `alertmanager:${PUBLISHED_PORTS.alertmanager}`,
    },
  );
}

export const exporterArgs = (addr: string, user: string) => [
  `-redis.addr=redis://${addr}`,
  `-redis.user=${user}`,
  `-web.listen-address=:${EXPORTER_PORT}`,
  // CONFIG is not the exporter user's (render/acl.ts): "-" is no command, so no ACL refusal is logged.
  '-config-command=-',
  '-redis-only-metrics',
  '-connection-timeout=3s',
];

function exporter(command: string[], password: string, dependsOn: string[]): YamlValue {
  return {
    image: imageRef('exporter'),
    profiles: [MONITORING_PROFILE],
    restart: 'unless-stopped',
    user: USERS.exporter,
    ...HARDENING,
    ...LIMITS.exporter,
    command,
    // redis_exporter reads its password from REDIS_PASSWORD: never on its command line.
    environment: { REDIS_PASSWORD: password },
    depends_on: Object.fromEntries(dependsOn.map((s) => [s, { condition: 'service_healthy' }])),
  };
}

/** Prometheus or Alertmanager: the entrypoint writes the secrets to the tmpfs, then starts it. */
function server(kind: 'prometheus' | 'alertmanager', command: string[], extra: YamlValue): YamlValue {
  const port = PUBLISHED_PORTS[kind];
  return {
    image: imageRef(kind),
    profiles: [MONITORING_PROFILE],
    restart: 'unless-stopped',
    user: USERS.prometheus,
    ...HARDENING,
    ...LIMITS[kind],
    entrypoint: ['/bin/sh', ENTRYPOINT],
    command,
    ports: [`${PRIVATE_HOST}:${port}:${port}`],
    ...(extra as object),
  };
}

export function monitoringServices(t: Topology): { [name: string]: YamlValue } {
  const services: { [name: string]: YamlValue } = {};
  t.monitoring.redisExporters.forEach((e, i) => {
    const node = t.redis[i]!;
    services[e.name] = exporter(
      exporterArgs(`${node.host}:${node.port}`, 'exporter'),
      SECRET_VARIABLES.REDIS_EXPORTER_PASSWORD,
      [node.host],
    );
  });
  const first = t.sentinels[0]!;
  services[SENTINEL_EXPORTER] = exporter(
    exporterArgs(`${first.host}:${first.port}`, SENTINEL_READER),
    SECRET_VARIABLES.SENTINEL_READER_PASSWORD,
    t.sentinels.map((s) => s.host),
  );
  const scripts = [
    `./scripts/monitoring-entrypoint.sh:${ENTRYPOINT}:ro`,
    './scripts/passwords.sh:/scripts/passwords.sh:ro',
  ];
  services['alertmanager'] = server(
    'alertmanager',
    [
      '/bin/alertmanager',
      `--config.file=${ALERTMANAGER_DIR}/alertmanager.yml`,
      `--web.config.file=${SECRETS_DIR}/web.yml`,
      '--storage.path=/alertmanager',
      `--web.listen-address=:${PUBLISHED_PORTS.alertmanager}`,
      // One Alertmanager: no cluster port.
      '--cluster.listen-address=',
    ],
    {
      environment: { ...MONITORING_VARIABLES },
      volumes: [
        ...scripts,
        `./monitoring/alertmanager.yml:${ALERTMANAGER_DIR}/alertmanager.yml:ro`,
        'alertmanager-data:/alertmanager',
      ],
    },
  );
  services['prometheus'] = server(
    'prometheus',
    [
      '/bin/prometheus',
      `--config.file=${PROMETHEUS_DIR}/prometheus.yml`,
      `--web.config.file=${SECRETS_DIR}/web.yml`,
      '--storage.tsdb.path=/prometheus',
      '--storage.tsdb.retention.time=2d',
      `--web.listen-address=:${PUBLISHED_PORTS.prometheus}`,
    ],
    {
      environment: {
        ...MONITORING_VARIABLES,
        // The operator front's password: HAProxy's metrics and the apps' are read through it.
        HAPROXY_OPERATOR_PASSWORD: SECRET_VARIABLES.HAPROXY_OPERATOR_PASSWORD,
      },
      volumes: [
        ...scripts,
        `./monitoring/prometheus.yml:${PROMETHEUS_DIR}/prometheus.yml:ro`,
        // The rules local mode loads, the one copy.
        `./monitoring/alerts.yml:${PROMETHEUS_DIR}/alerts.yml:ro`,
        'prometheus-data:/prometheus',
      ],
      depends_on: Object.fromEntries(
        [...t.monitoring.redisExporters.map((e) => e.name), SENTINEL_EXPORTER, 'alertmanager'].map((s) => [
          s,
          { condition: 'service_started' },
        ]),
      ),
    },
  );
  return services;
}
