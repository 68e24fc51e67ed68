import { readFileSync } from 'node:fs';
import { operatorAuthorization, type RedisLogin, withRedis } from '../../ha/probes.ts';
import { getText } from '../../ha/tls.ts';
import { aclPasswordHash } from '../render/acl.ts';

/** A Redis node or Sentinel as a rotation addresses it. */
export interface Endpoint {
  readonly name: string;
  readonly host: string;
  readonly port: number;
}

/** A command on one Redis node or Sentinel; a failure names it. */
export async function onNode<T>(
  n: Endpoint,
  login: RedisLogin,
  fn: Parameters<typeof withRedis<T>>[3],
): Promise<T> {
  try {
    return await withRedis(n.host, n.port, login, fn, 3000);
  } catch (err) {
    throw new Error(`${n.name}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * `user` keeps `current` as its only password on this node (`ACL SETUSER <user> resetpass
 * >current`, one atomic command): every other one it held is dropped, also those an earlier,
 * unfinished rotation left. On a Sentinel, user `default` is its `requirepass`.
 */
export function keepOnly(n: Endpoint, login: RedisLogin, user: string, current: string): Promise<unknown> {
  return onNode(n, login, (r) => r.call('ACL', 'SETUSER', user, 'resetpass', `>${current}`));
}

/**
 * Tries every old password of `user` (undefined: a Sentinel's `requirepass`) on a fresh
 * connection to the node: each must be refused with WRONGPASS, and `current` accepted. Throws
 * naming the node that still takes an old one: "the old one is refused" is said only after this.
 */
export async function assertOnlyCurrent(
  n: Endpoint,
  login: RedisLogin,
  user: string | undefined,
  olds: readonly string[],
  current: string,
): Promise<void> {
  const who = user ? `user ${user}` : 'the Sentinel';
  await onNode(n, login, async (r) => {
    const auth = (password: string) => (user ? r.call('AUTH', user, password) : r.call('AUTH', password));
    for (const [i, old] of olds.entries()) {
      if (old === current) continue;
      const answer = await auth(old).then(
        (ok) => String(ok),
        (err: unknown) => (err instanceof Error ? err.message : String(err)),
      );
      if (!/^WRONGPASS/.test(answer))
        throw new Error(`${who} still accepts old password #${i + 1} of ${olds.length} (answer: ${answer})`);
    }
    // Last, as it logs this connection in as `user`.
    const ok = await auth(current).then(String, (err: unknown) =>
      err instanceof Error ? err.message : String(err),
    );
    if (ok !== 'OK') throw new Error(`${who} refuses the current password (answer: ${ok})`);
  });
}

/** A Sentinel's rewritten config holds none of the old passwords, neither in the clear nor hashed. */
export function assertConfForgets(file: string, name: string, olds: readonly string[]): void {
  const text = readFileSync(file, 'utf8');
  for (const old of olds)
    if (text.includes(old) || text.includes(aclPasswordHash(old).slice(1)))
      throw new Error(`${name}: ${file} still holds an old password`);
}

/**
 * The operator front's old passwords are refused: HAProxy's stats answer 401 to each, every app's
 * operator view (/metrics) 404, and the stats take the current one.
 */
export async function assertFrontRefuses(
  statsUrl: string,
  appUrls: readonly string[],
  olds: readonly string[],
  current: string,
): Promise<void> {
  const get = async (url: string, password: string) => {
    // HTTPS where the stack speaks TLS (checked against its CA), HTTP otherwise.
    return (await getText(url, { authorization: operatorAuthorization(password) }, 5000)).status;
  };
  for (const [i, old] of olds.entries()) {
    if (old === current) continue;
    const which = `old password #${i + 1} of ${olds.length}`;
    const stats = await get(statsUrl, old);
    if (stats !== 401) throw new Error(`HAProxy's stats answer ${stats} to the ${which}`);
    for (const base of appUrls) {
      const status = await get(`${base}/metrics`, old);
      if (status !== 404) throw new Error(`${base}/metrics answers ${status} to the ${which}`);
    }
  }
  const now = await get(statsUrl, current);
  if (now !== 200) throw new Error(`HAProxy's stats answer ${now} to the current password`);
}
