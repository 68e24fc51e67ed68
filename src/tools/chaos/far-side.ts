import type { StackActions } from '../../ops/actions.ts';
import { deleteAccounts, madeAccounts } from '../loadgen/cleanup.ts';
import { UserAgent } from '../loadgen/http.ts';
import { closeUsers, createUsers, type LoadUser, runLoad } from '../loadgen/load.ts';
import { compareCarts, readBack } from './compare.ts';

/** Users of the far-side client (a browser-shaped mix, as the main load). */
const FAR_USERS = 4;

export interface FarSideResult {
  writes: number;
  acked: number;
  /** Writes answered 503 (refused for want of a replica, or no master). */
  refused: number;
  /** Writes with no answer in the client's time. */
  unanswered: number;
  lost: number;
  sessionsLost: number;
  note: string;
}

/**
 * A client on the far side of a partition: logged-in users (signed up through the main front
 * while the site is whole) who then reach only one host's own front, from an address of their own,
 * and keep reading and writing while that host is cut off. What the far side was told is checked
 * on the master once the partition healed: a write acknowledged there must be in the data set
 * (the old master may only acknowledge what a replica of the majority has), whatever else it
 * answered.
 */
export async function farSide(actions: StackActions, hostFront: string, localAddress: string, tag: string) {
  const users = await createUsers(actions.frontUrl, FAR_USERS, `far-${tag}`);
  for (const u of users) moveUser(u, hostFront, localAddress);
  const controller = new AbortController();
  const load = runLoad(users, controller.signal, 50, users.length);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    controller.abort();
    await load.done;
  };
  return {
    stop,
    /** Writes acknowledged to the far side so far. */
    acked: () => load.stats.writesAcked,
    /** Stops the load, reads the far side's carts and sessions back from the master, deletes its accounts. */
    async check(log: (m: string) => void): Promise<FarSideResult> {
      await stop();
      try {
        const back = await readBack(actions, users);
        const lost = compareCarts(users, back.carts).filter((d) => d.kind === 'lost').length;
        const writes = load.stats.samples.filter((s) => s.kind === 'write');
        const result = {
          writes: writes.length,
          acked: load.stats.writesAcked,
          refused: writes.filter((s) => !s.ok && s.status === 503).length,
          unanswered: writes.filter((s) => !s.ok && s.status === 0).length,
          lost,
          sessionsLost: back.sessionsLost,
        };
        return {
          ...result,
          note: `far-side client (${hostFront} only): ${result.writes} writes, ${result.acked} acknowledged, ${result.refused} refused (503), ${result.unanswered} unanswered, ${lost} lost, ${back.sessionsLost} sessions lost`,
        };
      } finally {
        log(await deleteAccounts(actions, madeAccounts(users)));
        closeUsers(users);
      }
    },
  };
}

/** The same user (its cookies, its CSRF token) from now on at another front and address. */
function moveUser(user: LoadUser, base: string, localAddress: string): void {
  const moved = new UserAgent(base, localAddress);
  for (const [k, v] of user.client.cookies) moved.cookies.set(k, v);
  user.client.close();
  user.client = moved;
}
