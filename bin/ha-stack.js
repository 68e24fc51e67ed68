#!/usr/bin/env node
// The `ha-stack` command. The operator's commands come from src/ops, the test tools' (chaos, soak,
// bench) from src/tools. In a checkout (tsx, a dev dependency, is installed) the TypeScript sources
// run through tsx's loader; in a production install (`npm install --omit=dev` of the packed
// package) the compiled dist/ that `npm pack` builds runs instead, and the test tools are not there.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const TOOLS = new Set(['chaos', 'soak', 'bench']);
const argv = process.argv.slice(2);
const part = TOOLS.has(argv[0] ?? '') ? 'tools' : 'ops';
const built = new URL(`../dist/${part}/cli.js`, import.meta.url);

async function hasTsx() {
  try {
    await import('tsx/esm/api');
    return existsSync(fileURLToPath(new URL(`../src/${part}/cli.ts`, import.meta.url)));
  } catch {
    return false;
  }
}

let entry;
if (await hasTsx()) {
  const { register } = await import('tsx/esm/api');
  register();
  entry = await import(`../src/${part}/cli.ts`);
} else if (existsSync(fileURLToPath(built))) {
  entry = await import(built.href);
} else {
  process.stderr.write(
    part === 'tools'
      ? `ha-stack ${argv[0]}: the test tools run from a checkout with its dev dependencies (npm ci)\n`
      : 'ha-stack: no compiled CLI (dist/ops/cli.js) and no tsx to run the sources: run npm ci, or npm run build\n',
  );
  process.exit(2);
}
entry.run(argv);
