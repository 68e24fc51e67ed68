// The app's variables for the topology page and the operator views: a part of the table of table.ts.

import { namedList } from './addresses.ts';
import { boolean, custom, integer, text } from './settings.ts';
import { ConfigError, type NamedAddress } from './types.ts';

const nodeList = (help: string, defaultText: string) =>
  custom<NamedAddress[] | undefined>({
    type: 'name=host:port list',
    default: undefined,
    defaultText,
    help,
    parse: (raw, name) => namedList(name, raw),
  });

export const TOPOLOGY_SETTINGS = {
  OPERATOR_DASHBOARD: custom<boolean | undefined>({
    ...boolean({ default: false, help: '' }),
    default: undefined,
    defaultText: 'on when `HAPROXY_OPERATOR_PASSWORD` is set',
    help: 'the operator dashboard (`/topology`, `/api/topology` and its stream): off, the app holds no operator setting and those routes answer 404; `false` with a password set is refused',
  }),
  TOPOLOGY_REDIS_NODES: nodeList(
    '`name=host:port,...` (or `host:port,...`) of the Redis nodes the topology page watches',
    'none',
  ),
  TOPOLOGY_SENTINELS: nodeList(
    '`name=host:port,...` of the Sentinels the topology page watches',
    'REDIS_SENTINELS',
  ),
  HAPROXY_STATS_URL: custom<string | undefined>({
    type: 'URL',
    default: undefined,
    allowed: 'http:// or https://',
    help: "HAProxy's stats page (`http://127.0.0.1:8404/stats`); its CSV tells which instances HAProxy sends requests to",
    parse(raw, name) {
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        throw new ConfigError(name, `"${raw}" is not a URL`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:')
        throw new ConfigError(name, 'must be an http:// or https:// URL');
      return raw;
    },
  }),
  HAPROXY_APP_BACKEND: text({
    default: 'apps',
    help: 'the HAProxy backend whose servers are the app instances',
  }),
  TOPOLOGY_POLL_MS: integer({
    default: 500,
    min: 100,
    max: 60_000,
    help: "how often the topology page's observer reads every node",
  }),
  HA_STACK_STATE_FILE: text({
    help: "the local supervisor's state (process status, restarts), when it started this instance",
  }),
  HAPROXY_OPERATOR_PASSWORD: text({
    secret: true,
    allowed: 'as SESSION_SECRET',
    help: "user `operator`'s password on HAProxy's operator front: the app reads the stats page with it, and answers `/metrics`, `/topology`, `/api/topology` and its stream only to requests that carry it (404 otherwise); unset, an instance on its own serves them to anyone",
  }),
  HAPROXY_OPERATOR_PASSWORD_PREVIOUS: text({
    secret: true,
    allowed: 'as SESSION_SECRET',
    help: 'accepted beside it while it is rotated (only with `HAPROXY_OPERATOR_PASSWORD`); the stats page is read with it after a 401',
  }),
  TOPOLOGY_STREAMS_PER_ADDRESS: integer({
    default: 8,
    min: 1,
    max: 10_000,
    help: 'open topology event streams one client address may hold on an instance (more: 429 with `Retry-After`)',
  }),
  TOPOLOGY_STREAMS_PER_INSTANCE: integer({
    default: 64,
    min: 1,
    max: 100_000,
    help: 'open topology event streams on an instance, all addresses together',
  }),
};
