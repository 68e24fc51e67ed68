import { CERTIFICATES, isRotatable, ROTATABLE, type Rotatable } from '../supervisor/rotate.ts';
import { parseCommandLine } from './args.ts';
import { runningStack, UsageError } from './context.ts';
import { countsFromCommandLine } from './counts.ts';
import { certificatesDone, rotateBed, rotateRendered } from './rotate-hosts.ts';

/** What `rotate` was asked: a secret or the certificates, where, and for a rendered folder which round. */
export interface RotateArgs {
  secret: Rotatable;
  /** The host test bed's certificates. */
  hosts: boolean;
  /** A folder of `render --target hosts` (for VMs), and the round of its rotation (1, 2, 3). */
  out?: { dir: string; round: 1 | 2 | 3 };
}

/**
 * `ha-stack rotate <secret>|certificates [--hosts | --out DIR --round N]`: a new secret, or a new CA
 * and certificates, on the running stack; `--hosts`: on the host test bed; `--out`: one round of a
 * rotation in the files of `render --target hosts` (the hosts themselves are the operator's).
 */
export function parseRotateArgs(args: string[]): RotateArgs {
  const missing = `name a secret or the certificates: ${ROTATABLE.join(', ')}`;
  const { positionals, values } = parseCommandLine(
    args,
    { hosts: { type: 'boolean' }, out: { type: 'string' }, round: { type: 'string' } },
    { max: 1, min: 1, missing },
  );
  const [secret] = positionals;
  if (!isRotatable(secret)) throw new UsageError(missing);
  const hosts = values.hosts === true;
  if ((hosts || values.out || values.round) && secret !== CERTIFICATES)
    throw new UsageError('rotate: --hosts, --out and --round are for the certificates');
  if (hosts && values.out)
    throw new UsageError('rotate certificates: --hosts (the test bed) or --out DIR, not both');
  if (values.out === undefined) {
    if (values.round) throw new UsageError('rotate certificates: --round is for --out DIR');
    return { secret, hosts };
  }
  const round = Number(values.round);
  if (round !== 1 && round !== 2 && round !== 3)
    throw new UsageError(
      'rotate certificates --out DIR: --round 1, 2 or 3 (the CA added, the certificates, the old CA retired)',
    );
  return { secret, hosts, out: { dir: values.out, round } };
}

export async function rotate(args: string[]): Promise<void> {
  // The counts (as given to the render) only for a rendered folder: elsewhere a count flag is refused.
  const { counts, rest } = args.includes('--out')
    ? countsFromCommandLine(args)
    : { counts: undefined, rest: args };
  const { secret, hosts, out } = parseRotateArgs(rest);
  if (hosts) return rotateBed();
  if (out && counts) return void process.stdout.write(rotateRendered(out.dir, out.round, counts));
  const client = runningStack();
  if (secret === CERTIFICATES) {
    process.stdout.write(
      'rotate certificates: a new CA trusted beside the old one, then shown, then the old retired...\n',
    );
    process.stdout.write(certificatesDone(await client.rotate(secret)));
    return;
  }
  process.stdout.write(`rotate ${secret}: the new secret is accepted beside the old one...\n`);
  const r = await client.rotate(secret);
  const parts = [
    r.restarted.length ? `restarted ${r.restarted.join(', ')}` : 'no restart',
    ...(r.nodes.length ? [`told ${r.nodes.join(', ')}`] : []),
  ];
  const earlier = r.earlier ? ` (and ${r.earlier} left by an unfinished rotation)` : '';
  const old =
    secret === 'session-secret'
      ? 'what the old one signed stays valid (SESSION_SECRET_PREVIOUS)'
      : `the old one${earlier} is refused (tried on ${r.refusedOn.join(', ')})`;
  process.stdout.write(
    `rotate ${secret}: done in ${(r.ms / 1000).toFixed(1)} s (${parts.join('; ')}); ${old}, nobody was logged out\n`,
  );
}
