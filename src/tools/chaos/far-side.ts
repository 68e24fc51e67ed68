import type { StackActions } from '../../ops/actions.ts';
import { deleteAccounts, madeAccounts } from '../loadgen/cleanup.ts';
import { UserAgent } from '../loadgen/http.ts';
import { closeUsers, createUsers, type LoadUser, runLoad } from '../loadgen/load.ts';
import { compareCarts, readBack, rewrittenLosses } from './compare.ts';

/** Users of the far-side client (a browser-shaped mix, as the main load). */
const FAR_USERS = 4;

export interface FarSideResult {
  lost: number;
  sessionsLost: number;
  /** Its writes, acknowledged, refused (503), unanswered and lost, for the row. */
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
  return {
    /** Writes acknowledged to the far side so far. */
    acked: () => load.stats.writesAcked,
    /** Stops the load, reads the far side's carts and sessions back from the master, deletes its accounts. */
    async check(log: (m: string) => void): Promise<FarSideResult> {
      controller.abort();
      await load.done;
      try {
        const back = await readBack(actions, users);
        const final = compareCarts(users, back.carts).filter((d) => d.kind === 'lost');
        const lost = final.length + rewrittenLosses(final, load.stats.missingOnMaster).length;
        const writes = load.stats.samples.filter((s) => s.kind === 'write');
        const failed = (status: number) => writes.filter((s) => !s.ok && s.status === status).length;
        return {
          lost,
          sessionsLost: back.sessionsLost,
          note: `far-side client (${hostFront} only): ${writes.length} writes, ${load.stats.writesAcked} acknowledged, ${failed(503)} refused (503), ${failed(0)} unanswered, ${lost} lost, ${back.sessionsLost} sessions lost`,
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
