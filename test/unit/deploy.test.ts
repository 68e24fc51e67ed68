// Over 300 lines: the generated deploy files (20 cases) read once and checked against each other.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ACL_RULES, DEFAULT_USER, REDIS_USERS } from '../../src/ops/render/acl.ts';
import {
  composeDocument,
  composeService,
  composeTopology,
  PUBLISHED_PORTS,
  renderComposeFiles,
  USER_PASSWORD_VARIABLES,
} from '../../src/ops/render/compose.ts';
import { profileServices } from '../../src/ops/render/compose-profiles.ts';
import { renderHaproxyCfg } from '../../src/ops/render/haproxy.ts';
import { renderRedisConf } from '../../src/ops/render/redis.ts';
import { defaultPort, defineTopology } from '../../src/ops/topology.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEPLOY = join(ROOT, 'deploy');

interface Service {
  image: string;
  build?: { context: string; dockerfile: string };
  restart?: string;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}
const doc = composeDocument() as unknown as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const services = doc.services;
const svc = (name: string) => {
  const s = services[name];
  assert.ok(s, `no service ${name}`);
  return s;
};
const files = renderComposeFiles();
/** The services that start only with their profile (`docker compose --profile NAME`). */
const PROFILED = profileServices(composeTopology());
const configLines = (text: string) => text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));

describe('deploy/: generated files', () => {
  it('are committed exactly as the renderers produce them now', () => {
    for (const [path, text] of Object.entries(files)) {
      const committed = readFileSync(join(DEPLOY, path), 'utf8');
      assert.equal(
        committed,
        text,
        `deploy/${path} differs from the renderer: run "npm run ha-stack -- render --target compose --out deploy/"`,
      );
      assert.match(committed, /^# GENERATED .*do not edit/, `deploy/${path} lacks the generated header`);
    }
  });

  it('leave no stale generated file behind', () => {
    for (const dir of ['redis', 'haproxy']) {
      for (const f of readdirSync(join(DEPLOY, dir)))
        assert.ok(`${dir}/${f}` in files, `deploy/${dir}/${f} is not produced by the renderer any more`);
    }
  });

  it('hold no secret: every password comes from the environment at start', () => {
    for (const [path, text] of Object.entries(files)) {
      assert.doesNotMatch(text, /^\s*(requirepass|masterauth|sentinel auth-pass)/m, path);
      if (path.startsWith('redis/')) assert.doesNotMatch(text, /^user /m, `${path}: ACL users`);
    }
    // biome-ignore lint/suspicious/noTemplateCurlyInString: HAProxy expands the variable
    const auth = 'tcp-check send "AUTH haproxy ${REDIS_HAPROXY_PASSWORD}\\r\\n"';
    assert.ok(files['haproxy/haproxy.cfg']!.includes(auth));
    const reference = /^\$\{[A-Z_]+:\?.+\}$/;
    // The monitoring profile's own password and its hash: needed by that profile only, so a plain
    // `up` does not ask for them (its entrypoint refuses to start without them).
    const optional = /^\$\{(MONITORING_PASSWORD|MONITORING_PASSWORD_HASH):-\}$/;
    for (const name of Object.keys(services)) {
      const s = svc(name);
      for (const [k, v] of Object.entries(s.environment ?? {}))
        if (/PASSWORD|SECRET|AUTH/.test(k))
          assert.match(v, k.startsWith('MONITORING_') ? optional : reference, `${name} ${k}`);
      // No password in any command or entrypoint: only names of variables ($$NAME, filled in by an entrypoint).
      for (const arg of [...(s.command ?? []), ...(s.entrypoint ?? [])])
        assert.doesNotMatch(arg, /\$\{[A-Z_]*(PASSWORD|SECRET)/, `${name}: ${arg}`);
      const cmd = s.command ?? [];
      // In a command, a password is named by a variable of the service's environment (`$$NAME`,
      // which reaches the entrypoint as `$NAME`), never given.
      const named = /^\$\$([A-Z_]+_PASSWORD)$/;
      for (const [i, arg] of cmd.entries()) {
        const value = /^--(requirepass|masterauth)$/.test(arg)
          ? (cmd[i + 1] ?? '')
          : arg.startsWith('>')
            ? arg.slice(1)
            : undefined;
        if (value === undefined) continue;
        const variable = named.exec(value)?.[1];
        assert.ok(variable, `${name} ${arg} ${value}`);
        assert.match(s.environment?.[variable] ?? '', reference, `${name}: ${variable} from the environment`);
        assert.deepEqual(s.entrypoint, ['sh', '/usr/local/bin/redis-entrypoint.sh'], `${name} fills it in`);
      }
      assert.ok(!cmd.includes('--requirepass'), `${name}: the default user is off, it has no password`);
    }
    assert.ok(svc('redis-master').command?.includes('--masterauth'));
  });

  it('give every Redis node the ACL users of local mode, default off, and a maxmemory', () => {
    for (const r of composeTopology().redis) {
      const cmd = svc(r.host).command ?? [];
      const users = new Map<string, string[]>();
      cmd.forEach((arg, i) => {
        if (arg !== '--user') return;
        const end = cmd.findIndex((a, j) => j > i && a.startsWith('--'));
        const [name, ...rules] = cmd.slice(i + 1, end === -1 ? undefined : end);
        users.set(name!, rules);
      });
      assert.deepEqual([...users.keys()], ['default', ...REDIS_USERS]);
      assert.deepEqual(users.get('default'), DEFAULT_USER);
      for (const u of REDIS_USERS) {
        const [on, password, ...rules] = users.get(u)!;
        assert.equal(on, 'on');
        assert.equal(password, `>$$${USER_PASSWORD_VARIABLES[u]}`);
        assert.deepEqual(rules, ACL_RULES[u]);
      }
      const mem = cmd.indexOf('--maxmemory');
      // biome-ignore lint/suspicious/noTemplateCurlyInString: compose variables
      assert.equal(cmd[mem + 1], '${REDIS_MAXMEMORY:-256mb}');
      assert.ok(files[`redis/${r.host}.conf`]!.includes('\nmaxmemory-policy noeviction\n'));
      assert.ok(files[`redis/${r.host}.conf`]!.includes('\nmasteruser replication\n'));
    }
  });
});

describe('deploy/compose.yaml', () => {
  it('has the documented services, and those of a profile apart', () => {
    assert.deepEqual(
      Object.keys(services)
        .filter((n) => !(n in PROFILED))
        .sort(),
      [
        'app-1',
        'app-2',
        'functions',
        'haproxy',
        'redis-master',
        'redis-replica-1',
        'redis-replica-2',
        'redis-sentinel-1',
        'redis-sentinel-2',
        'redis-sentinel-3',
      ],
    );
    assert.deepEqual(
      Object.fromEntries(
        Object.entries(PROFILED).map(([n, s]) => [n, (s as { profiles: string[] }).profiles]),
      ),
      {
        redisinsight: ['tools'],
        backup: ['backup'],
        restore: ['restore'],
        'redis-exporter-1': ['monitoring'],
        'redis-exporter-2': ['monitoring'],
        'redis-exporter-3': ['monitoring'],
        'sentinel-exporter': ['monitoring'],
        alertmanager: ['monitoring'],
        prometheus: ['monitoring'],
      },
    );
  });

  it('starts things in order: master, replicas, Sentinels, apps, HAProxy, each after the previous is healthy', () => {
    const order: string[] = [];
    const visit = (name: string, path: string[]) => {
      assert.ok(!path.includes(name), `dependency cycle: ${[...path, name].join(' -> ')}`);
      if (order.includes(name)) return;
      for (const dep of Object.keys(svc(name).depends_on ?? {})) visit(dep, [...path, name]);
      order.push(name);
    };
    for (const name of Object.keys(services)) visit(name, []);
    const at = (n: string) => order.indexOf(n);
    assert.ok(at('redis-master') < at('redis-replica-1') && at('redis-master') < at('redis-replica-2'));
    for (const s of ['redis-sentinel-1', 'redis-sentinel-2', 'redis-sentinel-3']) {
      assert.ok(at('redis-replica-1') < at(s) && at('redis-replica-2') < at(s));
      assert.ok(at(s) < at('app-1') && at(s) < at('app-2') && at(s) < at('redisinsight'));
    }
    assert.ok(at('app-1') < at('haproxy') && at('app-2') < at('haproxy'));
    // The app's Redis functions are loaded (a one-shot, as the operator) before any app starts.
    for (const s of ['redis-sentinel-1', 'redis-sentinel-2', 'redis-sentinel-3'])
      assert.ok(at(s) < at('functions'));
    assert.ok(at('functions') < at('app-1') && at('functions') < at('app-2'));
    assert.deepEqual(svc('functions').command, ['node', 'dist/app/load-functions.js']);
    const fnEnv = (svc('functions') as unknown as { environment: Record<string, string> }).environment;
    assert.equal(fnEnv['REDIS_USERNAME'], 'operator');
    assert.equal(fnEnv['REDIS_SENTINEL_USERNAME'], 'reader');
    for (const a of ['app-1', 'app-2']) {
      const appEnv = (svc(a) as unknown as { environment: Record<string, string> }).environment;
      assert.ok(
        !Object.values(appEnv).some((v) => v.includes('REDIS_OPERATOR_PASSWORD')),
        `${a}: no operator password`,
      );
      assert.ok(
        !Object.values(appEnv).some((v) => /\$\{SENTINEL_PASSWORD/.test(v)),
        `${a}: no Sentinel password`,
      );
      assert.equal(appEnv['REDIS_SENTINEL_USERNAME'], 'reader');
      assert.match(appEnv['REDIS_SENTINEL_PASSWORD']!, /SENTINEL_READER_PASSWORD/);
    }
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    for (const [name, s] of Object.entries(services)) {
      // The restore is a one-shot (`docker compose run --rm restore ...`).
      if (name !== 'restore') assert.ok(s.restart, `${name} has no restart policy`);
      for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
        // Prometheus starts once its exporters and Alertmanager have: a target that is down is what it reports.
        if (name === 'prometheus') {
          assert.equal(condition, 'service_started', `${name} -> ${dep}`);
          continue;
        }
        if (dep === 'functions') {
          assert.equal(condition, 'service_completed_successfully', `${name} -> ${dep}`);
          continue;
        }
        assert.equal(condition, 'service_healthy', `${name} -> ${dep}`);
        // A service built from the Dockerfile gets the image's HEALTHCHECK.
        assert.ok(svc(dep).healthcheck || (svc(dep).build && /^HEALTHCHECK /m.test(dockerfile)), dep);
      }
    }
  });

  it('keeps Redis and Sentinel data on named volumes', () => {
    for (const name of [
      'redis-master',
      'redis-replica-1',
      'redis-replica-2',
      'redis-sentinel-1',
      'redis-sentinel-2',
      'redis-sentinel-3',
    ]) {
      const data = svc(name).volumes?.find((v) => v.endsWith(':/data'));
      assert.ok(data, `${name} has no /data volume`);
      assert.ok(data.split(':')[0]! in doc.volumes, `${name}: ${data} is not a named volume`);
    }
  });

  it('publishes only the site on every interface: the other ports of local mode on the loopback', () => {
    const t = composeTopology();
    assert.deepEqual(svc('haproxy').ports, [
      `80:${defaultPort('haproxy-http')}`,
      `127.0.0.1:${defaultPort('haproxy-stats')}:${defaultPort('haproxy-stats')}`,
      `127.0.0.1:${defaultPort('haproxy-redis')}:${defaultPort('haproxy-redis')}`,
    ]);
    assert.deepEqual(svc('redisinsight').ports, ['127.0.0.1:5540:5540']);
    assert.equal(PUBLISHED_PORTS['haproxy-http'], 80);
    for (const [name, s] of Object.entries(services))
      for (const p of s.ports ?? [])
        if (p !== `80:${defaultPort('haproxy-http')}`) assert.match(p, /^127\.0\.0\.1:/, `${name} ${p}`);
    const cfg = files['haproxy/haproxy.cfg']!;
    for (const port of [t.haproxy.httpPort, t.haproxy.statsPort, t.haproxy.redisPort])
      assert.match(cfg, new RegExp(`^  bind \\*:${port}$`, 'm'));
    for (const name of Object.keys(services)) {
      if (!['haproxy', 'redisinsight', 'prometheus', 'alertmanager'].includes(name))
        assert.equal(svc(name).ports, undefined, name);
    }
  });

  it('runs the apps on the ports, names and environment of local mode', () => {
    const local = defineTopology();
    const cfg = files['haproxy/haproxy.cfg']!;
    for (const app of local.apps) {
      const env = svc(app.name).environment!;
      assert.equal(env['PORT'], String(defaultPort(app.name as 'app-1')));
      assert.equal(env['INSTANCE_ID'], app.name);
      assert.equal(env['REDIS_MASTER_NAME'], local.masterName);
      assert.equal(
        env['REDIS_SENTINELS'],
        'redis-sentinel-1:26379,redis-sentinel-2:26379,redis-sentinel-3:26379',
      );
      assert.match(env['TRUST_PROXY']!, /^\$\{STACK_NETWORK:-[\d.]+\}\.80$/);
      assert.ok(cfg.includes(`  server ${app.name} ${app.name}:${app.port}\n`), `${app.name} in haproxy.cfg`);
    }
    // The apps believe X-Forwarded-For only from HAProxy's fixed address.
    const haproxy = services['haproxy'] as { networks?: { default?: { ipv4_address?: string } } };
    assert.equal(haproxy.networks?.default?.ipv4_address, svc('app-1').environment!['TRUST_PROXY']);
  });

  it('names each Redis node as a service and points Sentinels, replicas and HAProxy at it', () => {
    const t = composeTopology();
    const local = defineTopology();
    for (const [i, r] of t.redis.entries()) {
      assert.equal(r.name, local.redis[i]!.name);
      assert.equal(r.host, composeService(r.name));
      assert.equal(r.initialRole, local.redis[i]!.initialRole);
      assert.ok(files['haproxy/haproxy.cfg']!.includes(`  server ${r.name} ${r.host}:6379\n`));
      const conf = files[`redis/${r.host}.conf`]!;
      assert.ok(conf.includes(`replica-announce-ip ${r.host}\n`));
      if (r.initialRole === 'replica') assert.ok(conf.includes('replicaof redis-master 6379\n'), r.host);
      else assert.doesNotMatch(conf, /replicaof/);
      assert.ok(svc(r.host).volumes!.includes(`./redis/${r.host}.conf:/usr/local/etc/redis/redis.conf:ro`));
    }
    for (const s of t.sentinels) {
      const env = svc(s.host).environment!;
      assert.equal(env['MASTER_HOST'], 'redis-master');
      assert.equal(env['MASTER_PORT'], '6379');
      assert.equal(env['MASTER_NAME'], local.masterName);
      assert.equal(env['SENTINEL_ANNOUNCE_HOST'], s.host);
      assert.equal(env['SENTINEL_QUORUM'], `\${SENTINEL_QUORUM:-${local.quorum}}`);
      assert.equal(env['SENTINEL_DOWN_AFTER'], `\${SENTINEL_DOWN_AFTER:-${local.downAfterMs}}`);
      assert.equal(env['SENTINEL_FAILOVER'], `\${SENTINEL_FAILOVER:-${local.failoverTimeoutMs}}`);
    }
  });
});

describe('deploy/compose.yaml: addresses', () => {
  type Placed = Service & { extra_hosts?: string[]; networks?: { default?: { ipv4_address?: string } } };
  const fixed = Object.entries(services as Record<string, Placed>)
    .filter(([, s]) => s.networks?.default?.ipv4_address)
    .map(([name, s]) => `${name}:${s.networks!.default!.ipv4_address}`);

  it('gives every node, Sentinel, app and HAProxy a fixed address of its own, below the dynamic half', () => {
    const t = composeTopology();
    const names = [...t.redis, ...t.sentinels, ...t.apps].map((n) => n.host).concat(t.haproxy.host);
    assert.deepEqual(fixed.map((f) => f.split(':')[0]).sort(), names.sort());
    const last = fixed.map((f) => Number(/\.(\d+)$/.exec(f)![1]));
    assert.equal(new Set(last).size, last.length, `an address twice: ${fixed}`);
    assert.ok(
      last.every((n) => n > 1 && n < 128),
      `${last}`,
    );
    const net = (doc as unknown as { networks: { default: { ipam: { config: { ip_range: string }[] } } } })
      .networks.default.ipam.config[0]!;
    assert.match(net.ip_range, /\.128\/25$/);
  });

  it("puts every fixed address in every container's /etc/hosts, profile services too (no DNS lookup of a node)", () => {
    const profiles = Object.keys(profileServices(composeTopology()));
    assert.ok(
      profiles.every((p) => p in services),
      'the profile services are in the document',
    );
    for (const [name, s] of Object.entries(services as Record<string, Placed>))
      assert.deepEqual(s.extra_hosts, fixed, `${name}: extra_hosts`);
  });
});

describe('deploy/compose.yaml: who can reach what', () => {
  it("takes the operator front's password and connection limit from the environment", () => {
    const env = svc('haproxy').environment!;
    assert.match(
      env['HAPROXY_OPERATOR_PASSWORD']!,
      /^\$\{HAPROXY_OPERATOR_PASSWORD:\?set HAPROXY_OPERATOR_PASSWORD /,
    );
    // biome-ignore lint/suspicious/noTemplateCurlyInString: compose variables
    assert.equal(env['HAPROXY_CONNECTIONS_PER_ADDRESS'], '${HAPROXY_CONNECTIONS_PER_ADDRESS:-64}');
    const cfg = files['haproxy/haproxy.cfg']!;
    // biome-ignore lint/suspicious/noTemplateCurlyInString: HAProxy expands the variable
    assert.ok(cfg.includes('  user operator insecure-password "${HAPROXY_OPERATOR_PASSWORD}"\n'));
    // biome-ignore lint/suspicious/noTemplateCurlyInString: HAProxy expands the variable
    assert.ok(cfg.includes('gt "${HAPROXY_CONNECTIONS_PER_ADDRESS-64}" }\n'));
    // The apps read the stats page and guard their operator views with the same password.
    for (const app of ['app-1', 'app-2'])
      assert.equal(svc(app).environment!['HAPROXY_OPERATOR_PASSWORD'], env['HAPROXY_OPERATOR_PASSWORD']);
    // The health check logs in too ($$: compose hands a single $ to the shell).
    const check = svc('haproxy').healthcheck!.test.join(' ');
    assert.match(check, /Authorization: Basic %s/);
    assert.match(check, /"\$\$HAPROXY_OPERATOR_PASSWORD"/);
  });

  it('runs every container as a non-root user', () => {
    const expected: Record<string, string> = {
      haproxy: 'haproxy',
      redisinsight: 'node',
      'app-1': 'node',
      'app-2': 'node',
      functions: 'node',
      'redis-exporter-1': '59000:59000',
      'redis-exporter-2': '59000:59000',
      'redis-exporter-3': '59000:59000',
      'sentinel-exporter': '59000:59000',
      prometheus: 'nobody',
      alertmanager: 'nobody',
    };
    for (const [name, s] of Object.entries(services)) {
      const user = (s as { user?: string }).user;
      assert.ok(
        user && !['root', '0', '0:0'].includes(user),
        `${name} runs as ${user ?? 'the image default'}`,
      );
      assert.equal(user, expected[name] ?? 'valkey', name);
    }
  });

  it('starts RedisInsight only with the tools profile, and at a pinned version', () => {
    const ri = svc('redisinsight') as Service & { profiles?: string[] };
    assert.deepEqual(ri.profiles, ['tools']);
    assert.match(ri.image, /^redis\/redisinsight:\d+\.\d+\.\d+$/);
    for (const [name, s] of Object.entries(services))
      if (!(name in PROFILED)) assert.equal((s as { profiles?: string[] }).profiles, undefined, name);
  });
});

describe('compose configs against local mode', () => {
  // Lines that must differ between the two: addresses, ports, paths, secrets, the header.
  const placement =
    /^(#|bind |bind-source-addr |port |dir |replica-announce-ip |replicaof |requirepass |masterauth |user )/;

  it('Redis nodes get the same settings as local mode', () => {
    const local = defineTopology();
    const t = composeTopology();
    for (const [i, node] of t.redis.entries()) {
      const compose = configLines(files[`redis/${node.host}.conf`]!).filter((l) => !placement.test(l));
      const users = {
        app: 'a',
        replication: 'r',
        sentinel: 's',
        operator: 'o',
        haproxy: 'h',
        exporter: 'e',
        backup: 'b',
      };
      const ref = renderRedisConf(local, local.redis[i]!, { dir: '/x', users });
      assert.deepEqual(
        compose,
        configLines(ref).filter((l) => !placement.test(l)),
      );
    }
  });

  it('HAProxy gets the same settings as local mode, its servers read once from /etc/hosts', () => {
    const local = renderHaproxyCfg(defineTopology(), {
      target: 'local',
      password: 'pw',
      operatorPassword: 'op',
    });
    // The operator's password and the connection limit are variables HAProxy reads in compose; the
    // source address of the connections to the apps is local only (compose: the container's own).
    const differs =
      /^\s*(bind |server |source |tcp-check send "AUTH |user operator insecure-password |tcp-request connection reject )/;
    const compose = configLines(files['haproxy/haproxy.cfg']!).filter((l) => !differs.test(l));
    const extra = compose.filter((l) => !configLines(local).includes(l));
    assert.deepEqual(extra, ['  default-server init-addr last,libc,none']);
    assert.deepEqual(
      configLines(local).filter((l) => !differs.test(l) && !compose.includes(l)),
      [],
      'a local setting is missing in compose',
    );
  });
});

describe('Dockerfile', () => {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n\s*/g, '');
  const stages = text.split(/^FROM /m).slice(1);
  const final = stages.at(-1)!;

  it('is multi-stage and ships production dependencies only, as a non-root user', () => {
    assert.ok(stages.length >= 2, 'multi-stage');
    assert.match(stages[0]!, /npm prune --omit=dev/);
    assert.doesNotMatch(final, /npm (ci|install)/, 'the final stage installs nothing');
    assert.match(final, /COPY --from=build \S*\/node_modules/);
    const user = /^USER (\S+)/m.exec(final);
    assert.ok(user && !['root', '0'].includes(user[1]!), 'runs as a non-root user');
  });

  it('builds on a supported Node LTS at a pinned major, with no TypeScript loader at run time', () => {
    for (const stage of stages) {
      const image = /^(\S+)/.exec(stage)![1]!;
      // Node 24, the active LTS (until 2028-04-30); never a floating tag such as latest.
      assert.match(image, /^node:24-bookworm-slim$/, image);
    }
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    for (const dev of ['tsx', 'typescript']) {
      assert.ok(!(dev in pkg.dependencies), `${dev} is a production dependency`);
      assert.ok(dev in pkg.devDependencies, `${dev} missing from devDependencies`);
    }
  });

  it('runs the compiled server, checks /healthz on the port the app listens on', () => {
    const build = JSON.parse(readFileSync(join(ROOT, 'tsconfig.build.json'), 'utf8')) as {
      compilerOptions: { outDir: string; rootDir: string };
    };
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(final)![1]!) as string[];
    assert.deepEqual(cmd, ['node', `${build.compilerOptions.outDir}/server.js`]);
    assert.equal(build.compilerOptions.rootDir, 'src');
    assert.match(final, /^HEALTHCHECK .*\/healthz/m);
    assert.match(final, new RegExp(`^ENV .*PORT=${defaultPort('app-1')}\\b`, 'm'));
    const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['node_modules', '.env', 'deploy', '.git']) assert.ok(ignore.includes(entry), entry);
  });
});
