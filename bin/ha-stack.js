#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader (a dev dependency: the CLI runs from a checkout
// after `npm ci`), so no build is needed. The app image runs compiled JavaScript instead.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
