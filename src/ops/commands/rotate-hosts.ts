import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { VM_PATHS } from '../render/hosts.ts';
import type { RotateResult } from '../supervisor/rotate.ts';
import { HOST_TLS_DIR } from '../tls/hosts-certs.ts';
import { hostsAddNextCa, hostsCertificatesIn, hostsReissue, hostsRetireOldCa } from '../tls/hosts-renew.ts';
import { rotationUnderWay } from '../tls/renew.ts';
import { defineHosts, hostTopology, type TopologyCounts } from '../topology.ts';
import { CliError } from './context.ts';
import { bedDir } from './hosts.ts';

/** What a rotation of the certificates says when it is done (the local stack's and the bed's). */
export function certificatesDone(r: RotateResult): string {
  const took = `${r.nodes.join(', ')} took the files again, the Sentinels restarted one at a time (${r.restarted.length} restarts)`;
  if (!r.refusedOn.length)
    // The operator's own certificates (TLS_DIR): one round, no CA of the stack's to retire.
    return `rotate certificates: done in ${(r.ms / 1000).toFixed(1)} s; ${took}; each shows its file's certificate (CA ${r.ca?.new.slice(0, 11)})\n`;
  const ca = r.ca ? ` (CA ${r.ca.old.slice(0, 11)} -> ${r.ca.new.slice(0, 11)})` : '';
  return `rotate certificates: done in ${(r.ms / 1000).toFixed(1)} s${ca}; ${took}; a client of the old CA is refused (tried on ${r.refusedOn.join(', ')})\n`;
}

/** `rotate certificates --hosts`: on the host test bed, from its clients' namespace (hosts/rotate-main.ts). */
export async function rotateBed(): Promise<void> {
  const { whyNoBed, runClient } = await import('../hosts/bed.ts');
  const why = whyNoBed();
  if (why) throw new CliError(why);
  const dir = bedDir();
  const json = join(dir, 'rotate.json');
  rmSync(json, { force: true });
  process.stdout.write(
    'rotate certificates --hosts: a new CA trusted beside the old one on every host, then shown, then the old retired...\n',
  );
  const failed = await runClient('src/ops/hosts/rotate-main.ts', [dir, json], { echo: true }).then(
    () => false,
    (err: Error) => (existsSync(json) ? true : Promise.reject(err)),
  );
  const { result } = JSON.parse(readFileSync(json, 'utf8')) as { result: RotateResult };
  process.stdout.write(certificatesDone(result));
  if (failed) throw new CliError('rotate certificates --hosts: the reader saw failures (above)');
}

const ROUNDS = {
  1: 'every trust store takes the new CA beside the old',
  2: 'every certificate made again by the new CA',
  3: 'the old CA retired',
} as const;

/**
 * `rotate certificates --out DIR --round N [counts]`: one round of a CA rotation in the files of
 * `render --target hosts` (the counts as given to the render), and what to run on the hosts after
 * it: the same three rounds `--hosts` runs on the test bed, each done on every host before the next.
 */
export function rotateRendered(out: string, round: 1 | 2 | 3, counts: TopologyCounts): string {
  const layout = defineHosts({ redisNodes: counts.redisNodes, sentinels: counts.sentinels });
  const t = hostTopology(layout, { counts: { quorum: counts.quorum } });
  const caDir = join(out, HOST_TLS_DIR);
  if (!existsSync(join(caDir, 'ca.key')))
    throw new CliError(`${caDir}: no CA (render --target hosts --out ${out} makes one)`);
  for (const h of layout.hosts)
    if (!existsSync(join(out, h.name, HOST_TLS_DIR, 'ca.crt')))
      throw new CliError(`${join(out, h.name, HOST_TLS_DIR)}: not rendered with these counts`);
  const under = rotationUnderWay(caDir);
  if (round === 1 && under) throw new CliError('a rotation is under way: run --round 2, then 3');
  if (round !== 1 && !under) throw new CliError('no rotation under way: run --round 1 first');
  const x = hostsCertificatesIn(caDir, layout, (h) => join(out, h.name));
  if (round === 1) hostsAddNextCa(x);
  else if (round === 2) hostsReissue(x);
  else hostsRetireOldCa(x);
  const tls = join(VM_PATHS.etc, HOST_TLS_DIR);
  const perHost = layout.hosts.map((h) => {
    const nodes = t.redis.filter((n) => h.redis.includes(n.name));
    const cli = (port: number) =>
      `REDISCLI_AUTH=<operator password> redis-cli --tls --cacert ${tls}/ca.crt --cert ${tls}/ops.crt --key ${tls}/ops.key -h ${h.address} -p ${port} --user operator`;
    return [
      `  ${h.name} (${h.address}): copy ${join(out, h.name, HOST_TLS_DIR)}/ to ${tls}/ (0600 keys), then`,
      ...nodes.map(
        (n) =>
          `    ${cli(n.port)} CONFIG SET tls-ca-cert-file ${tls}/ca.crt tls-cert-file ${tls}/${n.name}.crt tls-key-file ${tls}/${n.name}.key`,
      ),
      ...h.sentinels.map(
        (s) =>
          `    systemctl restart ha-stack-${s}   # then wait until it names the master, its replicas and the other Sentinels`,
      ),
      '    systemctl reload ha-stack-haproxy',
    ].join('\n');
  });
  return [
    `rotate certificates --out ${out}: round ${round} of 3 written (${ROUNDS[round]})`,
    'on each host, one host at a time (the operator password is in secrets.json):',
    ...perHost,
    round < 3
      ? `then: ha-stack rotate certificates --out ${out} --round ${round + 1}`
      : 'the rotation is done: a client certificate of the old CA is refused by every node and Sentinel',
    '',
  ].join('\n');
}
