#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader (a runtime dependency), so no build is needed.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
