import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSwitch } from '../../src/ha/switch.ts';

describe('+switch-master', () => {
  it('gives the new address of the master, not the old one', () => {
    // <master name> <old ip> <old port> <new ip> <new port>
    assert.deepEqual(parseSwitch('mymaster 127.0.0.11 7001 127.0.0.12 7002', 'mymaster'), {
      host: '127.0.0.12',
      port: 7002,
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
    assert.deepEqual(parseSwitch('m 1.1.1.1 1 2.2.2.2 70', 'm'), { host: '2.2.2.2', port: 70 });
  });
});
