import { sentinelsMaster, sentinelView } from '../../ha/probes.ts';
import { getText, useStackTls } from '../../ha/tls.ts';
import { loadFunctions } from '../supervisor/functions.ts';
import { waitFor } from '../supervisor/wait.ts';
import { bedClientTls, bedFrontUrl, bedSecrets, readBed } from './bed-files.ts';

// Run in the clients' namespace: waits until the bed's stack is whole and answers through the
// floating address; the app's function library loaded on the master (an operator's step on VMs).
const dir = process.argv[2]!;
const bed = readBed(dir);
const t = bed.topology;
const s = bedSecrets(dir);
// With TLS: the operator tools' certificate to the nodes and Sentinels, the CA for the site.
useStackTls(bedClientTls(bed));
const timeoutMs = Number(process.env.HOSTS_READY_TIMEOUT_MS ?? 60_000);
let master: { host: string; port: number } | undefined;
await waitFor(
  'a master named by the Sentinels',
  async () => {
    master = await sentinelsMaster(t.sentinels, t.masterName, s.sentinel);
    return master !== undefined;
  },
  { timeoutMs },
);
await loadFunctions(
  master!,
  { username: 'operator', password: s.redis.operator },
  { replace: false, timeoutMs },
);
for (const x of t.sentinels)
  await waitFor(
    `${x.name}: the master, ${t.redis.length - 1} replicas, ${t.sentinels.length - 1} other Sentinels`,
    async () => {
      const v = await sentinelView(x.host, x.port, t.masterName, s.sentinel);
      return (
        v.master !== null && v.replicas === t.redis.length - 1 && v.otherSentinels === t.sentinels.length - 1
      );
    },
    { timeoutMs },
  );
const url = `${bedFrontUrl(bed)}/readyz`;
await waitFor(`HTTP 200 from ${url}`, async () => (await getText(url, {}, 1000)).status === 200, {
  timeoutMs,
});
process.stdout.write(`ready: master ${master!.host}:${master!.port}, ${url}\n`);
