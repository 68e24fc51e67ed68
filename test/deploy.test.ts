// Checks of deploy/ that need no Docker engine: compose's own validation, HAProxy's and Redis's
// parsing of the generated configs, the Sentinel entrypoint, the CLI render command, and the layout
// of the app image (compiled server, production dependencies only, its HEALTHCHECK command).
// Over 300 lines: every file of deploy/ that real parsers check (compose, HAProxy, Redis, the entrypoints, the image), in one place.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import {
  copyFileSync,
  cpSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { withRedis } from '../src/ha/probes.ts';
import { parseSentinelTimers, timersMissing } from '../src/ha/sentinel/timers.ts';
import { REDIS_USERS, sentinelReaderLine } from '../src/ops/render/acl.ts';
import {
  composeDocument,
  composeTopology,
  REDIS_PROGRAMS,
  USER_PASSWORD_VARIABLES,
} from '../src/ops/render/compose.ts';
import { renderSentinelConf } from '../src/ops/render/sentinel.ts';
import { freePort } from '../src/ops/supervisor/ports.ts';
import { waitFor } from '../src/ops/supervisor/wait.ts';
import { tempDirs } from './helpers/stack.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DEPLOY = join(ROOT, 'deploy');
const ENTRYPOINT = join(DEPLOY, 'scripts/sentinel-entrypoint.sh');
const REDIS_ENTRYPOINT = join(DEPLOY, 'scripts/redis-entrypoint.sh');
const exec = promisify(execFile);

const tempDir = tempDirs();

/** Runs a command; resolves with its exit code and output instead of throwing on a non-zero exit. */
async function run(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(cmd, args, { ...opts, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const DUMMY = {
  REDIS_APP_PASSWORD: 'dummy-app-password-0123456789abcdef',
  REDIS_REPLICATION_PASSWORD: 'dummy-replication-password-0123456789',
  REDIS_SENTINEL_USER_PASSWORD: 'dummy-sentinel-user-password-0123456789',
  REDIS_OPERATOR_PASSWORD: 'dummy-operator-password-0123456789',
  REDIS_HAPROXY_PASSWORD: 'dummy-haproxy-password-0123456789',
  REDIS_EXPORTER_PASSWORD: 'dummy-exporter-password-0123456789',
  REDIS_BACKUP_PASSWORD: 'dummy-backup-password-0123456789abc',
  SENTINEL_PASSWORD: 'dummy-sentinel-password-0123456789',
  SENTINEL_READER_PASSWORD: 'dummy-sentinel-reader-password-0123456789',
  SESSION_SECRET: 'dummy-session-secret-0123456789abcdef0123456789',
  HAPROXY_OPERATOR_PASSWORD: 'dummy-operator-front-password-0123456789',
};
/** The environment without any of the stack's variables, so the host's values never leak in. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const k of Object.keys(env))
    if (/^(REDIS_|SESSION_|SENTINEL_|MASTER_|STACK_|HAPROXY_|COMPOSE_)/.test(k)) delete env[k];
  return { ...env, ...extra };
}

describe('deploy/compose.yaml (docker-compose config)', () => {
  it('is valid with the required variables set', async () => {
    const r = await run('docker-compose', ['-f', join(DEPLOY, 'compose.yaml'), 'config', '-q'], {
      env: cleanEnv(DUMMY),
    });
    assert.equal(r.code, 0, r.stderr);
  });

  it('refuses to start without each secret, naming it', async () => {
    for (const missing of Object.keys(DUMMY)) {
      const env = cleanEnv({ ...DUMMY });
      delete env[missing];
      const r = await run('docker-compose', ['-f', join(DEPLOY, 'compose.yaml'), 'config', '-q'], { env });
      assert.notEqual(r.code, 0, `${missing} unset`);
      assert.match(r.stderr, new RegExp(`set ${missing}`));
    }
  });

  it('fills the secrets in from the environment only', async () => {
    const r = await run('docker-compose', ['-f', join(DEPLOY, 'compose.yaml'), 'config'], {
      env: cleanEnv(DUMMY),
    });
    assert.equal(r.code, 0, r.stderr);
    // The Redis commands name each password by its variable; the entrypoint fills it in, checked.
    for (const v of Object.values(USER_PASSWORD_VARIABLES)) {
      assert.ok(r.stdout.includes(`'>$$${v}'`), v);
      assert.ok(r.stdout.includes(`${v}: ${DUMMY[v]}`), `${v} in the environment`);
    }
    assert.match(r.stdout, /--masterauth\s+- \$\$REDIS_REPLICATION_PASSWORD/);
    assert.doesNotMatch(
      r.stdout,
      new RegExp(`- '?>?${DUMMY.REDIS_APP_PASSWORD}`),
      'no password in a command',
    );
    assert.match(r.stdout, /SESSION_SECRET: dummy-session-secret-/);
    assert.match(r.stdout, /- 80:8080|published: 80\b/);
  });
});

describe('deploy/haproxy/haproxy.cfg', () => {
  it('passes haproxy -c with REDIS_HAPROXY_PASSWORD in the environment', async () => {
    const r = await run('haproxy', ['-c', '-f', join(DEPLOY, 'haproxy/haproxy.cfg')], {
      env: cleanEnv({ REDIS_HAPROXY_PASSWORD: DUMMY.REDIS_HAPROXY_PASSWORD }),
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /Configuration file is valid/);
  });

  it("HAProxy's health check logs in to the operator front, and fails with a wrong password", async () => {
    const cfg = readFileSync(join(DEPLOY, 'haproxy/haproxy.cfg'), 'utf8');
    const ports = new Map<string, number>();
    for (const m of cfg.matchAll(/^ {2}bind \*:(\d+)$/gm)) ports.set(m[1]!, await freePort());
    // The container's ports moved to free ones on the loopback; nothing else changes.
    const local = cfg.replace(/^ {2}bind \*:(\d+)$/gm, (_, p: string) => `  bind 127.0.0.1:${ports.get(p)}`);
    const dir = tempDir('haproxy');
    writeFileSync(join(dir, 'haproxy.cfg'), local);
    const service = (composeDocument()['services'] as Record<string, { healthcheck: { test: string[] } }>)
      .haproxy!;
    const [kind, shell, flag, script] = service.healthcheck.test;
    assert.deepEqual([kind, shell, flag], ['CMD', 'bash', '-c']);
    const statsPort = composeTopology().haproxy.statsPort;
    // Compose turns `$$` into `$` before the shell sees it.
    const check = script!
      .replaceAll('$$', '$')
      .replace(`/${statsPort} `, `/${ports.get(String(statsPort))} `);
    const proc = spawn('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], {
      env: cleanEnv({ HAPROXY_OPERATOR_PASSWORD: DUMMY.HAPROXY_OPERATOR_PASSWORD }),
      stdio: 'ignore',
    });
    try {
      await waitFor(
        'the health check passes',
        async () =>
          (
            await run('bash', ['-c', check], {
              env: cleanEnv({ HAPROXY_OPERATOR_PASSWORD: DUMMY.HAPROXY_OPERATOR_PASSWORD }),
            })
          ).code === 0,
        {
          timeoutMs: 10_000,
          abort: () => (proc.exitCode !== null ? `haproxy exited ${proc.exitCode}` : undefined),
        },
      );
      const wrong = await run('bash', ['-c', check], {
        env: cleanEnv({ HAPROXY_OPERATOR_PASSWORD: 'wrong' }),
      });
      assert.notEqual(wrong.code, 0, 'passed with a wrong password');
    } finally {
      proc.kill('SIGKILL');
    }
  });
});

/** A compose value with its `${VAR:?...}` and `${VAR:-default}` filled in as compose would (DUMMY secrets). */
const interpolate = (v: string) =>
  v
    .replaceAll('$$', '$')
    .replace(/\$\{([A-Z_]+)(?::-([^}]*)|:\?[^}]*)\}/g, (_, name: string, fallback?: string) => {
      const value = DUMMY[name as keyof typeof DUMMY] ?? fallback;
      if (value === undefined) throw new Error(`no value for ${name}`);
      return value;
    });

describe('deploy/redis/*.conf', () => {
  const t = composeTopology();
  const services = composeDocument(t)['services'] as Record<string, { command: string[] }>;
  for (const node of t.redis) {
    it(`${node.host}.conf is accepted by redis-server with the users and passwords of its command line`, async () => {
      const dir = tempDir('redis-conf');
      // Only the data directory moves (/data exists in the container only); no TCP port is opened.
      const text = readFileSync(join(DEPLOY, 'redis', `${node.host}.conf`), 'utf8');
      writeFileSync(join(dir, 'redis.conf'), text.replace(/^dir \/data$/m, `dir ${dir}`));
      const sock = join(dir, 'redis.sock');
      const args = [join(dir, 'redis.conf'), '--port', '0', '--bind', '127.0.0.1', '--unixsocket', sock];
      // The service's own arguments after the config file: maxmemory, masterauth, the ACL users.
      const [server, , ...compose] = services[node.host]!.command.map(interpolate);
      // The image's server is Valkey; this machine's Redis 7.0 reads the same config (the Docker
      // test runs the image itself).
      assert.equal(server, REDIS_PROGRAMS.server);
      // Through the entrypoint, with the passwords in the environment as compose gives them.
      const proc = spawn('sh', [REDIS_ENTRYPOINT, 'redis-server', ...args, ...compose], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: cleanEnv(DUMMY),
      });
      let log = '';
      proc.stdout.on('data', (d) => {
        log += d;
      });
      const as =
        (user: keyof typeof USER_PASSWORD_VARIABLES) =>
        (...a: string[]) =>
          run('redis-cli', ['-s', sock, '--user', user, ...a], {
            env: { ...process.env, REDISCLI_AUTH: DUMMY[USER_PASSWORD_VARIABLES[user]] },
          });
      const cli = as('operator');
      try {
        await waitFor('redis-server answers', async () => (await cli('ping')).stdout.trim() === 'PONG', {
          timeoutMs: 10_000,
          abort: () => (proc.exitCode !== null ? `redis-server exited: ${log}` : undefined),
        });
        const info = (await cli('info', 'replication')).stdout;
        const get = async (key: string) => (await cli('config', 'get', key)).stdout.split('\n')[1];
        assert.equal(await get('replica-announce-ip'), node.host);
        assert.equal(await get('appendonly'), 'yes');
        assert.equal(await get('min-replicas-to-write'), '1');
        assert.equal(await get('maxmemory-policy'), 'noeviction');
        assert.equal(await get('maxmemory'), String(256 * 1024 * 1024));
        assert.equal(await get('masteruser'), 'replication');
        assert.equal(await get('masterauth'), DUMMY.REDIS_REPLICATION_PASSWORD);
        const users = (await cli('acl', 'users')).stdout.trim().split('\n');
        assert.deepEqual(users.sort(), ['default', ...REDIS_USERS].sort());
        // The health check's user may PING, and nothing like CONFIG.
        assert.equal((await as('haproxy')('ping')).stdout.trim(), 'PONG');
        assert.match((await as('haproxy')('config', 'get', 'maxmemory')).stdout, /NOPERM/);
        const noUser = await run('redis-cli', ['-s', sock, 'ping'], { env: cleanEnv() });
        assert.match(noUser.stdout + noUser.stderr, /NOAUTH/);
        if (node.initialRole === 'master') assert.match(info, /role:master/);
        else assert.match(info, /role:slave[\s\S]*master_host:redis-master\s+master_port:6379/);
      } finally {
        proc.kill('SIGKILL');
      }
    });
  }
});

describe('deploy/scripts/redis-entrypoint.sh', () => {
  const services = composeDocument()['services'] as Record<string, { command: string[] }>;
  /** The entrypoint running `echo` instead of redis-server: it prints the arguments it would start with. */
  const entrypoint = (args: string[], env: Record<string, string>) =>
    run('sh', [REDIS_ENTRYPOINT, 'echo', ...args], { env: cleanEnv(env) });
  const passwordVariables = Object.values(USER_PASSWORD_VARIABLES);

  it("fills in each password of the service's command from the environment", async () => {
    const command = services['redis-master']!.command.map(interpolate);
    const r = await entrypoint(command.slice(1), DUMMY);
    assert.equal(r.code, 0, r.stderr);
    const args = r.stdout.trim().split(' ');
    assert.equal(args[args.indexOf('--masterauth') + 1], DUMMY.REDIS_REPLICATION_PASSWORD);
    for (const v of passwordVariables) assert.ok(args.includes(`>${DUMMY[v]}`), v);
    assert.doesNotMatch(r.stdout, /\$/, 'no reference left');
    // Anything else passes untouched, also a `$` that names no password.
    const other = await entrypoint(['$HOME', '>$USER', 'a b'], DUMMY);
    assert.equal(other.stdout, '$HOME >$USER a b\n');
  });

  it('refuses a missing, short or unsafe password, naming it, and starts nothing (exit 2)', async () => {
    for (const name of passwordVariables) {
      const cases: [string | undefined, RegExp][] = [
        [undefined, new RegExp(`set ${name}`)],
        ['', new RegExp(`set ${name}`)],
        ['password', new RegExp(`${name} is too short`)],
        [`${'x'.repeat(40)} --enable-debug-command yes`, new RegExp(`${name} may hold only`)],
        [`${'x'.repeat(40)}\nuser x on nopass`, new RegExp(`${name} may hold only`)],
      ];
      for (const [value, message] of cases) {
        const env: Record<string, string> = { ...DUMMY };
        if (value === undefined) delete env[name];
        else env[name] = value;
        const r = await entrypoint(['--user', 'x', `>$${name}`], env);
        assert.equal(r.code, 2, `${name}=${JSON.stringify(value)}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, message);
        assert.match(r.stderr, /^redis-entrypoint: /);
        assert.equal(r.stdout, '', 'nothing started');
      }
    }
    // From a file (a compose or swarm secret) as well, and a file that cannot be read is named.
    const dir = tempDir('redis-entrypoint');
    writeFileSync(join(dir, 'secret'), DUMMY.REDIS_APP_PASSWORD);
    const env: Record<string, string> = { ...DUMMY, REDIS_APP_PASSWORD_FILE: join(dir, 'secret') };
    delete env['REDIS_APP_PASSWORD'];
    const r = await entrypoint(['>$REDIS_APP_PASSWORD'], env);
    assert.equal(r.stdout, `>${DUMMY.REDIS_APP_PASSWORD}\n`);
    const missing = await entrypoint(['>$REDIS_APP_PASSWORD'], {
      ...env,
      REDIS_APP_PASSWORD_FILE: join(dir, 'absent'),
    });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /REDIS_APP_PASSWORD_FILE .*absent is not readable/);
  });
});

describe('deploy/scripts/redis-entrypoint.sh: a node that starts again asks the Sentinels first', () => {
  const service = (composeDocument()['services'] as Record<string, { environment: Record<string, string> }>)[
    'redis-master'
  ]!;
  type View = { ip: string; port: number; epoch: number };
  /**
   * A fake redis-cli (also as valkey-cli, which the entrypoint prefers) first on PATH: each Sentinel (by its -h) answers SENTINEL MASTER with the
   * master and config epoch `views` give it (absent: it does not answer), after checking the
   * password it was given.
   */
  function fakeCli(views: Record<string, View | string>): string {
    const dir = tempDir('fake-cli');
    const reply = (v: View | string) =>
      typeof v === 'string'
        ? v
        : [
            'name',
            'mymaster',
            'ip',
            v.ip,
            'port',
            String(v.port),
            'flags',
            'master',
            'config-epoch',
            String(v.epoch),
          ]
            .map((x) => `${x}\\n`)
            .join('');
    const cases = Object.entries(views)
      .map(([host, v]) => `    ${host}) printf '${reply(v)}' ;;`)
      .join('\n');
    writeFileSync(
      join(dir, 'redis-cli'),
      [
        '#!/bin/sh',
        `[ "$REDISCLI_AUTH" = "${DUMMY.SENTINEL_PASSWORD}" ] || { echo "WRONGPASS" >&2; exit 1; }`,
        'while [ "$#" -gt 0 ]; do case "$1" in -h) host="$2"; shift ;; esac; shift; done',
        'case "$host" in',
        cases,
        '  *) echo "Could not connect" >&2; exit 1 ;;',
        'esac',
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    symlinkSync('redis-cli', join(dir, 'valkey-cli'));
    return dir;
  }
  const start = (views: Record<string, View | string>, extra: Record<string, string> = {}) => {
    const env: Record<string, string> = { ...DUMMY };
    for (const [k, v] of Object.entries(service.environment)) if (!/\$\{/.test(v)) env[k] = v;
    // A failover here takes at most 2 x (100 + 400) ms: a node the Sentinels name waits 1 s.
    Object.assign(env, { SENTINEL_DOWN_AFTER: '100', SENTINEL_FAILOVER: '400' }, extra);
    env['PATH'] = `${fakeCli(views)}:${process.env['PATH']}`;
    return run('sh', [REDIS_ENTRYPOINT, 'echo', 'redis-server', 'conf'], { env: cleanEnv(env) });
  };
  const self = { ip: 'redis-master', port: 6379, epoch: 1 };

  it('the compose service tells it where the Sentinels are, who it is and how long a failover takes', () => {
    assert.equal(
      service.environment['REDIS_SENTINELS'],
      'redis-sentinel-1:26379,redis-sentinel-2:26379,redis-sentinel-3:26379',
    );
    assert.equal(service.environment['REDIS_ANNOUNCE_HOST'], 'redis-master');
    assert.match(service.environment['SENTINEL_PASSWORD']!, /^\$\{SENTINEL_PASSWORD:\?/);
    assert.match(service.environment['SENTINEL_DOWN_AFTER']!, /^\$\{SENTINEL_DOWN_AFTER:-\d+\}$/);
    assert.match(service.environment['SENTINEL_FAILOVER']!, /^\$\{SENTINEL_FAILOVER:-\d+\}$/);
  });

  it('named another master: starts as its replica at once, never as a second master', async () => {
    const started = Date.now();
    const r = await start({ 'redis-sentinel-2': { ip: 'redis-replica-2', port: 6379, epoch: 3 } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'redis-server conf --replicaof redis-replica-2 6379\n');
    assert.match(r.stderr, /name redis-replica-2:6379 master: starting as its replica/);
    assert.ok(Date.now() - started < 900, 'no wait');
  });

  it('the newest configuration wins over a Sentinel that has not heard of the failover yet', async () => {
    const r = await start({
      'redis-sentinel-1': self,
      'redis-sentinel-2': 'ERR No such master with that name\\n',
      'redis-sentinel-3': { ip: 'redis-replica-1', port: 6379, epoch: 2 },
    });
    assert.equal(r.stdout, 'redis-server conf --replicaof redis-replica-1 6379\n');
  });

  it('named itself: waits as long as a failover can take, then starts as master', async () => {
    const started = Date.now();
    const r = await start({ 'redis-sentinel-1': self, 'redis-sentinel-3': self });
    assert.equal(r.stdout, 'redis-server conf --replicaof no one\n');
    assert.match(r.stderr, /still name this node master after 1 s/);
    assert.ok(Date.now() - started >= 900, `waited ${Date.now() - started} ms`);
  });

  it('no Sentinel answers (the first start): starts as configured, at once', async () => {
    const r = await start({});
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'redis-server conf\n');
    assert.match(r.stderr, /no Sentinel named a master/);
    const weak = await start({}, { SENTINEL_PASSWORD: 'short' });
    assert.equal(weak.code, 2);
    assert.match(weak.stderr, /SENTINEL_PASSWORD is too short/);
  });
});

describe('deploy/scripts/sentinel-entrypoint.sh', () => {
  const t = composeTopology();
  const sentinel = t.sentinels[0]!;
  const service = (composeDocument(t)['services'] as Record<string, { environment: Record<string, string> }>)[
    sentinel.host
  ]!;

  /** The entrypoint's environment as compose gives it: `${VAR:-default}` → default, secrets → dummies. */
  const composeEnv = (dir: string) => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(service.environment)) {
      const ref = /^\$\{([A-Z_]+)(?::-(.*)|:\?.*)\}$/.exec(v);
      env[k] = ref ? (ref[2] ?? DUMMY[ref[1] as keyof typeof DUMMY]) : v;
    }
    return { ...env, SENTINEL_DIR: dir, SENTINEL_DRY_RUN: '1' };
  };
  const entrypoint = (env: Record<string, string>) => run('sh', [ENTRYPOINT], { env: cleanEnv(env) });
  const configLines = (text: string) => text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));

  it('writes, from compose environment, exactly what renderSentinelConf produces for compose', async () => {
    const dir = tempDir('sentinel');
    const r = await entrypoint(composeEnv(dir));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), join(dir, 'sentinel.conf'));
    const written = readFileSync(join(dir, 'sentinel.conf'), 'utf8');
    const rendered = renderSentinelConf(t, sentinel, {
      dir,
      authPass: DUMMY.REDIS_SENTINEL_USER_PASSWORD,
      requirePass: DUMMY.SENTINEL_PASSWORD,
      readerPass: DUMMY.SENTINEL_READER_PASSWORD,
      hostnames: true,
    });
    assert.deepEqual(configLines(written), configLines(rendered));
    assert.equal(statSync(join(dir, 'sentinel.conf')).mode & 0o077, 0, 'only its owner reads the password');
  });

  it('takes quorum and timings from SENTINEL_QUORUM, SENTINEL_DOWN_AFTER and SENTINEL_FAILOVER', async () => {
    const dir = tempDir('sentinel');
    const env = {
      ...composeEnv(dir),
      SENTINEL_QUORUM: '3',
      SENTINEL_DOWN_AFTER: '5000',
      SENTINEL_FAILOVER: '60000',
    };
    assert.equal((await entrypoint(env)).code, 0);
    const lines = configLines(readFileSync(join(dir, 'sentinel.conf'), 'utf8'));
    for (const line of [
      'sentinel monitor mymaster redis-master 6379 3',
      'sentinel down-after-milliseconds mymaster 5000',
      'sentinel failover-timeout mymaster 60000',
      'sentinel resolve-hostnames yes',
      'sentinel announce-hostnames yes',
      `sentinel announce-ip ${sentinel.host}`,
      'sentinel auth-user mymaster sentinel',
      `sentinel auth-pass mymaster ${DUMMY.REDIS_SENTINEL_USER_PASSWORD}`,
      `requirepass ${DUMMY.SENTINEL_PASSWORD}`,
      `sentinel sentinel-pass ${DUMMY.SENTINEL_PASSWORD}`,
    ])
      assert.ok(lines.includes(line), `missing "${line}" in ${lines.join('\n')}`);
  });

  const passwords = {
    SENTINEL_PASSWORD: DUMMY.SENTINEL_PASSWORD,
    REDIS_SENTINEL_USER_PASSWORD: DUMMY.REDIS_SENTINEL_USER_PASSWORD,
    SENTINEL_READER_PASSWORD: DUMMY.SENTINEL_READER_PASSWORD,
  };

  it('defaults to quorum 2 and the topology timings without the variables', async () => {
    const dir = tempDir('sentinel');
    const r = await entrypoint({ ...passwords, SENTINEL_DIR: dir, SENTINEL_DRY_RUN: '1' });
    assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(join(dir, 'sentinel.conf'), 'utf8');
    assert.match(text, new RegExp(`^sentinel monitor mymaster redis-master 6379 ${t.quorum}$`, 'm'));
    assert.match(text, new RegExp(`^sentinel down-after-milliseconds mymaster ${t.downAfterMs}$`, 'm'));
    assert.match(text, new RegExp(`^sentinel failover-timeout mymaster ${t.failoverTimeoutMs}$`, 'm'));
  });

  it('refuses to start without each password, or with a short or unsafe one, naming it (exit 2)', async () => {
    for (const name of Object.keys(passwords)) {
      const cases: [string | undefined, RegExp][] = [
        [undefined, new RegExp(`set ${name}`)],
        ['too-short', new RegExp(`${name} is too short`)],
        [`${'x'.repeat(40)}\nrequirepass x`, new RegExp(`${name} may hold only`)],
        [`${'x'.repeat(40)} y`, new RegExp(`${name} may hold only`)],
      ];
      for (const [value, message] of cases) {
        const dir = tempDir('sentinel');
        const env: Record<string, string> = { ...composeEnv(dir) };
        if (value === undefined) delete env[name];
        else env[name] = value;
        const r = await entrypoint(env);
        assert.equal(r.code, 2, `${name}=${value}: ${r.stderr}`);
        assert.match(r.stderr, message);
        assert.deepEqual(readdirSync(dir), [], 'nothing written');
      }
    }
    // From a file (a compose or swarm secret) as well.
    const dir = tempDir('sentinel');
    const file = join(dir, 'secret');
    writeFileSync(file, DUMMY.SENTINEL_PASSWORD);
    const env: Record<string, string> = { ...composeEnv(dir), SENTINEL_PASSWORD_FILE: file };
    delete env['SENTINEL_PASSWORD'];
    assert.equal((await entrypoint(env)).code, 0);
    assert.match(
      readFileSync(join(dir, 'sentinel.conf'), 'utf8'),
      new RegExp(`^requirepass ${DUMMY.SENTINEL_PASSWORD}$`, 'm'),
    );
  });

  it('keeps the config a Sentinel rewrote when it restarts, with the passwords of the environment', async () => {
    const dir = tempDir('sentinel');
    const learned = [
      'port 26379',
      'sentinel monitor mymaster redis-replica-2 6379 2',
      'sentinel config-epoch mymaster 7',
      'sentinel known-replica mymaster redis-master 6379',
      'sentinel known-sentinel mymaster redis-sentinel-2 26379 0123456789abcdef0123456789abcdef01234567',
    ];
    // What a Sentinel's rewrite holds of the passwords it was given: all replaced by the current ones.
    const old = [
      'sentinel auth-user mymaster sentinel',
      'sentinel auth-pass mymaster old-password',
      'user default on sanitize-payload #0123 ~* &* +@all',
      'sentinel sentinel-pass old-password',
      'user reader on #0123 resetchannels &* -@all +ping',
    ];
    writeFileSync(
      join(dir, 'sentinel.conf'),
      [...learned.slice(0, 3), ...old, ...learned.slice(3), ''].join('\n'),
    );
    const r = await entrypoint({ ...composeEnv(dir), SENTINEL_QUORUM: '3' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /keeping/);
    assert.deepEqual(configLines(readFileSync(join(dir, 'sentinel.conf'), 'utf8')), [
      ...learned,
      'sentinel auth-user mymaster sentinel',
      `sentinel auth-pass mymaster ${DUMMY.REDIS_SENTINEL_USER_PASSWORD}`,
      `requirepass ${DUMMY.SENTINEL_PASSWORD}`,
      `sentinel sentinel-pass ${DUMMY.SENTINEL_PASSWORD}`,
      sentinelReaderLine(DUMMY.SENTINEL_READER_PASSWORD, false),
    ]);
    assert.equal(statSync(join(dir, 'sentinel.conf')).mode & 0o077, 0, 'only its owner reads the passwords');
  });

  it("sets the stack's Sentinel timers once the Sentinel it started answers, the same as timers.ts", async () => {
    const dir = tempDir('sentinel');
    const [port, nobody] = [await freePort(), await freePort()];
    // It monitors a master nobody listens for: the timers do not wait for one.
    const env = {
      ...composeEnv(dir),
      SENTINEL_PORT: String(port),
      MASTER_HOST: '127.0.0.1',
      MASTER_PORT: String(nobody),
    };
    delete (env as Record<string, string>)['SENTINEL_DRY_RUN'];
    delete (env as Record<string, string>)['SENTINEL_ANNOUNCE_HOST'];
    const child = spawn('sh', [ENTRYPOINT], { env: cleanEnv(env), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const debug = async () =>
      parseSentinelTimers(
        await withRedis('127.0.0.1', port, { password: DUMMY.SENTINEL_PASSWORD }, (r) =>
          r.call('SENTINEL', 'DEBUG'),
        ),
      );
    try {
      await waitFor(
        'the timers on the Sentinel',
        async () => timersMissing(await debug().catch(() => new Map())).length === 0,
        { timeoutMs: 30_000 },
      );
      assert.match(stderr, /timers set \(info-period 1000 ping-period 400\)/);
      assert.deepEqual(timersMissing(await debug()), []);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('rewrites a config that monitors no master of this name', async () => {
    const dir = tempDir('sentinel');
    writeFileSync(join(dir, 'sentinel.conf'), 'port 26379\nsentinel monitor other redis-master 6379 2\n');
    assert.equal((await entrypoint(composeEnv(dir))).code, 0);
    assert.match(
      readFileSync(join(dir, 'sentinel.conf'), 'utf8'),
      /^sentinel monitor mymaster redis-master /m,
    );
  });

  it('stops with exit code 2 and names the variable for a value that is not a number', async () => {
    for (const [variable, value] of [
      ['SENTINEL_QUORUM', 'two'],
      ['SENTINEL_DOWN_AFTER', '1s'],
      ['SENTINEL_FAILOVER', '-5'],
      ['SENTINEL_DOWN_AFTER', ''],
    ] as const) {
      const dir = tempDir('sentinel');
      const r = await entrypoint({ ...composeEnv(dir), [variable]: value });
      if (value === '') {
        // Empty means unset (compose passes an empty value for "VAR=" too): the default applies.
        assert.equal(r.code, 0, r.stderr);
        continue;
      }
      assert.equal(r.code, 2, `${variable}=${value}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`${variable} must be a whole number, got '${value}'`));
      assert.deepEqual(readdirSync(dir), [], 'nothing written');
    }
    const low = await entrypoint({ ...composeEnv(tempDir('sentinel')), SENTINEL_QUORUM: '0' });
    assert.equal(low.code, 2);
    assert.match(low.stderr, /SENTINEL_QUORUM must be at least 1/);
  });

  it('refuses a down-after below the floor, naming it and why, and writes nothing', async () => {
    const dir = tempDir('sentinel');
    const r = await entrypoint({ ...composeEnv(dir), SENTINEL_DOWN_AFTER: '1999' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /SENTINEL_DOWN_AFTER must be at least 2000 ms, got 1999: .*fail back/);
    assert.deepEqual(readdirSync(dir), []);
    assert.equal(
      (await entrypoint({ ...composeEnv(tempDir('sentinel')), SENTINEL_DOWN_AFTER: '2000' })).code,
      0,
    );
  });
});

describe('ha-stack render', () => {
  const cli = (...args: string[]) =>
    run(process.execPath, [join(ROOT, 'bin/ha-stack.js'), 'render', ...args], {
      cwd: ROOT,
      env: cleanEnv(),
    });

  it('--check finds deploy/ up to date, and an empty directory out of date', async () => {
    const ok = await cli('--target', 'compose', '--out', DEPLOY, '--check');
    assert.equal(ok.code, 0, ok.stderr);
    const empty = await cli('--target', 'compose', '--out', tempDir('render'), '--check');
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /out of date.*compose\.yaml/);
  });

  it('writes the compose files, and the local ones with loopback addresses', async () => {
    const out = tempDir('render');
    assert.equal((await cli('--target', 'compose', '--out', out)).code, 0);
    assert.equal(
      readFileSync(join(out, 'compose.yaml'), 'utf8'),
      readFileSync(join(DEPLOY, 'compose.yaml'), 'utf8'),
    );
    const local = tempDir('render');
    const r = await cli('--target', 'local', '--out', local);
    assert.equal(r.code, 0, r.stderr);
    const cfg = readFileSync(join(local, 'haproxy/haproxy.cfg'), 'utf8');
    assert.match(cfg, /^ {2}bind 127\.0\.0\.1:8080$/m);
    assert.match(readFileSync(join(local, 'redis/redis-2.conf'), 'utf8'), /^replicaof 127\.0\.0\.11 6380$/m);
    assert.match(readFileSync(join(local, 'sentinel/sentinel-3.conf'), 'utf8'), /^port 26382$/m);
  });

  it('refuses an unknown target with the usage (exit 2)', async () => {
    const r = await cli('--target', 'swarm', '--out', tempDir('render'));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--target must be one of compose, local/);
  });
});

describe('app image layout (Dockerfile)', () => {
  it('the compiled server needs only production dependencies and passes the image HEALTHCHECK', async () => {
    const app = tempDir('image');
    // The build stage: package files, the tsconfigs and src/ copied, then `npm run build` (which also
    // copies what tsc does not, such as the topology page's script). The final stage keeps
    // package.json, node_modules and dist/; src/ is removed so the server cannot reach into it.
    for (const f of ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json'])
      copyFileSync(join(ROOT, f), join(app, f));
    cpSync(join(ROOT, 'src'), join(app, 'src'), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(app, 'node_modules'));
    const build = await run('npm', ['run', '--silent', 'build'], { cwd: app });
    assert.equal(build.code, 0, build.stdout + build.stderr);
    rmSync(join(app, 'src'), { recursive: true, force: true });

    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const builtins = new Set(builtinModules);
    const walk = (d: string): string[] =>
      readdirSync(d, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? walk(join(d, e.name)) : e.name.endsWith('.js') ? [join(d, e.name)] : [],
      );
    for (const file of walk(join(app, 'dist'))) {
      const text = readFileSync(file, 'utf8');
      const imports = [
        /^\s*(?:import|export)\b[^;'"]*?\bfrom\s+['"]([^'"]+)['"]/gm,
        /^\s*import\s+['"]([^'"]+)['"]/gm,
        /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
      ].flatMap((re) => [...text.matchAll(re)]);
      assert.ok(!file.endsWith('server.js') || imports.length > 0, 'found the imports of server.js');
      for (const m of imports) {
        const spec = m[1]!;
        if (spec.startsWith('.')) {
          assert.match(spec, /\.js$/, `${file}: ${spec} was not rewritten to .js`);
          continue;
        }
        if (spec.startsWith('node:') || builtins.has(spec)) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        assert.ok(name in pkg.dependencies, `${file} imports ${spec}, not a production dependency`);
      }
    }

    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n\s*/g, '');
    const check = JSON.parse(/^HEALTHCHECK .*?CMD (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
    const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
    const port = await freePort();
    const env = cleanEnv({
      APP_ENV: 'development',
      HOST: '127.0.0.1',
      PORT: String(port),
      REDIS_URL: 'redis://127.0.0.1:1',
      LOG_LEVEL: 'silent',
    });
    assert.equal(cmd[0], 'node');
    const server = spawn(process.execPath, cmd.slice(1), {
      cwd: app,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    server.stderr.on('data', (d) => {
      stderr += d;
    });
    try {
      assert.equal(check[0], 'bash');
      await waitFor(
        'the image HEALTHCHECK passes',
        async () => (await run(check[0]!, check.slice(1), { env })).code === 0,
        {
          timeoutMs: 20_000,
          abort: () => (server.exitCode !== null ? `server exited ${server.exitCode}: ${stderr}` : undefined),
        },
      );
    } finally {
      server.kill('SIGKILL');
    }
    // And it fails when nothing answers, or when something other than a 200 does.
    assert.notEqual((await run(check[0]!, check.slice(1), { env })).code, 0);
    const other = createServer((_req, res) => res.writeHead(503).end());
    await new Promise<void>((r) => other.listen(port, '127.0.0.1', r));
    try {
      assert.notEqual((await run(check[0]!, check.slice(1), { env })).code, 0, 'passed on a 503');
    } finally {
      other.close();
    }
  });
});
