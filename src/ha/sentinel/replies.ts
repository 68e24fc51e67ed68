/**
 * Sentinel's replies, each parsed here and nowhere else: `SENTINEL MASTER`,
 * `SENTINEL GET-MASTER-ADDR-BY-NAME` and the TILT fields of `INFO sentinel`.
 */
import { fieldsOf } from '../fields.ts';
import { parseInfo } from '../info.ts';

export interface Address {
  host: string;
  port: number;
}

/** The fields of `SENTINEL MASTER <name>` (a flat list of names and values) the stack reads. */
export interface SentinelMasterFields {
  /** The master as this Sentinel has it in its configuration (its `ip` and `port`). */
  master: Address | null;
  quorum: number;
  flags: string;
  /** Epoch of the configuration this Sentinel holds: a later failover has a higher one. */
  configEpoch: number;
  replicas: number;
  otherSentinels: number;
  /**
   * `failover-state` while this Sentinel leads or attempts a failover (`wait_start` ... `reconf_slaves`,
   * `update_config`); '' otherwise. From `reconf_slaves` on, the address it gives clients is the promoted replica's.
   */
  failoverState: string;
}

export function parseSentinelMaster(raw: string[]): SentinelMasterFields {
  const m = fieldsOf(raw);
  return {
    master: m['ip'] && m['port'] ? { host: m['ip'], port: Number(m['port']) } : null,
    quorum: Number(m['quorum'] ?? 0),
    flags: m['flags'] ?? '',
    configEpoch: Number(m['config-epoch'] ?? 0),
    replicas: Number(m['num-slaves'] ?? 0),
    otherSentinels: Number(m['num-other-sentinels'] ?? 0),
    failoverState: m['failover-state'] ?? '',
  };
}

/**
 * `SENTINEL GET-MASTER-ADDR-BY-NAME`: `[host, port]`, or null when the Sentinel knows no such
 * master; undefined for anything else (not an address: the caller falls back on SENTINEL MASTER).
 */
export function parseMasterAddress(raw: unknown): Address | null | undefined {
  if (raw === null) return null;
  if (!Array.isArray(raw) || raw.length !== 2) return undefined;
  const [host, port] = raw as unknown[];
  const p = Number(port);
  return typeof host === 'string' && host !== '' && Number.isInteger(p) && p > 0
    ? { host, port: p }
    : undefined;
}

/** A Sentinel's TILT state from its `INFO sentinel`: in TILT it takes part in no failover. */
export function parseTilt(infoText: string): { tilt: boolean } {
  return { tilt: parseInfo(infoText)['sentinel_tilt'] === '1' };
}
