import { LIBRARY_CODE } from '../../app/stores/functions.ts';
import { FUNCTION_LIBRARY, hasLibrary, loadLibrary } from '../../ha/functions.ts';
import { type RedisLogin, withRedis } from '../../ha/probes.ts';
import type { Addr } from './stack-view.ts';
import { waitFor } from './wait.ts';

/**
 * The app's Redis functions on the master, loaded as the operator (the app may only call them).
 * `replace`: load this version's code whatever is there (the stack's start); otherwise only when
 * the library is missing (after a node was healed). Retried until the master takes it: right after
 * the start its replicas may not count yet for `min-replicas-to-write`, which FUNCTION LOAD obeys.
 * Resolves whether it loaded the library.
 */
export async function loadFunctions(
  master: Addr,
  login: RedisLogin,
  opts: { replace: boolean; timeoutMs?: number | undefined; signal?: AbortSignal | undefined },
): Promise<boolean> {
  let loaded = false;
  await waitFor(
    `the function library ${FUNCTION_LIBRARY} on ${master.host}:${master.port}`,
    () =>
      withRedis(master.host, master.port, login, async (r) => {
        if (!opts.replace && (await hasLibrary(r))) return true;
        await loadLibrary(r, LIBRARY_CODE);
        loaded = true;
        return true;
      }),
    {
      timeoutMs: opts.timeoutMs ?? 20_000,
      abort: () => (opts.signal?.aborted ? 'cancelled' : undefined),
    },
  );
  return loaded;
}
