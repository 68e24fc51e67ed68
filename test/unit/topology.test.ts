import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readOperatorConfig } from '../../src/app/operator/config.ts';
import { describeSentinelEvent, isTimelineEvent } from '../../src/app/operator/topology/events.ts';
import { ConfigError } from '../../src/config/index.ts';
import { parseStatsCsv } from '../../src/ha/haproxy-stats.ts';

const names: Record<string, string> = { '127.0.0.1:6380': 'redis-1', '127.0.0.1:6381': 'redis-2' };
const name = (h: string, p: string) => names[`${h}:${p}`] ?? `${h}:${p}`;

describe('topology: Sentinel events', () => {
  it('names the nodes and keeps the remarks', () => {
    assert.equal(
      describeSentinelEvent('+switch-master', 'mymaster 127.0.0.1 6380 127.0.0.1 6381', 'mymaster', name),
      'new master redis-2 (was redis-1)',
    );
    assert.equal(
      describeSentinelEvent('+odown', 'master mymaster 127.0.0.1 6380 #quorum 2/2', 'mymaster', name),
      'master redis-1: down for a quorum of Sentinels (quorum 2/2)',
    );
    assert.equal(
      describeSentinelEvent(
        '+promoted-slave',
        'slave 127.0.0.1:6381 127.0.0.1 6381 @ mymaster 127.0.0.1 6380',
        'mymaster',
        name,
      ),
      'replica redis-2: replica promoted',
    );
  });

  it('leaves out other masters and chatter', () => {
    assert.equal(describeSentinelEvent('+sdown', 'master other 10.0.0.1 6379', 'mymaster', name), undefined);
    assert.equal(isTimelineEvent('+sdown'), true);
    assert.equal(isTimelineEvent('+sentinel'), false);
    assert.equal(isTimelineEvent('__sentinel__:hello'), false);
  });
});

describe('topology: HAProxy stats CSV', () => {
  const csv = [
    '# pxname,svname,qcur,status,check_status,check_code,check_duration,type,',
    'http,FRONTEND,,OPEN,,,,0,',
    'apps,app-1,0,UP,L7OK,200,2,2,',
    'apps,app-2,0,DOWN,L7STS,503,1,2,',
    'apps,app-3,0,UP 1/2,L7STS,503,1,2,',
    'apps,BACKEND,0,UP,,,,1,',
  ].join('\n');

  it('keeps the servers with their state and last check', () => {
    assert.deepEqual(parseStatsCsv(csv), [
      { backend: 'apps', server: 'app-1', status: 'UP', check: 'L7OK/200 in 2ms', ready: true },
      { backend: 'apps', server: 'app-2', status: 'DOWN', check: 'L7STS/503 in 1ms', ready: false },
      // Falling but still up: HAProxy still sends it requests.
      { backend: 'apps', server: 'app-3', status: 'UP 1/2', check: 'L7STS/503 in 1ms', ready: true },
    ]);
  });

  it('refuses what is not a stats CSV', () => {
    assert.throws(() => parseStatsCsv('<html>login</html>'), /not an HAProxy stats CSV/);
  });
});

describe('topology: configuration', () => {
  const base = { REDIS_SENTINELS: '127.0.0.1:26380,127.0.0.1:26381', OPERATOR_DASHBOARD: 'true' };
  const topologyOf = (env: Record<string, string>) => readOperatorConfig(env, 'production')?.topology;

  it('watches the Sentinels of REDIS_SENTINELS and nothing else by default', () => {
    const t = topologyOf(base)!;
    assert.deepEqual(
      t.sentinels.map((s) => s.name),
      ['127.0.0.1:26380', '127.0.0.1:26381'],
    );
    assert.deepEqual(t.redisNodes, []);
    assert.equal(t.haproxyStatsUrl, undefined);
    assert.equal(t.pollMs, 500);
  });

  it('reads named nodes, named Sentinels and the stats URL', () => {
    const t = topologyOf({
      ...base,
      TOPOLOGY_REDIS_NODES: 'redis-1=127.0.0.1:6380, 127.0.0.1:6381',
      TOPOLOGY_SENTINELS: 'sentinel-1=127.0.0.1:26380',
      HAPROXY_STATS_URL: 'http://127.0.0.1:8404/stats',
    })!;
    assert.deepEqual(t.redisNodes, [
      { name: 'redis-1', host: '127.0.0.1', port: 6380 },
      { name: '127.0.0.1:6381', host: '127.0.0.1', port: 6381 },
    ]);
    assert.deepEqual(t.sentinels, [{ name: 'sentinel-1', host: '127.0.0.1', port: 26380 }]);
    assert.equal(t.haproxyStatsUrl, 'http://127.0.0.1:8404/stats');
  });

  it('names the variable that is wrong', () => {
    for (const [variable, value] of [
      ['TOPOLOGY_REDIS_NODES', 'redis-1=nowhere'],
      ['TOPOLOGY_SENTINELS', 'bad name=127.0.0.1:1'],
      ['HAPROXY_STATS_URL', 'ftp://x/stats'],
      ['TOPOLOGY_POLL_MS', '5'],
    ] as const) {
      assert.throws(
        () => topologyOf({ ...base, [variable]: value }),
        (err: unknown) => err instanceof ConfigError && err.variable === variable,
        variable,
      );
    }
  });
});

describe('why a watched node is down, for a person to read', () => {
  it('names refused and lost connections instead of a client library message', async () => {
    const { whyDown } = await import('../../src/ha/watch.ts');
    assert.equal(
      whyDown(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
      'connection refused',
    );
    assert.equal(
      whyDown(
        new Error('Reached the max retries per request limit (which is 0). Refer to "maxRetriesPerRequest"'),
      ),
      'connection lost',
    );
    assert.equal(whyDown(new Error('Command timed out')), 'no reply in time');
  });
});
