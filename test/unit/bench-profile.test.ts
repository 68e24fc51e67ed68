import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { partOf, summarize } from '../../src/tools/bench/profile.ts';

describe('bench profile: summing up a CPU profile', () => {
  it('names the part of a function: a package (scoped too), Node, the app, V8', () => {
    assert.equal(partOf('file:///r/node_modules/ioredis/built/Command.js', 'x'), 'ioredis');
    assert.equal(partOf('file:///r/node_modules/@fastify/formbody/index.js', 'x'), '@fastify/formbody');
    assert.equal(partOf('node:internal/stream_base_commons', 'writevGeneric'), 'node internals');
    assert.equal(partOf('file:///r/src/app/stores/sessions.ts', 'load'), 'app app/stores/');
    assert.equal(partOf('file:///r/dist/server.js', 'main'), 'app');
    assert.equal(partOf('', '(garbage collector)'), '(garbage collector)');
    assert.equal(partOf('', 'writev'), '(native)');
  });

  it('counts self time per function over the window only, idle left out', () => {
    const frame = (functionName: string, url = '') => ({ functionName, url, lineNumber: 0 });
    const profile = {
      nodes: [
        { id: 1, callFrame: frame('(idle)') },
        { id: 2, callFrame: frame('read', 'file:///r/node_modules/ioredis/a.js') },
        { id: 3, callFrame: frame('route', 'file:///r/src/app/routes/pages.ts') },
      ],
      startTime: 1000,
      // Samples at 1010, 1020, ..., each 10 µs apart; the window keeps 1030..1060.
      samples: [2, 2, 3, 3, 3, 1, 2, 2],
      timeDeltas: [10, 10, 10, 10, 10, 10, 10, 10],
    };
    const all = summarize(profile, null);
    assert.equal(all.windowed, false);
    assert.equal(all.busyMs, 0.1);
    const w = summarize(profile, { fromUs: 1030, toUs: 1060 });
    assert.equal(w.windowed, true);
    // In the window: route (1030, 1040, 1050) and idle (1060): 30 µs busy, all of it the app's.
    assert.equal(w.busyMs, 0);
    assert.deepEqual(
      w.byPart.map((p) => [p.name, p.percent]),
      [['app app/routes/', 100]],
    );
    assert.match(w.topFunctions[0]!.name, /^route /);
    // A window no sample falls in gives the whole profile, and says so.
    assert.equal(summarize(profile, { fromUs: 5000, toUs: 6000 }).windowed, false);
  });
});
