/** Sentinel event channels worth a line in the timeline (the rest is chatter such as `+sentinel`). */
const MEANING: Record<string, string> = {
  '+sdown': 'seen down by a Sentinel',
  '-sdown': 'seen up again by a Sentinel',
  '+odown': 'down for a quorum of Sentinels',
  '-odown': 'no longer down for a quorum',
  '+try-failover': 'failover started',
  '+elected-leader': 'election won: this Sentinel leads the failover',
  '+selected-slave': 'replica chosen for promotion',
  '+promoted-slave': 'replica promoted',
  '+failover-end': 'failover finished',
  '+failover-end-for-timeout': 'failover ended by its timeout',
  '-failover-abort-not-elected': 'failover aborted: not elected',
  '-failover-abort-no-good-slave': 'failover aborted: no replica fit for promotion',
  '+switch-master': 'new master',
  '+convert-to-slave': 'old master turned into a replica',
  '+reboot': 'restarted',
};

export const isTimelineEvent = (type: string): boolean => type in MEANING;

/**
 * A person's line for a Sentinel event. Messages look like `master mymaster 127.0.0.1 6380 #quorum 2/2`,
 * `slave 127.0.0.1:6381 127.0.0.1 6381 @ mymaster 127.0.0.1 6380`, or for `+switch-master`
 * `mymaster 127.0.0.1 6380 127.0.0.1 6381`; `name` turns an address into a node's name.
 * Undefined when the event concerns another master.
 */
export function describeSentinelEvent(
  type: string,
  message: string,
  masterName: string,
  name: (host: string, port: string) => string,
): string | undefined {
  const t = message.split(' ');
  if (!t.includes(masterName)) return undefined;
  if (type === '+switch-master') return `new master ${name(t[3]!, t[4]!)} (was ${name(t[1]!, t[2]!)})`;
  const kind = t[0] === 'slave' ? 'replica' : t[0] === 'sentinel' ? 'sentinel' : 'master';
  // Sentinel appends remarks after a '#', e.g. `#quorum 2/2`.
  const hash = message.indexOf(' #');
  const notes = hash >= 0 ? ` (${message.slice(hash + 2)})` : '';
  return `${kind} ${name(t[2] ?? '?', t[3] ?? '?')}: ${MEANING[type]}${notes}`;
}
