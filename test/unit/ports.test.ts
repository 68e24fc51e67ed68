import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { freePort, isPortFree } from '../../src/ops/supervisor/ports.ts';

describe('free ports for a stack', () => {
  it('are free, distinct, and below the ephemeral range that outgoing connections draw from', async () => {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    const ports = [];
    for (let i = 0; i < 30; i++) ports.push(await freePort());
    assert.equal(new Set(ports).size, ports.length);
    for (const p of ports) {
      assert.ok(p >= 1024 && p < low, `${p} outside [1024, ${low})`);
      assert.ok(await isPortFree(p), `${p} in use`);
    }
  });
});
