// The majority watcher that tells keepalived through a track file whether this host hears a
// majority of the hosts (src/ops/hosts/majority-watch.ts), on a fake clock and fake probes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MajorityWatch } from '../../src/ops/hosts/majority-watch.ts';

const PEERS = [
  { host: '198.18.0.12', port: 80 },
  { host: '198.18.0.13', port: 80 },
];

/** A watcher whose peers answer while `up` has them, on a clock moved by hand. */
function bed(up = new Set(PEERS.map((p) => p.host))) {
  let now = 0;
  const written: { at: number; value: string }[] = [];
  const w = new MajorityWatch({
    peers: PEERS,
    file: '/nowhere/majority',
    log: () => undefined,
    now: () => now,
    probe: async (host) => up.has(host),
    write: (_f, value) => written.push({ at: now, value: value.trim() }),
  });
  const settle = () => new Promise((r) => setImmediate(r));
  /** Rounds every 100 ms for `ms`, probes answered between rounds. */
  const run = async (ms: number) => {
    for (let t = 0; t < ms; t += 100) {
      w.tick();
      await settle();
      now += 100;
    }
  };
  const said = () => written.at(-1)?.value;
  const firstAt = (value: string, after = -1) => written.find((x) => x.value === value && x.at >= after)?.at;
  const advance = (ms: number) => {
    now += ms;
  };
  return { w, up, run, said, firstAt, written, advance };
}

describe('MajorityWatch', () => {
  it('says a majority is heard at its first round that hears one', async () => {
    const b = bed();
    await b.run(100);
    assert.equal(b.said(), '0');
  });

  it('needs one peer of two on three hosts', async () => {
    const b = bed(new Set(['198.18.0.13']));
    assert.equal(b.w.need, 1);
    await b.run(2000);
    assert.deepEqual(
      b.written.map((x) => x.value),
      b.written.map(() => '0'),
    );
  });

  it('gives the address up once no majority answered for 600 ms, not before', async () => {
    const b = bed();
    await b.run(1000);
    b.up.clear();
    const cut = 1000;
    await b.run(1500);
    const at = b.firstAt('1');
    assert.ok(at !== undefined, 'no FAULT written');
    assert.ok(at - cut > 500 && at - cut <= 700, `FAULT written ${at - cut} ms after the cut`);
    assert.equal(b.said(), '1');
  });

  it('a peer silent for one round, while the other is gone, is still heard', async () => {
    const b = bed(new Set(['198.18.0.12']));
    await b.run(500);
    // Two rounds in three lost (a lossy link): never 600 ms without an answer.
    for (let i = 0; i < 10; i++) {
      b.up.delete('198.18.0.12');
      await b.run(200);
      b.up.add('198.18.0.12');
      await b.run(100);
    }
    assert.equal(b.firstAt('1'), undefined);
  });

  it('takes the address back only after the majority held for a second', async () => {
    const b = bed();
    await b.run(500);
    b.up.clear();
    await b.run(1000);
    assert.equal(b.said(), '1');
    b.up.add('198.18.0.12');
    const healed = 1500;
    await b.run(1500);
    const back = b.firstAt('0', healed);
    assert.ok(back !== undefined && back - healed >= 1000, `OK again ${back} ms`);
  });

  it('a watcher that starts without hearing anyone says nothing for 600 ms, then FAULT', async () => {
    const b = bed(new Set());
    await b.run(500);
    assert.equal(b.written.length, 0);
    await b.run(200);
    assert.equal(b.said(), '1');
  });

  it('a watcher whose process stalled says no FAULT before it has read what came meanwhile', async () => {
    const b = bed();
    await b.run(500);
    // No round for 800 ms (a stalled event loop): the round that comes first after it judges on
    // stale answers, the answers that came meanwhile are read right after it.
    b.advance(800);
    await b.run(100);
    assert.deepEqual(
      b.written.map((x) => x.value),
      b.written.map(() => '0'),
    );
  });

  it('writes its verdict again once a second (a restarted keepalived reset the file)', async () => {
    const b = bed();
    await b.run(3050);
    assert.ok(b.written.length >= 3, `${b.written.length} writes`);
    assert.ok(b.written.every((x) => x.value === '0'));
  });

  it('logs a track file it cannot write, once, and goes on watching', async () => {
    const logged: string[] = [];
    let now = 0;
    let broken = true;
    const written: string[] = [];
    const w = new MajorityWatch({
      peers: PEERS,
      file: '/nowhere/majority',
      log: (m) => logged.push(m),
      now: () => now,
      probe: async () => true,
      write: (_f, v) => {
        if (broken) throw new Error('EACCES');
        written.push(v.trim());
      },
    });
    for (let i = 0; i < 30; i++) {
      if (i === 20) broken = false;
      w.tick();
      await new Promise((r) => setImmediate(r));
      now += 100;
    }
    assert.deepEqual(logged, ['/nowhere/majority could not be written: EACCES']);
    assert.ok(written.length >= 1 && written.every((v) => v === '0'), written.join(','));
  });
});
