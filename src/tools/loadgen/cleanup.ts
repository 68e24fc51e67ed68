import { keys } from '../../ha/keys.ts';
import type { StackActions } from '../../ops/actions.ts';
import { onCurrentMaster } from '../chaos/compare.ts';
import { type LoadUser, sessionId } from './user.ts';

/** An account a tool made: its email and the session ids it knows of it. */
export interface MadeAccount {
  email: string;
  sids: readonly string[];
}

/** The accounts of a load's users: each email and its current session (a login deleted the older). */
export function madeAccounts(users: Iterable<Pick<LoadUser, 'email' | 'client'>>): MadeAccount[] {
  const out: MadeAccount[] = [];
  for (const u of users) {
    const sid = sessionId(u);
    out.push({ email: u.email, sids: sid ? [sid] : [] });
  }
  return out;
}

/** Every key of those accounts: the user hash, the cart, the sessions (src/ha/keys.ts). */
export function accountKeys(accounts: Iterable<MadeAccount>): string[] {
  const out = new Set<string>();
  for (const a of accounts) {
    out.add(keys.user(a.email));
    out.add(keys.cart(a.email));
    for (const sid of a.sids) out.add(keys.session(sid));
  }
  return [...out];
}

/**
 * Deletes the accounts a run made (chaos, soak, bench), with their carts and sessions, on the
 * current master as the operator's Redis user, whether the run passed or not. Best effort: a stack
 * that cannot be reached keeps them (their passwords were random and are gone with the run); the
 * line returned says which happened, for the run's log.
 */
export async function deleteAccounts(
  actions: Pick<StackActions, 'currentMaster' | 'login'>,
  accounts: readonly MadeAccount[],
): Promise<string> {
  if (!accounts.length) return 'no accounts to delete';
  const all = accountKeys(accounts);
  try {
    let deleted = 0;
    await onCurrentMaster(actions as StackActions, async (r) => {
      for (let i = 0; i < all.length; i += 500) deleted += await r.del(...all.slice(i, i + 500));
    });
    return `deleted the ${accounts.length} accounts of this run (${deleted} keys)`;
  } catch (err) {
    return `could not delete the ${accounts.length} accounts of this run (emails ending @load.test or @bench.test): ${err instanceof Error ? err.message : String(err)}`;
  }
}
