import { BACKUP_SETTINGS } from '../backup/settings.ts';
import type { Topology } from '../topology.ts';
import { SENTINEL_READER } from './acl.ts';
import { MONITORING_VOLUMES, monitoringServices } from './compose-monitoring.ts';
import {
  HARDENING,
  imageRef,
  LIMITS,
  PRIVATE_HOST,
  PUBLISHED_PORTS,
  SECRET_VARIABLES,
  TOOLS_PROFILE,
  USERS,
} from './compose-names.ts';
import type { YamlValue } from './yaml.ts';

// The services of compose.yaml that start only with their profile, so a plain `docker compose up`
// runs the stack alone: RedisInsight (`tools`), the backups and the restore (`backup`, `restore`,
// docs/backups.md) and the monitoring (`monitoring`, docs/monitoring.md, compose-monitoring.ts).

export const BACKUP_PROFILE = 'backup';
export const RESTORE_PROFILE = 'restore';
export const BACKUP_SERVICE = 'backup';
export const RESTORE_SERVICE = 'restore';
/** The named volume of the backups, mounted at BACKUP_MOUNT. */
export const BACKUP_VOLUME = 'backups';
// The image's /data, owned by its valkey user: a new named volume mounted there gets that owner.
export const BACKUP_MOUNT = '/data';

/** The schedule's variables, with the defaults of `ha-stack up`'s schedule (src/ops/backup/settings.ts). */
export const BACKUP_VARIABLES = {
  BACKUP_INTERVAL_MINUTES: BACKUP_SETTINGS.BACKUP_INTERVAL_MINUTES.default,
  BACKUP_KEEP_HOURLY: BACKUP_SETTINGS.BACKUP_KEEP_HOURLY.default,
  BACKUP_KEEP_DAILY: BACKUP_SETTINGS.BACKUP_KEEP_DAILY.default,
} as const;

const BIN = '/usr/local/bin';
/** What both scripts source: the password checks and the questions to the Sentinels. */
const SOURCED = [
  `./scripts/passwords.sh:${BIN}/passwords.sh:ro`,
  `./scripts/sentinel-ask.sh:${BIN}/sentinel-ask.sh:ro`,
];

const healthy = (services: string[]) =>
  Object.fromEntries(services.map((s) => [s, { condition: 'service_healthy' }]));

const sentinelList = (t: Topology) => t.sentinels.map((s) => `${s.host}:${s.port}`).join(',');

/**
 * A snapshot from a replica every BACKUP_INTERVAL_MINUTES into the `backups` volume, with its
 * manifest and the retention (deploy/scripts/redis-backup.sh). It logs in to the Sentinels as their
 * read-only user and to the replica and the master as `backup` (SYNC, PSYNC, REPLCONF, PING, and
 * SET of the one key that records the last good backup's time): it can copy the data set and
 * record that time, nothing else, on no node.
 */
function backupService(t: Topology): YamlValue {
  return {
    image: imageRef('redis'),
    profiles: [BACKUP_PROFILE],
    restart: 'unless-stopped',
    user: USERS.redis,
    ...HARDENING,
    ...LIMITS.backup,
    entrypoint: ['sh', `${BIN}/redis-backup.sh`],
    environment: {
      REDIS_SENTINELS: sentinelList(t),
      MASTER_NAME: t.masterName,
      SENTINEL_READER_USER: SENTINEL_READER,
      SENTINEL_READER_PASSWORD: SECRET_VARIABLES.SENTINEL_READER_PASSWORD,
      REDIS_BACKUP_PASSWORD: SECRET_VARIABLES.REDIS_BACKUP_PASSWORD,
      BACKUP_DIR: BACKUP_MOUNT,
      ...Object.fromEntries(Object.entries(BACKUP_VARIABLES).map(([k, v]) => [k, `\${${k}:-${v}}`])),
    },
    volumes: [
      `./scripts/redis-backup.sh:${BIN}/redis-backup.sh:ro`,
      ...SOURCED,
      `${BACKUP_VOLUME}:${BACKUP_MOUNT}`,
    ],
    depends_on: healthy(t.sentinels.map((s) => s.host)),
  };
}

/**
 * The one-shot restore (deploy/scripts/redis-restore.sh): `docker compose --profile restore run --rm
 * restore <id>` checks the backup, loads it in a scratch server inside the container and moves its
 * keys into the master the Sentinels name, as the operator (FLUSHALL, MIGRATE ... REPLACE).
 */
function restoreService(t: Topology): YamlValue {
  return {
    image: imageRef('redis'),
    profiles: [RESTORE_PROFILE],
    user: USERS.redis,
    ...HARDENING,
    ...LIMITS.backup,
    entrypoint: ['sh', `${BIN}/redis-restore.sh`],
    environment: {
      REDIS_SENTINELS: sentinelList(t),
      MASTER_NAME: t.masterName,
      SENTINEL_READER_USER: SENTINEL_READER,
      SENTINEL_READER_PASSWORD: SECRET_VARIABLES.SENTINEL_READER_PASSWORD,
      REDIS_OPERATOR_PASSWORD: SECRET_VARIABLES.REDIS_OPERATOR_PASSWORD,
      BACKUP_DIR: BACKUP_MOUNT,
    },
    volumes: [
      `./scripts/redis-restore.sh:${BIN}/redis-restore.sh:ro`,
      ...SOURCED,
      // Read-only: a restore never changes a backup.
      `${BACKUP_VOLUME}:${BACKUP_MOUNT}:ro`,
    ],
  };
}

function redisinsightService(t: Topology): YamlValue {
  const port = PUBLISHED_PORTS.redisinsight;
  // RedisInsight has NO LOGIN: whoever reaches its port can read and change every key with the
  // credentials it is given. So it starts only when asked for (`docker compose --profile tools up
  // -d`), is published on the host's loopback only, and should be stopped after use.
  return {
    image: imageRef('redisinsight'),
    profiles: [TOOLS_PROFILE],
    restart: 'unless-stopped',
    user: USERS.redisinsight,
    ...HARDENING,
    ...LIMITS.redisinsight,
    ports: [`${PRIVATE_HOST}:${port}:${port}`],
    volumes: ['redisinsight-data:/data'],
    depends_on: healthy(t.sentinels.map((s) => s.host)),
  };
}

/** Every service of a profile, by name. */
export function profileServices(t: Topology): { [name: string]: YamlValue } {
  return {
    redisinsight: redisinsightService(t),
    [BACKUP_SERVICE]: backupService(t),
    [RESTORE_SERVICE]: restoreService(t),
    ...monitoringServices(t),
  };
}

export const PROFILE_VOLUMES = ['redisinsight-data', BACKUP_VOLUME, ...MONITORING_VOLUMES];

/** Above the RedisInsight service in compose.yaml. */
const REDISINSIGHT_NOTE =
  `  # RedisInsight has NO LOGIN: anyone who reaches ${PRIVATE_HOST}:${PUBLISHED_PORTS.redisinsight} (or this container) can read and\n` +
  '  # change every key. Profile "tools" only; stop it after use: docker compose --profile tools stop redisinsight\n';

/** compose.yaml with a note above the services that need one. */
export function withProfileNotes(yaml: string): string {
  return yaml.replace(/^ {2}redisinsight:\n/m, `${REDISINSIGHT_NOTE}$&`);
}
