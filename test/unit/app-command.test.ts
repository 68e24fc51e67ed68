import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { defaultAppCommand } from '../../src/ops/supervisor/app-command.ts';

describe('how the supervisor starts an app', () => {
  const root = mkdtempSync(join(tmpdir(), 'app-command-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'src/app'), { recursive: true });
  writeFileSync(join(root, 'src/server.ts'), '');
  writeFileSync(join(root, 'src/app/app.ts'), '');
  const touch = (path: string, seconds: number) => utimesSync(join(root, path), seconds, seconds);

  it('runs the sources through tsx when nothing is built', () => {
    assert.deepEqual(defaultAppCommand(root).slice(1), ['--import', 'tsx', join(root, 'src/server.ts')]);
  });

  it('runs the build when it is newer than every source, and not when a source changed since', () => {
    mkdirSync(join(root, 'dist'));
    writeFileSync(join(root, 'dist/server.js'), '');
    touch('src/server.ts', 1000);
    touch('src/app/app.ts', 1000);
    touch('dist/server.js', 2000);
    assert.deepEqual(defaultAppCommand(root).slice(1), [join(root, 'dist/server.js')]);
    touch('src/app/app.ts', 3000);
    assert.equal(defaultAppCommand(root)[1], '--import');
  });
});
