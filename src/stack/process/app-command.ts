import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The newest modification time of any file under `dir`. */
export function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * How the supervisor starts an app: the compiled server (`npm run build`, which `npm start` runs)
 * when it is at least as new as every source file, otherwise the sources through tsx (a dev
 * dependency, there in a checkout after `npm ci`; the app image runs the compiled server only).
 */
export function defaultAppCommand(root: string): string[] {
  const built = join(root, 'dist/server.js');
  if (existsSync(built) && statSync(built).mtimeMs >= newestMtime(join(root, 'src'))) {
    return [process.execPath, built];
  }
  return [process.execPath, '--import', 'tsx', join(root, 'src/server.ts')];
}
