import { isRotatableSecret, ROTATABLE_SECRETS, type RotatableSecret } from '../supervisor/rotate.ts';
import { parseCommandLine } from './args.ts';
import { runningStack, UsageError } from './context.ts';

/** `ha-stack rotate <secret>`: a new secret for the running stack, the apps restarted one at a time. */
export function parseRotateArgs(args: string[]): RotatableSecret {
  const missing = `name a secret: ${ROTATABLE_SECRETS.join(', ')}`;
  const [secret] = parseCommandLine(args, {}, { max: 1, min: 1, missing }).positionals;
  if (!isRotatableSecret(secret)) throw new UsageError(missing);
  return secret;
}

export async function rotate(args: string[]): Promise<void> {
  const secret = parseRotateArgs(args);
  const client = runningStack();
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
