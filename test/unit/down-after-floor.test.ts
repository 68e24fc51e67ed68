// The lowest down-after the stack accepts (src/ops/topology/timings.ts): below it Sentinel was seen
// to fail back to the old master right after a failover. Every way in refuses it with the reason.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/config/types.ts';
import { OPS_SETTINGS, topologyFromEnv } from '../../src/ops/settings.ts';
import { DOWN_AFTER_FLOOR_MS, defineTopology } from '../../src/ops/topology.ts';

const refusal = (fn: () => unknown): ConfigError => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
  assert.fail('not refused');
};

describe('the down-after floor', () => {
  it('is 2000 ms, and the default', () => {
    assert.equal(DOWN_AFTER_FLOOR_MS, 2000);
    assert.equal(defineTopology().downAfterMs, 2000);
  });

  it('SENTINEL_DOWN_AFTER_MS below it is refused, naming the floor and why', () => {
    const err = refusal(() => topologyFromEnv({ SENTINEL_DOWN_AFTER_MS: '1999' }));
    assert.equal(err.variable, 'SENTINEL_DOWN_AFTER_MS');
    assert.match(
      err.message,
      /must be at least 2000 ms, got 1999: below it a Sentinel can judge the master it has just elected down/,
    );
    assert.equal(topologyFromEnv({ SENTINEL_DOWN_AFTER_MS: '2000' }).downAfterMs, 2000);
    assert.equal(topologyFromEnv({ SENTINEL_DOWN_AFTER_MS: '2147483647' }).downAfterMs, 2_147_483_647);
    for (const bad of ['2147483648', '1.5', 'ten', '-2000', '0x7d0'])
      assert.equal(
        refusal(() => topologyFromEnv({ SENTINEL_DOWN_AFTER_MS: bad })).variable,
        'SENTINEL_DOWN_AFTER_MS',
        bad,
      );
    assert.match(OPS_SETTINGS.SENTINEL_DOWN_AFTER_MS.allowed ?? '', /^2000 to 2147483647/);
  });

  it('the topology refuses it too, so no renderer (local, compose, Kubernetes) writes it', () => {
    assert.match(refusal(() => defineTopology({ downAfterMs: 1000 })).message, /at least 2000 ms, got 1000/);
    assert.match(refusal(() => defineTopology({ downAfterMs: 1500 })).message, /fail back to the old one/);
  });
});
