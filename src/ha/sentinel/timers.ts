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
 * - `ping-period` 400 (default 1000): a lost node's first unanswered PING, from which down-after
 *   counts, leaves within 400 ms of the loss instead of within a second (the Sentinels judge a
 *   lost master down closer together: measured, the slowest failovers shorter); a link to a node that
 *   came back (a new master just elected among them) is made again within 400 ms, not a second,
 *   which shortens the gap the fail-back grew in (topology/timings.ts). Not lower: Sentinel picks
 *   a replica to promote only if it answered within 5 x ping-period and, while the master is
 *   down, gave INFO within 5 x ping-period, and that INFO comes once a second then (2 s margin).
 *
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
