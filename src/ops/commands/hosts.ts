import { join } from 'node:path';
import { downBed, upBed, whyNoBed } from '../hosts/bed.ts';
import { CLIENT, netnsOf } from '../hosts/net.ts';
import { HOST_SECRETS_FILE } from '../render/hosts-secrets.ts';
import { REPO_ROOT } from '../supervisor/process-set.ts';
import { parseCommandLine } from './args.ts';
import { CliError } from './context.ts';

/** The test bed's folder: HOSTS_DIR, else .run-hosts in the checkout. */
export const bedDir = () => process.env.HOSTS_DIR ?? join(REPO_ROOT, '.run-hosts');

/** `up --hosts [--keep-data]`: the host test bed, in the background; `down --hosts` removes it. */
export async function upHosts(args: string[]): Promise<void> {
  const { values } = parseCommandLine(args, { 'keep-data': { type: 'boolean' } });
  const why = whyNoBed();
  if (why) throw new CliError(why);
  const dir = bedDir();
  const bed = await upBed(dir, { keepData: values['keep-data'] === true });
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
      `  floating address  ${bed.layout.floating}: http://${bed.layout.floating}:${t.haproxy.httpPort}/ (keepalived moves it)`,
      `  clients           namespace ${netnsOf(CLIENT)} at ${bed.layout.client}: ${client} curl http://${bed.layout.floating}:${t.haproxy.httpPort}/readyz`,
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
