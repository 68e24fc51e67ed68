import {
  CERTIFICATES,
  isRotatable,
  ROTATABLE,
  type Rotatable,
  type RotateResult,
} from '../supervisor/rotate.ts';
import { parseCommandLine } from './args.ts';
import { runningStack, UsageError } from './context.ts';

/** `ha-stack rotate <secret>|certificates`: a new secret, or a new CA and certificates, on the running stack. */
export function parseRotateArgs(args: string[]): Rotatable {
  const missing = `name a secret or the certificates: ${ROTATABLE.join(', ')}`;
  const [secret] = parseCommandLine(args, {}, { max: 1, min: 1, missing }).positionals;
  if (!isRotatable(secret)) throw new UsageError(missing);
  return secret;
}

/** What a rotation of the certificates says when it is done. */
export function certificatesDone(r: RotateResult): string {
  const took = `${r.nodes.join(', ')} took the files again, the Sentinels restarted one at a time (${r.restarted.length} restarts)`;
  if (!r.refusedOn.length)
    // The operator's own certificates (TLS_DIR): one round, no CA of the stack's to retire.
    return `rotate certificates: done in ${(r.ms / 1000).toFixed(1)} s; ${took}; each shows its file's certificate (CA ${r.ca?.new.slice(0, 11)})\n`;
  const ca = r.ca ? ` (CA ${r.ca.old.slice(0, 11)} -> ${r.ca.new.slice(0, 11)})` : '';
  return `rotate certificates: done in ${(r.ms / 1000).toFixed(1)} s${ca}; ${took}; a client of the old CA is refused (tried on ${r.refusedOn.join(', ')})\n`;
}

export async function rotate(args: string[]): Promise<void> {
  const secret = parseRotateArgs(args);
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
