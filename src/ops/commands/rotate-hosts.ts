import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { VM_PATHS } from '../render/hosts.ts';
import type { RotateResult } from '../supervisor/rotate.ts';
import { HOST_TLS_DIR } from '../tls/hosts-certs.ts';
import {
  caOutOfStep,
  hostsAddNextCa,
  hostsReissue,
  hostsRetireOldCa,
  layoutMismatch,
  notSignedBy,
  spreadCa,
} from '../tls/hosts-renew.ts';
import { NEXT_DIR, rotationUnderWay } from '../tls/renew.ts';
import type { HostLayout, Topology, TopologyCounts } from '../topology.ts';
import { CliError } from './context.ts';
import { bedDir } from './hosts.ts';
import { renderedHosts } from './render-hosts.ts';

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
 * A round may be run again (a copy that failed half way): round 1 keeps the new CA it made, each
 * round first gives every host the CA folder's `ca.crt`; round 3 is refused until every
 * certificate is the new CA's, and finishes a round 3 that stopped after retiring the old CA.
 */
export function rotateRendered(dir: string, round: 1 | 2 | 3, counts: TopologyCounts): string {
  const out = resolve(dir);
  const { layout, topology: t, certs: x } = renderedHosts(out, counts);
  const caDir = x.caDir;
  if (!existsSync(join(caDir, 'ca.key')))
    throw new CliError(`${caDir}: no CA (render --target hosts --out ${dir} makes one)`);
  const mismatch = layoutMismatch(x);
  if (mismatch.length)
    throw new CliError(
      `${dir} was not rendered with these counts (give rotate the counts given to render): ${mismatch.join('; ')}`,
    );
  const under = rotationUnderWay(caDir);
  let said = `round ${round} of 3 written (${ROUNDS[round]})`;
  if (round === 1) hostsAddNextCa(x);
  else if (round === 2) {
    if (!under) throw new CliError('no rotation under way: run --round 1 first');
    spreadCa(x);
    hostsReissue(x);
  } else if (under) {
    const old = notSignedBy(x, readFileSync(join(caDir, NEXT_DIR, 'ca.crt'), 'utf8'));
    if (old.length)
      throw new CliError(
        `not yet made by the new CA: ${old.join(', ')}; run --round 2 first (nothing changed)`,
      );
    hostsRetireOldCa(x);
  } else if (caOutOfStep(x).length) {
    spreadCa(x);
    said =
      "round 3 of 3 finished: an earlier run retired the old CA; every host's ca.crt is now the CA folder's";
  } else throw new CliError('no rotation under way: run --round 1 first');
  return [`rotate certificates --out ${dir}: ${said}`, ...hostCommands(t, layout, out, round), ''].join('\n');
}

/** What each host runs to take a round's files (docs/hosts.md), one host after the other. */
function hostCommands(t: Topology, layout: HostLayout, out: string, round: 1 | 2 | 3): string[] {
  const tls = join(VM_PATHS.etc, HOST_TLS_DIR);
  const cli = (address: string, port: number, secret: string, user?: string) =>
    `REDISCLI_AUTH=<secrets.json ${secret}> redis-cli --tls --cacert ${tls}/ca.crt --cert ${tls}/ops.crt --key ${tls}/ops.key -h ${address} -p ${port}${user ? ` --user ${user}` : ''}`;
  const perHost = layout.hosts.map((h) =>
    [
      `  ${h.name} (${h.address}): copy ${join(out, h.name, HOST_TLS_DIR)}/ into ${tls}/ with the owners and modes of the first install, each file through a temporary name and mv (a reader never sees half a file), then`,
      ...t.redis
        .filter((n) => h.redis.includes(n.name))
        .map(
          (n) =>
            `    ${cli(h.address, n.port, 'redis.operator', 'operator')} CONFIG SET tls-ca-cert-file ${tls}/ca.crt tls-cert-file ${tls}/${n.name}.crt tls-key-file ${tls}/${n.name}.key`,
        ),
      ...t.sentinels
        .filter((s) => h.sentinels.includes(s.name))
        .flatMap((s) => [
          `    systemctl restart ha-stack-${s.name}`,
          `    ${cli(h.address, s.port, 'sentinel')} SENTINEL MASTER ${t.masterName}   # until num-slaves is ${t.redis.length - 1} and num-other-sentinels ${t.sentinels.length - 1}`,
        ]),
      // The servers' states for the new worker, as the test bed's reload saves them (render/haproxy.ts).
      `    echo 'show servers state' | socat stdio ${VM_PATHS.run}/haproxy.sock > ${VM_PATHS.run}/haproxy.state`,
      '    systemctl reload ha-stack-haproxy',
    ].join('\n'),
  );
  return [
    'on each host, one host at a time:',
    ...perHost,
    round < 3
      ? `then: ha-stack rotate certificates --out ${out} --round ${round + 1}`
      : `done: every node and Sentinel now refuses a client certificate of the old CA (try one: ${cli(layout.hosts[0]!.address, t.redis[0]!.port, 'redis.operator', 'operator')} PING with the old ops.crt fails the handshake)`,
  ];
}
