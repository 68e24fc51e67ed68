import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The newest modification time of any file under `dir`. */
export function newestMtime(dir: string): number {
  if (!existsSync(dir)) return 0;
  if (!statSync(dir).isDirectory()) return statSync(dir).mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** What `npm run build` compiles: the product alone (tsconfig.build.json). */
const PRODUCT_SOURCES = ['src/server.ts', 'src/app', 'src/ha', 'src/config'];

/**
 * How the supervisor starts an app: the compiled server (`npm run build`, which `npm start` runs)
 * when it is at least as new as every source file, otherwise the sources through tsx (a dev
 * dependency, there in a checkout after `npm ci`; the app image runs the compiled server only).
 */
export function defaultAppCommand(root: string): string[] {
  const built = join(root, 'dist/server.js');
  const sources = Math.max(...PRODUCT_SOURCES.map((p) => newestMtime(join(root, p))));
  if (existsSync(built) && statSync(built).mtimeMs >= sources) {
    return [process.execPath, built];
  }
  return [process.execPath, '--import', 'tsx', join(root, 'src/server.ts')];
}
