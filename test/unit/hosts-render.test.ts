import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { render } from '../../src/ops/commands/render.ts';
import { renderHostFiles, unitOrder, VM_PATHS } from '../../src/ops/render/hosts.ts';
import { newHostSecrets } from '../../src/ops/render/hosts-secrets.ts';
import { parseEnvFile, parseUnit } from '../../src/ops/render/hosts-units.ts';
import { defineHosts, defineTopology, hostOf, hostTopology } from '../../src/ops/topology.ts';

const layout = defineHosts();
const topology = hostTopology(layout);
const secrets = newHostSecrets();
const files = renderHostFiles(layout, topology, { secrets });
const inBed = (a: string) => /^198\.1[89]\./.test(a);

describe('hosts in the topology', () => {
  it('places a Redis node, a Sentinel and an app on each of three hosts, at 198.18.0.0/15 addresses', () => {
    assert.deepEqual(
      layout.hosts.map((h) => [h.name, h.address, h.redis, h.sentinels, h.apps]),
      [
        ['host-1', '198.18.0.11', ['redis-1'], ['sentinel-1'], ['app-1']],
        ['host-2', '198.18.0.12', ['redis-2'], ['sentinel-2'], ['app-2']],
        ['host-3', '198.18.0.13', ['redis-3'], ['sentinel-3'], ['app-3']],
      ],
    );
    assert.ok(inBed(layout.floating) && inBed(layout.client) && inBed(layout.farClient));
    assert.notEqual(layout.farClient, layout.client);
    for (const n of [...topology.redis, ...topology.sentinels, ...topology.apps])
      assert.equal(n.host, hostOf(layout, n.name).address);
    assert.equal(topology.haproxy.host, layout.floating);
  });

  it('keeps the ports of the other targets', () => {
    const local = defineTopology({ counts: { apps: 3 } });
    assert.deepEqual(
      [...topology.redis, ...topology.sentinels, ...topology.apps].map((n) => n.port),
      [...local.redis, ...local.sentinels, ...local.apps].map((n) => n.port),
    );
  });

  it('spreads more nodes than hosts round the hosts, and refuses a single host', () => {
    const five = defineHosts({ redisNodes: 5, sentinels: 5 });
    assert.deepEqual(five.hosts[0]!.redis, ['redis-1', 'redis-4']);
    assert.throws(() => defineHosts({ hosts: 1 }), /from 2 to 9/);
  });
});

describe('render --target hosts', () => {
  it('writes one folder per host with configs, keepalived, the app environment and units', () => {
    const names = Object.keys(files).sort();
    for (const h of layout.hosts)
      for (const f of [
        'haproxy/haproxy.cfg',
        'keepalived/keepalived.conf',
        'keepalived/check-haproxy.sh',
        'keepalived/check-majority.sh',
        'keepalived/front-fault.sh',
        ...h.redis.map((n) => `redis/${n}.conf`),
        ...h.sentinels.map((n) => `sentinel/${n}.conf`),
        ...h.apps.map((n) => `app/${n}.env`),
        ...unitOrder(h).map((u) => `systemd/${u}.service`),
      ])
        assert.ok(names.includes(`${h.name}/${f}`), `missing ${h.name}/${f}`);
  });

  it('uses only 198.18.0.0/15 and no loopback node address', () => {
    for (const [name, text] of Object.entries(files)) {
      assert.doesNotMatch(text, /127\.0\.0\./, name);
      for (const a of text.match(/\b\d+\.\d+\.\d+\.\d+\b/g) ?? []) assert.ok(inBed(a), `${name}: ${a}`);
    }
  });

  it("binds each node to its host's address and starts the replicas on the first master", () => {
    const r2 = files['host-2/redis/redis-2.conf']!;
    assert.match(r2, /^bind 198\.18\.0\.12$/m);
    assert.match(r2, /^bind-source-addr 198\.18\.0\.12$/m);
    assert.match(r2, /^replicaof 198\.18\.0\.11 6380$/m);
    assert.match(r2, /^dir \/var\/lib\/ha-stack\/redis-2$/m);
    assert.match(
      files['host-3/sentinel/sentinel-3.conf']!,
      /^sentinel monitor mymaster 198\.18\.0\.11 6380 2$/m,
    );
    const cfg = files['host-1/haproxy/haproxy.cfg']!;
    assert.match(cfg, /^ {2}bind \*:8080$/m);
    assert.match(cfg, /^ {2}source 198\.18\.0\.11$/m);
    assert.match(cfg, /^ {2}server app-3 198\.18\.0\.13:3003$/m);
    assert.match(cfg, /^ {2}server redis-2 198\.18\.0\.12:6381$/m);
  });

  it('moves one floating address between the hosts with unicast VRRP only', () => {
    const k = files['host-2/keepalived/keepalived.conf']!;
    assert.match(k, /unicast_src_ip 198\.18\.0\.12\n/);
    assert.match(k, /unicast_peer \{\n\s+198\.18\.0\.11\n\s+198\.18\.0\.13\n\s+\}/);
    assert.match(k, /198\.18\.0\.100\/24 dev eth0/);
    assert.match(k, /track_script \{\n\s+haproxy_answers/);
    assert.match(k, /priority 140/);
    assert.doesNotMatch(k, /mcast|multicast/);
    assert.match(files['host-2/keepalived/check-haproxy.sh']!, /\/dev\/tcp\/198\.18\.0\.12\/8080/);
    // The address only on a host that reaches a majority: host-2 asks both others, needs one.
    assert.match(k, /track_script \{\n\s+haproxy_answers\n\s+majority_reachable\n/);
    assert.match(k, /script "\/bin\/bash \/etc\/ha-stack\/keepalived\/check-majority\.sh"/);
    const majority = files['host-2/keepalived/check-majority.sh']!;
    assert.match(majority, /for peer in 198\.18\.0\.11 198\.18\.0\.13; do/);
    assert.match(majority, /\/dev\/tcp\/\$peer\/8080/);
    assert.match(majority, /-ge 1 \]$/m);
    // ...and told at once by the host's guard, which asks the peers ten times a second
    // (majority-watch.ts) and writes its verdict where keepalived tracks it (weight 0: FAULT).
    assert.match(k, /track_file majority_heard \{\n\s+file "\/run\/ha-stack\/majority-heard"\n\s+weight 0\n/);
    assert.match(k, /track_file \{\n\s+majority_heard\n\s+\}/);
    const guard = parseEnvFile(files['host-2/guard.env']!);
    assert.equal(guard.MAJORITY_PEERS, '198.18.0.11:8080,198.18.0.13:8080');
    assert.equal(guard.MAJORITY_FILE, '/run/ha-stack/majority-heard');
    // A verdict from before a reboot is not kept: keepalived starts on 0 and its script decides.
    assert.deepEqual(parseUnit(files['host-2/systemd/ha-stack-keepalived.service']!).pre[1], [
      '/bin/rm',
      '-f',
      '/run/ha-stack/majority-heard',
    ]);
    // Giving the address up for a failed check stops this host's HAProxy (its pid file, its unit's -p)...
    assert.match(k, /notify_fault "\/bin\/bash \/etc\/ha-stack\/keepalived\/front-fault\.sh"/);
    assert.match(
      files['host-2/keepalived/front-fault.sh']!,
      /cat \/run\/ha-stack\/haproxy\.pid .*kill -TERM "\$pid"/,
    );
    assert.match(files['host-2/systemd/ha-stack-haproxy.service']!, /-p \/run\/ha-stack\/haproxy\.pid/);
    // ...then aborts every connection to the other hosts: nothing they hold is sent after a heal.
    assert.match(
      files['host-2/keepalived/front-fault.sh']!,
      /^ss -K dst 198\.18\.0\.11 .*\nss -K dst 198\.18\.0\.13 /m,
    );
  });

  it('gives each app the Sentinels of every host and trusts only the hosts as proxies', () => {
    const env = parseEnvFile(files['host-3/app/app-3.env']!);
    assert.equal(env.HOST, '198.18.0.13');
    assert.equal(env.PORT, '3003');
    assert.equal(env.REDIS_SENTINELS, '198.18.0.11:26380,198.18.0.12:26381,198.18.0.13:26382');
    assert.equal(env.TRUST_PROXY, '198.18.0.11,198.18.0.12,198.18.0.13');
    assert.equal(env.REDIS_PASSWORD, secrets.redis.app);
    assert.equal(env.SESSION_SECRET, secrets.sessionSecret);
  });

  it('has units whose commands read the rendered files at their place on the host', () => {
    const etc = (rel: string) => join(VM_PATHS.etc, rel);
    for (const h of layout.hosts)
      for (const u of unitOrder(h)) {
        const unit = parseUnit(files[`${h.name}/systemd/${u}.service`]!);
        const read = [...unit.pre.flat(), ...unit.exec, unit.environmentFile ?? ''].filter((w) =>
          w.startsWith(VM_PATHS.etc),
        );
        for (const path of read)
          assert.ok(
            Object.keys(files).some((f) => etc(f.slice(h.name.length + 1)) === path),
            `${u} names ${path}, not rendered`,
          );
      }
    const redis = parseUnit(files['host-1/systemd/ha-stack-redis-1.service']!);
    // The config Redis and Sentinel rewrite is copied once, never over a saved one.
    assert.deepEqual(redis.pre[1], [
      '/bin/cp',
      '-n',
      '/etc/ha-stack/redis/redis-1.conf',
      '/var/lib/ha-stack/redis-1/redis.conf',
    ]);
    const ka = parseUnit(files['host-1/systemd/ha-stack-keepalived.service']!);
    assert.ok(ka.exec.includes('--pid') && ka.exec.includes('--vrrp_pid'));
  });

  it('starts a Redis node through the entrypoint that asks the Sentinels first, as compose does', () => {
    const redis = parseUnit(files['host-2/systemd/ha-stack-redis-2.service']!);
    assert.deepEqual(redis.exec, [
      '/bin/sh',
      '/etc/ha-stack/bin/redis-entrypoint.sh',
      '/usr/bin/redis-server',
      '/var/lib/ha-stack/redis-2/redis.conf',
    ]);
    assert.equal(
      files['host-2/bin/redis-entrypoint.sh'],
      readFileSync('deploy/scripts/redis-entrypoint.sh', 'utf8'),
    );
    assert.equal(files['host-2/bin/passwords.sh'], readFileSync('deploy/scripts/passwords.sh', 'utf8'));
    const env = parseEnvFile(files['host-2/redis/redis-2.env']!);
    assert.equal(redis.environmentFile, '/etc/ha-stack/redis/redis-2.env');
    assert.equal(env['REDIS_SENTINELS'], topology.sentinels.map((x) => `${x.host}:${x.port}`).join(','));
    assert.equal(env['REDIS_ANNOUNCE_HOST'], topology.redis[1]!.host);
    assert.equal(env['SENTINEL_PASSWORD'], secrets.sentinel);
    assert.equal(env['SENTINEL_DOWN_AFTER'], String(topology.downAfterMs));
  });

  it('the command writes private files and keeps the passwords of an earlier render', async () => {
    const out = mkdtempSync(join(tmpdir(), 'hosts-render-'));
    const write = process.stdout.write;
    process.stdout.write = () => true;
    try {
      await render(['--target', 'hosts', '--out', out]);
      const first = readFileSync(join(out, 'host-1/app/app-1.env'), 'utf8');
      await render(['--target', 'hosts', '--out', out]);
      assert.equal(readFileSync(join(out, 'host-1/app/app-1.env'), 'utf8'), first);
      assert.equal(statSync(join(out, 'secrets.json')).mode & 0o777, 0o600);
      assert.equal(statSync(join(out, 'host-1/app/app-1.env')).mode & 0o777, 0o600);
      assert.equal(statSync(join(out, 'host-1/app')).mode & 0o777, 0o700);
      await render(['--target', 'hosts', '--out', out, '--check']);
    } finally {
      process.stdout.write = write;
      rmSync(out, { recursive: true, force: true });
    }
  });
});
