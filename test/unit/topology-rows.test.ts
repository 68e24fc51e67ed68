import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TopologyConfig } from '../../src/app/operator/config.ts';
import { masterOf, nameOf, nodeRows, quorumOf, sentinelRows } from '../../src/app/operator/topology/rows.ts';
import { isReady, parseStatsCsv, readyServers } from '../../src/ha/haproxy-stats.ts';
import type { NodeInfo } from '../../src/ha/info.ts';
import { newestMaster, type SentinelBelief } from '../../src/ha/sentinel/belief.ts';
import { parseSentinelMaster } from '../../src/ha/sentinel/replies.ts';

const config: TopologyConfig = {
  masterName: 'mymaster',
  redisNodes: [
    { name: 'redis-1', host: '127.0.0.11', port: 7001 },
    { name: 'redis-2', host: '127.0.0.12', port: 7002 },
    { name: 'redis-3', host: '127.0.0.13', port: 7003 },
  ],
  sentinels: [
    { name: 'sentinel-1', host: '127.0.0.21', port: 8001 },
    { name: 'sentinel-2', host: '127.0.0.22', port: 8002 },
  ],
  haproxyStatsUrl: undefined,
  haproxyAppBackend: 'apps',
  pollMs: 500,
  stateFile: undefined,
};

const node = (over: Partial<NodeInfo>): NodeInfo => ({
  role: 'slave',
  offset: 0,
  connectedReplicas: 0,
  linkUp: true,
  replicas: [],
  memory: null,
  ...over,
});

const belief = (over: Partial<SentinelBelief>): SentinelBelief => ({
  master: { host: '127.0.0.11', port: 7001 },
  flags: 'master',
  configEpoch: 0,
  replicas: 2,
  otherSentinels: 1,
  failoverState: '',
  tilt: false,
  quorum: 2,
  ...over,
});

describe('topology rows', () => {
  it('name a known address, and show an unknown one as it is', () => {
    assert.equal(nameOf(config, '127.0.0.12', '7002'), 'redis-2');
    assert.equal(nameOf(config, '127.0.0.22', 8002), 'sentinel-2');
    assert.equal(nameOf(config, '127.0.0.12', 7003), '127.0.0.12:7003');
  });

  it('give each replica its lag behind the master, in bytes and as the master saw it', () => {
    const master = node({
      role: 'master',
      offset: 1000,
      connectedReplicas: 2,
      replicas: [
        { ip: '127.0.0.12', port: 7002, offset: 900, lag: 1 },
        { ip: '127.0.0.13', port: 7003, offset: 400, lag: 3 },
      ],
      memory: { used: 10, max: 100 },
    });
    const states = [
      { value: master, error: null },
      { value: node({ offset: 900, masterHost: '127.0.0.11', masterPort: 7001 }), error: null },
      { value: null, error: 'connect ECONNREFUSED' },
    ];
    const processes = new Map([['redis-2', { status: 'running', restarts: 3 }]]);
    const [m, r2, r3] = nodeRows(config, states, processes);
    assert.equal(m!.role, 'master');
    assert.equal(m!.replicas, 2);
    assert.equal(m!.lagBytes, null);
    assert.equal(m!.usedMemory, 10);
    assert.equal(r2!.role, 'replica');
    assert.equal(r2!.following, 'redis-1');
    assert.equal(r2!.lagBytes, 100);
    assert.equal(r2!.lagSeconds, 1);
    assert.equal(r2!.link, 'up');
    assert.equal(r2!.restarts, 3);
    assert.equal(r2!.process, 'running');
    assert.equal(r3!.up, false);
    assert.equal(r3!.role, 'down');
    assert.equal(r3!.error, 'connect ECONNREFUSED');
    assert.equal(r3!.restarts, null);
  });

  it('report no lag without a master, and a link down as down', () => {
    const states = [
      { value: node({ linkUp: false, offset: 50 }), error: null },
      { value: node({ offset: 70 }), error: null },
      { value: node({ role: 'unknown' }), error: null },
    ];
    const [a, b, c] = nodeRows(config, states, new Map());
    assert.equal(a!.link, 'down');
    assert.equal(a!.lagBytes, null);
    assert.equal(b!.lagBytes, null);
    assert.equal(c!.role, 'unknown');
  });

  it("take the master from the Sentinels' newest configuration, not from the most of them", () => {
    const old = belief({ configEpoch: 3 });
    const fresh = belief({ master: { host: '127.0.0.12', port: 7002 }, configEpoch: 4 });
    const nodes = nodeRows(config, [], new Map());
    assert.deepEqual(masterOf(config, [{ value: old }, { value: old }, { value: fresh }], nodes), {
      name: 'redis-2',
      address: '127.0.0.12:7002',
    });
    // The same epoch: the one more Sentinels name.
    const tie = belief({ master: { host: '127.0.0.13', port: 7003 }, configEpoch: 3 });
    assert.equal(masterOf(config, [{ value: tie }, { value: old }, { value: old }], nodes)?.name, 'redis-1');
  });

  it('without a Sentinel, take the one node that reports master, and none when two do', () => {
    const one = nodeRows(
      config,
      [
        { value: node({ role: 'master' }), error: null },
        { value: node({}), error: null },
      ],
      new Map(),
    );
    assert.deepEqual(masterOf(config, [{ value: null }], one), {
      name: 'redis-1',
      address: '127.0.0.11:7001',
    });
    const two = nodeRows(
      config,
      [
        { value: node({ role: 'master' }), error: null },
        { value: node({ role: 'master' }), error: null },
      ],
      new Map(),
    );
    assert.equal(masterOf(config, [{ value: null }], two), null);
  });

  it("show each Sentinel's belief, TILT and error", () => {
    const rows = sentinelRows(
      config,
      [
        { value: belief({ tilt: true, configEpoch: 7 }), error: null },
        { value: null, error: 'NOAUTH' },
      ],
      new Map([['sentinel-2', { status: 'exited', restarts: 1 }]]),
    );
    assert.deepEqual(
      rows.map((r) => [r.name, r.up, r.master, r.tilt, r.configEpoch, r.error, r.restarts]),
      [
        ['sentinel-1', true, 'redis-1', true, 7, null, null],
        ['sentinel-2', false, null, false, null, 'NOAUTH', 1],
      ],
    );
  });

  it('take the quorum the Sentinels were given, or a majority when none answers', () => {
    assert.equal(quorumOf([{ value: belief({ quorum: 3 }) }, { value: null }]), 3);
    assert.equal(quorumOf([{ value: null }, { value: null }, { value: null }]), 2);
    assert.equal(quorumOf([{ value: null }, { value: null }, { value: null }, { value: null }]), 3);
  });
});

describe('Sentinel and HAProxy replies', () => {
  it('SENTINEL MASTER: the fields by name, wherever they are in the list', () => {
    const raw = ['name', 'mymaster', 'ip', '127.0.0.12', 'port', '7002', 'flags', 'master', 'num-slaves'];
    raw.push('2', 'num-other-sentinels', '2', 'quorum', '2', 'config-epoch', '5');
    assert.deepEqual(parseSentinelMaster(raw), {
      master: { host: '127.0.0.12', port: 7002 },
      quorum: 2,
      flags: 'master',
      configEpoch: 5,
      replicas: 2,
      otherSentinels: 2,
      failoverState: '',
    });
    assert.equal(parseSentinelMaster(['flags', 'master,disconnected']).master, null);
  });

  it('newest master: the highest epoch wins, then votes; none from no answers', () => {
    const a = { master: { host: 'a', port: 1 }, configEpoch: 1 };
    const b = { master: { host: 'b', port: 2 }, configEpoch: 2 };
    assert.deepEqual(newestMaster([a, a, b, null]), { host: 'b', port: 2, epoch: 2, votes: 1 });
    assert.deepEqual(newestMaster([a, a, { ...b, configEpoch: 1 }]), {
      host: 'a',
      port: 1,
      epoch: 1,
      votes: 2,
    });
    assert.equal(newestMaster([null, undefined, { master: null, configEpoch: 9 }]), undefined);
  });

  it('HAProxy: a server gets traffic when UP, going down (UP 1/2) or unchecked; never when rising', () => {
    for (const s of ['UP', 'UP 1/2', 'no check']) assert.equal(isReady(s), true, s);
    for (const s of ['DOWN', 'DOWN 1/2', 'MAINT', 'DRAIN', 'NOLB', '']) assert.equal(isReady(s), false, s);
    const csv = [
      '# pxname,svname,status,check_status,check_code,check_duration,type',
      'http,FRONTEND,OPEN,,,,0',
      'apps,app-1,UP,L7OK,200,2,2',
      'apps,app-2,DOWN 1/2,L7STS,503,1,2',
      'apps,BACKEND,UP,,,,1',
      'redis_master,redis-1,UP 1/2,L7TOUT,,,2',
      '',
    ].join('\n');
    const servers = parseStatsCsv(csv);
    assert.deepEqual(
      servers.map((s) => [s.backend, s.server, s.check]),
      [
        ['apps', 'app-1', 'L7OK/200 in 2ms'],
        ['apps', 'app-2', 'L7STS/503 in 1ms'],
        ['redis_master', 'redis-1', 'L7TOUT'],
      ],
    );
    assert.deepEqual(readyServers(servers, 'apps'), ['app-1']);
    assert.deepEqual(readyServers(servers, 'redis_master'), ['redis-1']);
    assert.throws(() => parseStatsCsv('<html>login</html>'), /not an HAProxy stats CSV/);
  });
});
