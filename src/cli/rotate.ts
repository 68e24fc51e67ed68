import { isRotatableSecret, ROTATABLE_SECRETS } from '../stack/process/rotate.ts';
import { runningStack, UsageError } from './context.ts';

/** `ha-stack rotate <secret>`: a new secret for the running stack, the apps restarted one at a time. */
export async function rotate(args: string[]): Promise<void> {
  const secret = args[0];
  if (!isRotatableSecret(secret)) throw new UsageError(`name a secret: ${ROTATABLE_SECRETS.join(', ')}`);
  const client = runningStack();
  process.stdout.write(`rotate ${secret}: restarting the app instances one at a time...\n`);
  const r = await client.rotate(secret);
  const nodes = r.nodes.length ? `; ACL user app changed on ${r.nodes.join(', ')}` : '';
  process.stdout.write(
    `rotate ${secret}: done in ${(r.ms / 1000).toFixed(1)} s (restarted ${r.restarted.join(', ')}${nodes}); nobody was logged out\n`,
  );
}
