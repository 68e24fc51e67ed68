import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { rewrittenLosses } from '../../src/tools/chaos/compare.ts';
import { describeShortfalls } from '../../src/tools/chaos/report.ts';
import { useApi } from '../../src/tools/loadgen/api-user.ts';
import { UserAgent } from '../../src/tools/loadgen/http.ts';
import {
  newStats,
  recordMissing,
  recordStale,
  type Shortfall,
  shortfalls,
} from '../../src/tools/loadgen/stats.ts';
import type { LoadUser } from '../../src/tools/loadgen/user.ts';

const someone = (acked: Record<string, number>) => ({
  email: 'a@x',
  surface: 'api' as const,
  acked: new Map(Object.entries(acked)),
});
const short = (product: string, acked: number, seen: number, at = 0): Shortfall => ({
  email: 'a@x',
  surface: 'api',
  product,
  acked,
  seen,
  at,
});

describe('shortfalls: values shown below what was acknowledged', () => {
  it('names each product below its acknowledged value, a missing one as 0, the one just written excepted', () => {
    const found = shortfalls(someone({ mouse: 3, dock: 2, pen: 1 }), { mouse: 3, dock: 1 }, 'pen');
    assert.deepEqual(
      found.map((s) => [s.product, s.acked, s.seen]),
      [['dock', 2, 1]],
    );
    assert.deepEqual(
      shortfalls(someone({ mouse: 3, pen: 1 }), { mouse: 2 }).map((s) => [s.product, s.seen]),
      [
        ['mouse', 2],
        ['pen', 0],
      ],
    );
    assert.deepEqual(shortfalls(someone({ mouse: 3 }), { mouse: 4 }), []);
  });

  it('counts every stale read and keeps the first five; counts each missing value once', () => {
    const stats = newStats();
    recordStale(stats, []);
    for (let i = 1; i <= 7; i++) recordStale(stats, [short('mouse', i + 1, i)]);
    assert.equal(stats.staleReads, 7);
    assert.deepEqual(
      stats.staleSeen.map((s) => s.seen),
      [1, 2, 3, 4, 5],
    );
    recordMissing(stats, [short('mouse', 3, 2), short('dock', 1, 0)]);
    recordMissing(stats, [short('mouse', 3, 1)]);
    recordMissing(stats, [short('mouse', 4, 2)]);
    assert.deepEqual(
      stats.missingOnMaster.map((s) => `${s.product} ${s.acked}`),
      ['mouse 3', 'dock 1', 'mouse 4'],
    );
  });

  it('counts a value lost then written again, not one the read-back already counts', () => {
    const lost = [{ email: 'a@x', product: 'mouse', acked: 3, stored: 2, kind: 'lost' as const }];
    const again = rewrittenLosses(lost, [short('mouse', 3, 2), short('dock', 2, 1)]);
    assert.deepEqual(
      again.map((s) => s.product),
      ['dock'],
    );
  });

  it('describes the first five in words, with when, from the first fault', () => {
    const list = [1, 2, 3, 4, 5, 6, 7].map((i) => short('mouse', i + 1, i, 1000 + i * 1000));
    assert.equal(
      describeShortfalls(list, 1000),
      'api a mouse 2>1 at 1 s, api a mouse 3>2 at 2 s, api a mouse 4>3 at 3 s, api a mouse 5>4 at 4 s, api a mouse 6>5 at 5 s and 2 more',
    );
  });
});

describe('an API user of the load', () => {
  let server: Server;
  let base: string;
  // The fake site: a read answers an empty cart (said to be a replica's, or not when `replicaReads`
  // is off); a write answers a cart holding only what it wrote (a master that lost the rest).
  let requests = 0;
  let stopAt = 0;
  let replicaReads = true;
  let stop = new AbortController();
  before(async () => {
    server = createServer((req, res) => {
      if (++requests >= stopAt) stop.abort();
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const items =
          req.method === 'PUT' ? (JSON.parse(body) as { items: Record<string, number> }).items : {};
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (req.method === 'GET' && replicaReads) headers['x-served-by'] = 'replica';
        res.writeHead(200, headers).end(JSON.stringify({ email: 'a@x', items }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  /** Runs one API user for `n` requests: read, write mouse, read, write dock, read, write mouse... */
  async function run(n: number, replicas: boolean) {
    const user: LoadUser = {
      surface: 'api',
      products: ['mouse', 'dock'],
      email: 'a@x',
      password: 'p',
      client: new UserAgent(base, undefined),
      csrf: 't',
      next: new Map([
        ['mouse', 1],
        ['dock', 1],
      ]),
      acked: new Map(),
      unacked: new Map(),
    };
    const stats = newStats();
    [requests, stopAt, replicaReads, stop] = [0, n, replicas, new AbortController()];
    await useApi(user, stats, stop.signal, 0, false);
    user.client.close();
    return stats;
  }

  it("counts a replica's older cart as stale only, and a write's answer without an acknowledged value as lost", async () => {
    const replica = await run(3, true);
    assert.equal(replica.staleReads, 1);
    assert.deepEqual(replica.missingOnMaster, []);
    const stats = await run(6, true);
    assert.equal(stats.writesAcked, 3);
    assert.equal(stats.staleReads, 2);
    assert.deepEqual(
      stats.missingOnMaster.map((s) => `${s.product} ${s.acked}>${s.seen}`),
      ['mouse 1>0', 'dock 1>0'],
    );
  });

  it('counts a read without an acknowledged value as stale only, also one the master served (it may be fenced off)', async () => {
    const stats = await run(3, false);
    assert.equal(stats.staleReads, 1);
    assert.deepEqual(stats.missingOnMaster, []);
  });
});
