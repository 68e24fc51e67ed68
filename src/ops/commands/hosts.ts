import { join } from 'node:path';
import { downBed, upBed, whyNoBed } from '../hosts/bed.ts';
import { type Bed, bedCertificates, bedFrontUrl } from '../hosts/bed-files.ts';
import { CLIENT, netnsOf } from '../hosts/net.ts';
import { HOST_SECRETS_FILE } from '../render/hosts-secrets.ts';
import { REPO_ROOT } from '../supervisor/process-set.ts';
import { hostsCertificateReport } from '../tls/hosts-renew.ts';
import { parseCommandLine } from './args.ts';
import { CliError, UsageError } from './context.ts';

/** The test bed's folder: HOSTS_DIR, else .run-hosts in the checkout. */
export const bedDir = () => process.env.HOSTS_DIR ?? join(REPO_ROOT, '.run-hosts');

/**
 * `up --hosts [--keep-data] [--no-tls]`: the host test bed, in the background, with TLS on every
 * hop unless --no-tls (`--tls` is taken and changes nothing); `down --hosts` removes it.
 */
export async function upHosts(args: string[]): Promise<void> {
  const { values } = parseCommandLine(args, {
    'keep-data': { type: 'boolean' },
    'no-tls': { type: 'boolean' },
    tls: { type: 'boolean' },
  });
  if (values.tls && values['no-tls']) throw new UsageError('up --hosts: --tls or --no-tls, not both');
  const why = whyNoBed();
  if (why) throw new CliError(why);
  const dir = bedDir();
  const bed = await upBed(dir, { keepData: values['keep-data'] === true, tls: values['no-tls'] !== true });
  const t = bed.topology;
  const client = `ip netns exec ${netnsOf(CLIENT)}`;
  process.stdout.write(
    [
      '',
      'the host test bed is up (network namespaces on a bridge with no route off this machine)',
      ...bed.layout.hosts.map(
        (h) =>
          `  ${h.name.padEnd(8)} ${h.address.padEnd(13)} ${[...h.redis, ...h.sentinels, ...h.apps, 'haproxy', 'keepalived'].join(' ')}   (namespace ${netnsOf(h.name)})`,
      ),
      `  floating address  ${bed.layout.floating}: ${bedFrontUrl(bed)}/ (keepalived moves it)${bed.tls ? `; http://${bed.layout.floating}:${t.haproxy.httpPort}/ redirects there` : ''}`,
      `  clients           namespace ${netnsOf(CLIENT)} at ${bed.layout.client}: ${client} curl${bed.tls ? ` --cacert ${join(dir, 'tls', 'ca.crt')}` : ''} ${bedFrontUrl(bed)}/readyz`,
      ...(bed.tls
        ? [
            `  TLS               on every hop; the CA in ${join(dir, 'tls')} (the operator's certificate ops.crt beside it), each host's in host-N/etc/tls`,
            `                    ${bedTlsReport(bed).text}`,
          ]
        : ['  TLS               off (--no-tls)']),
      `  files             ${dir}/host-N/etc (what render --target hosts writes), data, run/logs; passwords in ${join(dir, HOST_SECRETS_FILE)} (0600)`,
      '  stop              ha-stack down --hosts',
      '',
    ].join('\n'),
  );
}

export async function downHosts(args: string[]): Promise<void> {
  parseCommandLine(args, {});
  const why = whyNoBed();
  if (why) throw new CliError(why);
  const gone = downBed();
  process.stdout.write(
    gone.length ? `removed ${gone.join(', ')} and every process in them\n` : 'no host test bed was running\n',
  );
}

/** When the bed's certificates end (the first, and any within 14 days of its end). */
function bedTlsReport(bed: Bed) {
  return hostsCertificateReport(bedCertificates(bed), Date.now());
}
