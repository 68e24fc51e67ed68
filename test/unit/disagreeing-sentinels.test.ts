// Right after a failover the Sentinels disagree: those that have not heard of it yet still name the
// old master, in an older configuration epoch. `ha-stack status` and the topology page must name the
// same master at that moment: the one of the newest epoch, even when more Sentinels name the other.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { masterOf } from '../../src/app/operator/topology/rows.ts';
import { sentinelView } from '../../src/ha/probes.ts';
import { collectStatus } from '../../src/ops/status.ts';
import { freePort } from '../../src/ops/supervisor/ports.ts';
import { defineTopology, type Topology } from '../../src/ops/topology.ts';
import { type Answer, RespServer } from '../helpers/resp-server.ts';

/** A Sentinel that names `master` in configuration `epoch`, as Redis 7 answers. */
function sentinel(master: { host: string; port: number }, epoch: number): RespServer {
  const s = new RespServer();
  s.handle = (cmd): Answer => {
    const sub = cmd[1]?.toUpperCase();
    if (cmd[0] === 'SENTINEL' && sub === 'MASTER')
      return [
        'name',
        'mymaster',
        'ip',
        master.host,
        'port',
        String(master.port),
        'flags',
        'master',
        'config-epoch',
        String(epoch),
        'num-slaves',
        '2',
        'num-other-sentinels',
        '2',
        'quorum',
        '2',
      ];
    if (cmd[0] === 'SENTINEL' && sub === 'GET-MASTER-ADDR-BY-NAME') return [master.host, String(master.port)];
    if (cmd[0] === 'INFO') return '# Sentinel\r\nsentinel_masters:1\r\nsentinel_tilt:0\r\n';
    return undefined;
  };
  return s;
}

describe('Sentinels that disagree about the master', () => {
  let topology: Topology;
  const sentinels: RespServer[] = [];

  before(async () => {
    // Nothing listens on the Redis nodes' ports: only the Sentinels' answers decide.
    const ports = {
      'redis-1': await freePort(),
      'redis-2': await freePort(),
      'redis-3': await freePort(),
    };
    const redis1 = { host: '127.0.0.1', port: ports['redis-1'] };
    const redis2 = { host: '127.0.0.1', port: ports['redis-2'] };
    // Two Sentinels still name redis-1 (epoch 1); one has the failover to redis-2 (epoch 2).
    sentinels.push(sentinel(redis1, 1), sentinel(redis1, 1), sentinel(redis2, 2));
    for (const s of sentinels) await s.start();
    topology = defineTopology({
      host: '127.0.0.1',
      ports: {
        ...ports,
        'sentinel-1': sentinels[0]!.port,
        'sentinel-2': sentinels[1]!.port,
        'sentinel-3': sentinels[2]!.port,
      },
    });
  });

  after(async () => {
    for (const s of sentinels) await s.stop();
  });

  it('status and the topology page both name the master of the newest epoch', async () => {
    const status = await collectStatus(
      topology,
      { login: { password: undefined }, sentinelPassword: undefined },
      { url: 'http://127.0.0.1:1/stats', password: undefined },
      0,
    );
    assert.equal(status.master, 'redis-2');

    const beliefs = await Promise.all(
      topology.sentinels.map(async (s) => ({
        value: await sentinelView(s.host, s.port, topology.masterName, undefined),
      })),
    );
    const page = masterOf(
      {
        masterName: topology.masterName,
        redisNodes: topology.redis.map((r) => ({ name: r.name, host: r.host, port: r.port })),
        sentinels: topology.sentinels.map((s) => ({ name: s.name, host: s.host, port: s.port })),
        haproxyStatsUrl: undefined,
        haproxyAppBackend: 'apps',
        pollMs: 500,
        stateFile: undefined,
      },
      beliefs,
      [],
    );
    assert.equal(page?.name, 'redis-2');
    assert.equal(page?.name, status.master);
  });
});
