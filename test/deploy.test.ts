// Checks of deploy/ that need no Docker engine: compose's own validation, HAProxy's and Redis's
// parsing of the generated configs, the Sentinel entrypoint, the CLI render command, and the layout
// of the app image (compiled server, production dependencies only, its HEALTHCHECK command).
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
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../src/stack/process/ports.ts';
import { waitFor } from '../src/stack/process/wait.ts';
import { composeDocument, composeTopology } from '../src/stack/render/compose.ts';
import { renderSentinelConf } from '../src/stack/render/sentinel.ts';
import { tempDirs } from './helpers/stack.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DEPLOY = join(ROOT, 'deploy');
const ENTRYPOINT = join(DEPLOY, 'sentinel-entrypoint.sh');
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
  REDIS_PASSWORD: 'dummy-redis-password',
  SESSION_SECRET: 'dummy-session-secret-0123456789abcdef0123456789',
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
    assert.match(r.stdout, /--requirepass\s+- dummy-redis-password/);
    assert.match(r.stdout, /SESSION_SECRET: dummy-session-secret-/);
    assert.match(r.stdout, /- 80:8080|published: 80\b/);
  });
});

describe('deploy/haproxy/haproxy.cfg', () => {
  it('passes haproxy -c with REDIS_PASSWORD in the environment', async () => {
    const r = await run('haproxy', ['-c', '-f', join(DEPLOY, 'haproxy/haproxy.cfg')], {
      env: cleanEnv({ REDIS_PASSWORD: DUMMY.REDIS_PASSWORD }),
    });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /Configuration file is valid/);
  });
});

describe('deploy/redis/*.conf', () => {
  const t = composeTopology();
  for (const node of t.redis) {
    it(`${node.host}.conf is accepted by redis-server with the password on the command line`, async () => {
      const dir = tempDir('redis-conf');
      // Only the data directory moves (/data exists in the container only); no TCP port is opened.
      const text = readFileSync(join(DEPLOY, 'redis', `${node.host}.conf`), 'utf8');
      writeFileSync(join(dir, 'redis.conf'), text.replace(/^dir \/data$/m, `dir ${dir}`));
      const sock = join(dir, 'redis.sock');
      const args = [join(dir, 'redis.conf'), '--port', '0', '--bind', '127.0.0.1', '--unixsocket', sock];
      const proc = spawn('redis-server', [...args, '--requirepass', 'pw', '--masterauth', 'pw'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let log = '';
      proc.stdout.on('data', (d) => {
        log += d;
      });
      const cli = (...a: string[]) =>
        run('redis-cli', ['-s', sock, ...a], { env: { ...process.env, REDISCLI_AUTH: 'pw' } });
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
        if (node.initialRole === 'master') assert.match(info, /role:master/);
        else assert.match(info, /role:slave[\s\S]*master_host:redis-master\s+master_port:6379/);
      } finally {
        proc.kill('SIGKILL');
      }
    });
  }
});

describe('deploy/sentinel-entrypoint.sh', () => {
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
      password: DUMMY.REDIS_PASSWORD,
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
      `sentinel auth-pass mymaster ${DUMMY.REDIS_PASSWORD}`,
    ])
      assert.ok(lines.includes(line), `missing "${line}" in ${lines.join('\n')}`);
  });

  it('defaults to quorum 2 and the topology timings without the variables, and no auth-pass without a password', async () => {
    const dir = tempDir('sentinel');
    const r = await entrypoint({ SENTINEL_DIR: dir, SENTINEL_DRY_RUN: '1' });
    assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(join(dir, 'sentinel.conf'), 'utf8');
    assert.match(text, new RegExp(`^sentinel monitor mymaster redis-master 6379 ${t.quorum}$`, 'm'));
    assert.match(text, new RegExp(`^sentinel down-after-milliseconds mymaster ${t.downAfterMs}$`, 'm'));
    assert.match(text, new RegExp(`^sentinel failover-timeout mymaster ${t.failoverTimeoutMs}$`, 'm'));
    assert.doesNotMatch(text, /auth-pass/);
  });

  it('keeps the config a Sentinel rewrote when it restarts', async () => {
    const dir = tempDir('sentinel');
    const learned = [
      'port 26379',
      'sentinel monitor mymaster redis-replica-2 6379 2',
      'sentinel config-epoch mymaster 7',
      'sentinel known-replica mymaster redis-master 6379',
      'sentinel known-sentinel mymaster redis-sentinel-2 26379 0123456789abcdef0123456789abcdef01234567',
      '',
    ].join('\n');
    writeFileSync(join(dir, 'sentinel.conf'), learned);
    const r = await entrypoint({ ...composeEnv(dir), SENTINEL_QUORUM: '3' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /keeping/);
    assert.equal(readFileSync(join(dir, 'sentinel.conf'), 'utf8'), learned);
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
});

describe('ha-stack render', () => {
  const cli = (...args: string[]) =>
    run(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli.ts'), 'render', ...args], {
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
      assert.equal(check[0], 'node');
      await waitFor(
        'the image HEALTHCHECK passes',
        async () => (await run(process.execPath, check.slice(1), { env })).code === 0,
        {
          timeoutMs: 20_000,
          abort: () => (server.exitCode !== null ? `server exited ${server.exitCode}: ${stderr}` : undefined),
        },
      );
    } finally {
      server.kill('SIGKILL');
    }
    // And it fails when nothing answers.
    assert.notEqual((await run(process.execPath, check.slice(1), { env })).code, 0);
  });
});
