// askFirst (src/ha/clients.ts) on a real ioredis client in Sentinel mode: it reaches into ioredis's
// Sentinel connector, so this fails when an ioredis upgrade moves what it relies on.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { askFirst } from '../../src/ha/clients.ts';

const sentinels = [
  { host: '127.0.0.21', port: 26380 },
  { host: '127.0.0.22', port: 26381 },
  { host: '127.0.0.23', port: 26382 },
];

/** A client that never connects (lazyConnect), and the Sentinel its connector would ask next. */
function client() {
  const c = new Redis({ sentinels, name: 'mymaster', lazyConnect: true });
  const it = (c as unknown as { connector: { sentinelIterator: { next(): { value?: unknown } } } }).connector
    .sentinelIterator;
  return { c, next: () => it.next().value };
}

describe('askFirst', () => {
  it('makes the Sentinel that announced a switch the next one asked, wherever the turn had got to', () => {
    const { c, next } = client();
    assert.deepEqual(next(), sentinels[0]);
    assert.deepEqual(next(), sentinels[1], 'the turn moved on: the next attempt would ask the second');
    assert.equal(askFirst(c, sentinels[2]!), true);
    assert.deepEqual([next(), next(), next()], [sentinels[2], sentinels[0], sentinels[1]]);
    c.disconnect();
  });

  it('changes nothing for a Sentinel it does not list, nor for a client without Sentinels', () => {
    const { c, next } = client();
    next();
    assert.equal(askFirst(c, { host: '127.0.0.99', port: 26380 }), false);
    assert.deepEqual(next(), sentinels[1]);
    c.disconnect();
    const plain = new Redis({ lazyConnect: true });
    assert.equal(askFirst(plain, sentinels[0]!), false);
    plain.disconnect();
  });
});
