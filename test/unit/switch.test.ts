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
});
