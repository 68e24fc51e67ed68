/**
 * Sentinel's own timers, which the stack sets on every Sentinel it runs (`SENTINEL DEBUG`, Redis
 * 7.0 and Valkey; runtime only: Sentinel neither reads nor writes them in its config file, so they
 * are set again after every start). docs/failover-and-chaos.md, "Sentinel's timers".
 *
 * - `info-period` 1000 (default 10000): how often a Sentinel reads a node's INFO outside a failover
 *   (during one a replica's is read every second whatever this says). A node that reports itself a
 *   replica while the Sentinels name it master is judged down after down-after + 2 s (2 x
 *   info-period) instead of down-after + 20 s, and a demoted master that still reports master is
 *   read every second, not every 10 s.
 * - `ping-period` 400 (default 1000): down-after counts from the first PING left unanswered, so a
 *   lost host is judged down within down-after + 0.4 s instead of + 1 s (the host bed's failovers
 *   after a lost host came about a second sooner). It also counts from a PING sent closer to the
 *   start of any stall of a link, so a lossy link is failed over more often; the write fence keeps
 *   the old master from taking writes then (measured: docs/failover-and-chaos.md).
 * Left as they are: `ask-period` (the Sentinel that judges the master down second asks the first
 * at once and reaches ODOWN then; a shorter period mostly widens the moment in which both start a
 * failover of their own and split the vote, which costs 2 x failover-timeout),
 * `tilt-period`, the election and reconfiguration timeouts.
 */
export const SENTINEL_TIMERS: readonly (readonly [name: string, ms: number])[] = [
  ['info-period', 1000],
  ['ping-period', 400],
];

/** The command that sets them: `SENTINEL DEBUG info-period 1000 ping-period 400`. */
export function sentinelTimersCommand(): string[] {
  return ['SENTINEL', 'DEBUG', ...SENTINEL_TIMERS.flatMap(([name, ms]) => [name, String(ms)])];
}

/** `SENTINEL DEBUG`'s answer (name, value, name, value, ...; names in capitals) as lower-case names. */
export function parseSentinelTimers(reply: unknown): Map<string, number> {
  const out = new Map<string, number>();
  if (!Array.isArray(reply)) return out;
  for (let i = 0; i + 1 < reply.length; i += 2) {
    const v = Number(String(reply[i + 1]));
    if (Number.isFinite(v)) out.set(String(reply[i]).toLowerCase(), v);
  }
  return out;
}

/** The timers a Sentinel runs with that differ from the stack's: empty when it has them all. */
export function timersMissing(current: Map<string, number>): string[] {
  return SENTINEL_TIMERS.filter(([name, ms]) => current.get(name) !== ms).map(
    ([name, ms]) => `${name} ${current.get(name) ?? '?'} (want ${ms})`,
  );
}

interface Caller {
  call(command: string, ...args: string[]): Promise<unknown>;
}

/** Sets the timers on the Sentinel `r` is connected to (logged in as its default user). */
export async function setSentinelTimers(r: Caller): Promise<void> {
  const [command, ...args] = sentinelTimersCommand();
  const answer = await r.call(command!, ...args);
  if (answer !== 'OK') throw new Error(`SENTINEL DEBUG answered ${String(answer)}`);
}

/** The timers a Sentinel runs with that are not the stack's, read with `SENTINEL DEBUG`. */
export async function sentinelTimersMissing(r: Caller): Promise<string[]> {
  return timersMissing(parseSentinelTimers(await r.call('SENTINEL', 'DEBUG')));
}
