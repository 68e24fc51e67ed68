import type { Redis } from 'ioredis';
import { keys } from '../../ha/keys.ts';
import { withRedis } from '../../ha/probes.ts';
import type { StackActions } from '../../ops/actions.ts';
import { type Shortfall, sameAcked } from '../loadgen/stats.ts';
import { type LoadUser, sessionId } from '../loadgen/user.ts';

/** Runs `fn` on a connection to the node the Sentinels name master now (the read-back after a load). */
export async function onCurrentMaster<T>(
  actions: StackActions,
  fn: (r: Redis, master: string) => Promise<T>,
): Promise<T> {
  const m = await actions.currentMaster();
  if (!m) throw new Error('no master to read back from');
  return withRedis(m.host, m.port, actions.login, (r) => fn(r, m.name), 5000);
}

/** Reads every user's cart and session back from the current master. */
export async function readBack(actions: StackActions, users: LoadUser[]) {
  return onCurrentMaster(actions, async (r, master) => {
    const carts = new Map<string, Record<string, string>>();
    const missingSessions: string[] = [];
    for (const u of users) {
      carts.set(u.email, await r.hgetall(keys.cart(u.email)));
      const sid = sessionId(u);
      if (!sid || !(await r.exists(keys.session(sid)))) missingSessions.push(sid ?? '');
    }
    return { master, carts, sessionsLost: missingSessions.length, missingSessions };
  });
}

export interface Discrepancy {
  email: string;
  product: string;
  acked: number;
  stored: number;
  kind: 'lost' | 'phantom';
}

/**
 * Compares what was acknowledged with what the master holds. A stored value below the last
 * acknowledged one is a lost write; a higher one is fine only if it was sent (an unacknowledged
 * write that did land), otherwise it is a phantom.
 */
export function compareCarts(users: LoadUser[], stored: Map<string, Record<string, string>>): Discrepancy[] {
  const out: Discrepancy[] = [];
  for (const user of users) {
    const cart = stored.get(user.email) ?? {};
    for (const [product, acked] of user.acked) {
      const value = Number(cart[product] ?? 0);
      if (value === acked) continue;
      if (value < acked) out.push({ email: user.email, product, acked, stored: value, kind: 'lost' });
      else if (!user.unacked.get(product)?.has(value)) {
        out.push({ email: user.email, product, acked, stored: value, kind: 'phantom' });
      }
    }
  }
  return out;
}

/**
 * Acknowledged values the master's own answers lacked during the load (LoadStats.missingOnMaster)
 * that the read-back does not count already: lost, then written again higher before the end.
 */
export function rewrittenLosses(lost: Discrepancy[], missing: Shortfall[]): Shortfall[] {
  return missing.filter((m) => !lost.some((d) => sameAcked(d, m)));
}
