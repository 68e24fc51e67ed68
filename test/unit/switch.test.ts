import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LatestSwitch, parseSwitch, REDIRECT_MS } from '../../src/ha/switch.ts';

describe('+switch-master', () => {
  it('gives the new address of the master, not the old one', () => {
    // <master name> <old ip> <old port> <new ip> <new port>
    assert.deepEqual(parseSwitch('mymaster 127.0.0.11 7001 127.0.0.12 7002', 'mymaster'), {
      host: '127.0.0.12',
      port: 7002,
      from: { host: '127.0.0.11', port: 7001 },
    });
  });

  it("ignores another master's switch and anything malformed", () => {
    assert.equal(parseSwitch('other 127.0.0.11 7001 127.0.0.12 7002', 'mymaster'), null);
    assert.equal(parseSwitch('mymaster 127.0.0.11 7001 127.0.0.12', 'mymaster'), null);
    assert.equal(parseSwitch('mymaster 127.0.0.11 7001 127.0.0.12 port', 'mymaster'), null);
    assert.equal(parseSwitch('', 'mymaster'), null);
  });

  it('refuses a port with other characters, an empty host and a missing port', () => {
    assert.equal(parseSwitch('m 1.1.1.1 1 2.2.2.2 70x', 'm'), null);
    assert.equal(parseSwitch('m 1.1.1.1 1 2.2.2.2 x70', 'm'), null);
    assert.equal(parseSwitch('m 1.1.1.1 1  70', 'm'), null);
    assert.deepEqual(parseSwitch('m 1.1.1.1 1 2.2.2.2 70', 'm'), {
      host: '2.2.2.2',
      port: 70,
      from: { host: '1.1.1.1', port: 1 },
    });
    assert.deepEqual(parseSwitch('m 1.1.1.1 x 2.2.2.2 70', 'm'), { host: '2.2.2.2', port: 70 }, 'no from');
  });
});

describe('LatestSwitch: the old master read as the new one for a while after a switch', () => {
  const at = { now: 1000 };
  const switched = (m: string) => parseSwitch(m, 'mymaster')!;

  it('redirects the old address to the announced one, and nothing else', () => {
    const l = new LatestSwitch(REDIRECT_MS, () => at.now);
    assert.equal(l.redirect('127.0.0.11:7001'), null, 'no switch seen');
    l.see(switched('mymaster 127.0.0.11 7001 127.0.0.12 7002'));
    assert.deepEqual(l.redirect('127.0.0.11:7001'), { host: '127.0.0.12', port: 7002 });
    assert.equal(l.redirect('127.0.0.12:7002'), null, 'the new master as it is');
    assert.equal(l.redirect('127.0.0.13:7003'), null);
  });

  it('stops after REDIRECT_MS, and a later switch (a fail-back) replaces it', () => {
    const l = new LatestSwitch(REDIRECT_MS, () => at.now);
    l.see(switched('mymaster 127.0.0.11 7001 127.0.0.12 7002'));
    at.now += REDIRECT_MS + 1;
    assert.equal(l.redirect('127.0.0.11:7001'), null);
    l.see(switched('mymaster 127.0.0.12 7002 127.0.0.11 7001'));
    assert.equal(l.redirect('127.0.0.11:7001'), null, 'back on the first node: it is the master');
    assert.deepEqual(l.redirect('127.0.0.12:7002'), { host: '127.0.0.11', port: 7001 });
    l.see({ host: '127.0.0.13', port: 7003 });
    assert.equal(l.redirect('127.0.0.12:7002'), null, 'a switch that does not say where from ends it');
  });
});
