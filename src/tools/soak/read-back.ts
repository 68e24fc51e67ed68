import { keys } from '../../ha/keys.ts';
import type { StackActions } from '../../ops/actions.ts';
import { compareCarts, onCurrentMaster, rewrittenLosses } from '../chaos/compare.ts';
import type { Shortfall } from '../loadgen/stats.ts';
import type { LoadUser } from '../loadgen/user.ts';

/** What the master holds of what the soak's users were told was done. */
export interface ReadBack {
  master: string;
  /**
   * Acknowledged cart values the master no longer holds, and those its answers lacked during the
   * load before the user wrote them again (missingOnMaster).
   */
  writesLost: number;
  /** Values above the acknowledged one that no request of the user ever sent. */
  phantomWrites: number;
  /** Sessions of users logged in at the end that the master does not hold. */
  sessionsChecked: number;
  sessionsLost: number;
  /** Accounts of users who signed up (and were told so) that the master does not hold. */
  accountsChecked: number;
  accountsLost: number;
  /** A few of the losses, for the report. */
  examples: string[];
}

/**
 * Reads every user's cart and account back from the current master, and the session of each user
 * logged in at the end (by email: its session id), and compares them with what was acknowledged
 * (the chaos checker's comparison). A user who logged out is not expected to have a session.
 */
export async function readBack(
  actions: StackActions,
  users: LoadUser[],
  sessions: Map<string, string>,
  registered: (u: LoadUser) => boolean,
  missingOnMaster: Shortfall[] = [],
): Promise<ReadBack> {
  return onCurrentMaster(actions, async (r, master) => {
    const carts = new Map<string, Record<string, string>>();
    const examples: string[] = [];
    let accountsChecked = 0;
    let accountsLost = 0;
    for (const u of users) {
      carts.set(u.email, await r.hgetall(keys.cart(u.email)));
      if (!registered(u)) continue;
      accountsChecked++;
      if (!(await r.exists(keys.user(u.email)))) {
        accountsLost++;
        examples.push(`account ${u.email}`);
      }
    }
    let sessionsLost = 0;
    for (const [email, sid] of sessions) {
      if (await r.exists(keys.session(sid))) continue;
      sessionsLost++;
      examples.push(`session of ${email}`);
    }
    const diff = compareCarts(users, carts);
    for (const d of diff.slice(0, 5))
      examples.push(`${d.kind} ${d.email} ${d.product}: acknowledged ${d.acked}, stored ${d.stored}`);
    const lost = diff.filter((d) => d.kind === 'lost');
    const rewritten = rewrittenLosses(lost, missingOnMaster);
    for (const m of rewritten.slice(0, 5))
      examples.push(
        `lost then written again ${m.email} ${m.product}: acknowledged ${m.acked}, the master showed ${m.seen}`,
      );
    return {
      master,
      writesLost: lost.length + rewritten.length,
      phantomWrites: diff.filter((d) => d.kind === 'phantom').length,
      sessionsChecked: sessions.size,
      sessionsLost,
      accountsChecked,
      accountsLost,
      examples: examples.slice(0, 10),
    };
  });
}
