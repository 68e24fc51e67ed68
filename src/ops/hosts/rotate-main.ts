import { writeFileSync } from 'node:fs';
import { useStackTls } from '../../ha/tls.ts';
import { HttpsClient, httpsReader } from '../../tools/https-client.ts';
import { bedClientTls, bedFrontUrl, readBed } from './bed-files.ts';
import { rotateBedCertificates } from './rotate-bed.ts';

// Run in the clients' namespace as root (`ha-stack rotate certificates --hosts`): the rotation of
// the bed's CA and certificates (rotate-bed.ts) under a logged-in reader every 50 ms through the
// floating address, which takes the CA file again whenever it changes (a new connection then).
// `rotate-main.ts DIR JSON_OUT`; the result and the reads go to JSON_OUT; exit 1 when a read failed.
const [dir, out] = process.argv.slice(2);
const bed = readBed(dir!);
const tls = bedClientTls(bed);
if (!tls) throw new Error('this bed runs without TLS (up --hosts --no-tls): there are no certificates');
useStackTls(tls);

const site = new HttpsClient(bedFrontUrl(bed), tls.ca, true);
const email = `rotate-${Date.now()}@example.org`;
const password = 'a long passphrase for a rotation';
const must = async (what: string, p: Promise<{ status: number; text: string }>, status: number) => {
  const r = await p;
  if (r.status !== status) throw new Error(`${what}: ${r.status} ${r.text.slice(0, 200)}`);
  return r.text;
};
await must('register', site.request('POST', '/api/register', { email, password }), 201);
const { csrfToken } = JSON.parse(
  await must('login', site.request('POST', '/api/login', { email, password }), 200),
) as {
  csrfToken: string;
};
await must(
  'a cart write',
  site.request('PUT', '/api/cart', { items: { mouse: 2 } }, { 'x-csrf-token': csrfToken }),
  200,
);
const reader = httpsReader(
  site,
  (text) => (JSON.parse(text) as { items: Record<string, number> }).items['mouse'] === 2,
);
let seen: string[] = [];
try {
  const result = await rotateBedCertificates(bed, (m) => process.stdout.write(`${m}\n`));
  seen = await reader.stop();
  const failed = seen.filter((s) => s !== 'ok');
  writeFileSync(out!, JSON.stringify({ result, reads: seen.length, failed }, null, 2));
  process.stdout.write(
    `a logged-in reader every 50 ms through ${bed.layout.floating}: ${seen.length} reads, ${failed.length} failed${failed.length ? ` (${[...new Set(failed)].slice(0, 3).join('; ')})` : ''}\n`,
  );
  process.exitCode = failed.length ? 1 : 0;
} finally {
  if (!seen.length) await reader.stop();
  site.close();
}
