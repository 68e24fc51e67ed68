// The stack's functions step: loads the app's Redis function library (stores/functions.ts) on the
// current master with `FUNCTION LOAD REPLACE`, then exits 0 (1 when the master did not take it in
// time). It runs as a user allowed to load code (`operator`), in its own container or Job; the app
// itself may only call the functions. Configured like the app: REDIS_SENTINELS (or REDIS_URL),
// REDIS_MASTER_NAME, REDIS_USERNAME, REDIS_PASSWORD, REDIS_SENTINEL_USERNAME, REDIS_SENTINEL_PASSWORD;
// FUNCTIONS_TIMEOUT_MS (default 120000) bounds the wait for a master that takes writes.
//   node dist/app/load-functions.js
import { ConfigError, readRedis } from '../config/index.ts';
import { createClient } from '../ha/clients.ts';
import { loadLibrary } from '../ha/functions.ts';
import { useStackTls } from '../ha/tls.ts';
import { FUNCTION_LIBRARY, LIBRARY_CODE } from './stores/functions.ts';

const log = (message: string) => process.stderr.write(`load-functions: ${message}\n`);

async function main(): Promise<number> {
  let config: ReturnType<typeof readRedis>;
  try {
    config = readRedis(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      log(`configuration error: ${err.message}`);
      return 78;
    }
    throw err;
  }
  useStackTls(config.tls);
  const timeoutMs = Number(process.env['FUNCTIONS_TIMEOUT_MS'] ?? 120_000);
  const deadline = Date.now() + (Number.isFinite(timeoutMs) && timeoutMs > 0 ? timeoutMs : 120_000);
  const client = createClient(config, 'master', 'load-functions');
  let last = '';
  client.on('error', (err: Error) => {
    last = err.message;
  });
  try {
    // Retried: the master may not be elected yet, or refuse writes until its replicas count
    // (min-replicas-to-write), or be loading its data.
    while (Date.now() < deadline) {
      try {
        if (client.status === 'ready') {
          const name = await loadLibrary(client, LIBRARY_CODE);
          log(`loaded ${name} on the master`);
          return 0;
        }
      } catch (err) {
        last = err instanceof Error ? err.message : String(err);
        if (/NOPERM|WRONGPASS|NOAUTH/.test(last)) break;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    log(`could not load ${FUNCTION_LIBRARY}: ${last || 'no master answered'}`);
    return 1;
  } finally {
    client.disconnect();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(err instanceof Error ? err.message : String(err));
    process.exit(1);
  },
);
