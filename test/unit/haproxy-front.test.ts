// haproxy.cfg, what the fronts do about their clients: the address from the connection, IPv6
// clients counted by their /64, whole requests (bodies too) within the request timeout, the
// connections to the apps from HAProxy's own address, and a request log without secrets.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REQUEST_LOG_FORMAT, renderHaproxyCfg } from '../../src/ops/render/haproxy.ts';
import { defineTopology, PROXY_SOURCE_ADDRESS } from '../../src/ops/topology.ts';

const t = defineTopology();
const local = renderHaproxyCfg(t, { target: 'local', password: 'pw', operatorPassword: 'op' });
const compose = renderHaproxyCfg(defineTopology({ host: 'app' }), { target: 'compose', password: 'pw' });

/** The trimmed lines of one section (`frontend http`), up to the next one. */
function section(cfg: string, head: string): string[] {
  const all = cfg.split('\n');
  const from = all.indexOf(head);
  assert.ok(from >= 0, `no section ${head}`);
  const to = all.findIndex((l, i) => i > from && /^\S/.test(l));
  return all.slice(from + 1, to < 0 ? undefined : to).map((l) => l.trim());
}

const fronts = ['frontend http', 'frontend operator'];

describe('haproxy.cfg: the fronts and their clients', () => {
  it("replaces the client's X-Forwarded-For with the connection's address, never appends to it", () => {
    for (const cfg of [local, compose]) {
      assert.doesNotMatch(cfg, /option forwardfor/);
      for (const front of fronts)
        assert.ok(section(cfg, front).includes('http-request set-header X-Forwarded-For %[src]'), front);
    }
  });

  it('counts an IPv6 client by its /64 and an IPv4 one by its address, on both fronts', () => {
    for (const front of fronts) {
      const lines = section(local, front);
      assert.equal(lines[1], 'tcp-request connection track-sc0 src,ipmask(32,64) table per_address', front);
    }
    assert.match(section(local, 'backend per_address')[0]!, /^stick-table type ipv6 /);
  });

  it('waits for the whole request, body included, within the request timeout', () => {
    assert.ok(section(local, 'defaults').includes('timeout http-request 10s'));
    for (const front of fronts)
      assert.ok(section(local, front).includes('option http-buffer-request'), front);
  });

  it('connects to the apps from its own address locally, the one the apps believe', () => {
    assert.equal(PROXY_SOURCE_ADDRESS, '127.0.0.80');
    assert.equal(section(local, 'backend apps')[0], `source ${PROXY_SOURCE_ADDRESS}`);
    for (const app of t.apps)
      assert.equal(section(local, `backend metrics-${app.name}`)[0], `source ${PROXY_SOURCE_ADDRESS}`);
    // In compose the container's fixed address is the source; the Redis front is left alone.
    assert.doesNotMatch(compose, /^\s*source /m);
    assert.ok(!section(local, 'backend redis_master').some((l) => l.startsWith('source ')));
    const other = renderHaproxyCfg(t, { target: 'local', password: undefined, appSource: '127.0.0.99' });
    assert.equal(section(other, 'backend apps')[0], 'source 127.0.0.99');
  });

  it('logs every request to standard output, without headers, cookies or query strings', () => {
    for (const cfg of [local, compose]) {
      assert.ok(section(cfg, 'global').includes('log stdout format raw local0 info'));
      assert.ok(section(cfg, 'defaults').includes('log global'));
      for (const front of fronts)
        assert.ok(section(cfg, front).includes(`log-format "${REQUEST_LOG_FORMAT}"`), front);
      assert.ok(section(cfg, 'frontend redis').includes('option tcplog'));
      // Nothing captures a header or a cookie for the log to show.
      assert.doesNotMatch(cfg, /capture (request|response|cookie)/);
    }
    // No captured headers (%hr %hs) or cookies (%CC %CS), no full request line (%r) or URI (%HU)
    // or query (%HQ); the path alone, the status, the timers, the front's request id.
    const hidden = REQUEST_LOG_FORMAT.split(' ').filter((f) =>
      /%(\{[^}]*\})?(hr|hs|CC|CS|r|HU|HQ|HP)$/.test(f),
    );
    assert.deepEqual(hidden, []);
    for (const shown of ['%ci:%cp', '%ft %b/%s', '%ST', '%tsc', '%ID', '%{+Q}HM %{+Q}HPO'])
      assert.ok(REQUEST_LOG_FORMAT.includes(shown), shown);
  });
});
