// Addresses as the variables give them: `host:port`, `[ipv6]:port`, and lists of `name=host:port`.

import { ConfigError, type NamedAddress, type SentinelAddress } from './types.ts';

/** A DNS name or an IPv4 address: letters, digits, dots and inner hyphens. */
const HOSTNAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;
/** The inside of `[...]`: an IPv6 address, with an optional zone (`%eth0`). */
const IPV6 = /^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(?:%[A-Za-z0-9_.-]+)?$/;

/** `host:port`, `[ipv6]:port`; anything else (an empty host, `[]`, a stray `=`) is refused. */
export function parseHostPort(name: string, item: string): SentinelAddress {
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d{1,5})$/.exec(item.trim());
  const host = m?.[1] ?? m?.[2] ?? '';
  const port = m ? Number(m[3]) : Number.NaN;
  const hostOk = m?.[1] !== undefined ? IPV6.test(host) : HOSTNAME.test(host);
  if (!hostOk || port < 1 || port > 65535) {
    throw new ConfigError(name, `"${item}" is not host:port`);
  }
  return { host, port };
}

/** `host:port` items separated by commas, blanks dropped; at least one. */
export function sentinelList(name: string, raw: string): SentinelAddress[] {
  const list = raw
    .split(',')
    .filter((s) => s.trim() !== '')
    .map((s) => parseHostPort(name, s));
  if (list.length === 0) throw new ConfigError(name, 'lists no sentinel');
  return list;
}

/** `name=host:port` or `host:port` items separated by commas. */
export function namedList(name: string, raw: string): NamedAddress[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((item) => {
      const eq = item.indexOf('=');
      const label = eq > 0 ? item.slice(0, eq).trim() : '';
      const addr = parseHostPort(name, eq > 0 ? item.slice(eq + 1) : item);
      if (label !== '' && !/^[A-Za-z0-9._-]{1,64}$/.test(label))
        throw new ConfigError(name, `"${label}" is not a valid node name`);
      return { name: label || `${addr.host}:${addr.port}`, ...addr };
    });
}
