// The containers of deploy/compose.yaml and deploy/kubernetes/ as a security review reads them: a
// maintained Redis-compatible image (Valkey 8.0) everywhere Redis or Sentinel runs, no capability, a
// read-only root file system, no privilege gain, memory, CPU and process limits, and RedisInsight
// (no login) only on the host's loopback and only with the tools profile. Read from the committed
// files, which test/unit/deploy.test.ts and kubernetes.test.ts hold equal to the renderers.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { IMAGE_DIGESTS, IMAGES, imageRef, REDIS_PROGRAMS } from '../../src/ops/render/compose-names.ts';

const DEPLOY = fileURLToPath(new URL('../../deploy/', import.meta.url));
const composeText = readFileSync(join(DEPLOY, 'compose.yaml'), 'utf8');
// biome-ignore lint/suspicious/noExplicitAny: compose and manifests are read as untyped data here
type Any = any;
const services: Record<string, Any> = parse(composeText).services;
const redisServices = Object.keys(services).filter((n) =>
  /^redis-(master|replica-\d+|sentinel-\d+)$/.test(n),
);

/** `768m`, `1g` and the like in bytes. */
function bytes(size: string): number {
  const m = /^(\d+)([kmg]?)$/i.exec(String(size));
  assert.ok(m, `not a size: ${size}`);
  return Number(m[1]) * 1024 ** ' kmg'.indexOf((m[2] || ' ').toLowerCase());
}

describe('deploy/compose.yaml: every service hardened', () => {
  it('has services to check, RedisInsight among them', () => {
    assert.ok(Object.keys(services).length >= 10, Object.keys(services).join(' '));
    assert.ok(services['redisinsight']);
    assert.equal(redisServices.length, 6);
  });

  for (const [name, s] of Object.entries(services)) {
    it(`${name}: every capability dropped, none added back`, () => {
      assert.deepEqual(s.cap_drop, ['ALL']);
      assert.equal(s.cap_add, undefined);
      assert.equal(s.privileged, undefined);
    });

    it(`${name}: read-only root file system, a small tmpfs /tmp, no new privileges`, () => {
      assert.equal(s.read_only, true);
      assert.ok(
        (s.tmpfs ?? []).some((t: string) => /^\/tmp(:|$)/.test(t) && /size=\d+[km]/.test(t)),
        `tmpfs ${s.tmpfs}`,
      );
      assert.ok((s.security_opt ?? []).includes('no-new-privileges:true'), `security_opt ${s.security_opt}`);
    });

    it(`${name}: memory, CPU and process limits`, () => {
      const memory = bytes(s.mem_limit);
      assert.ok(memory >= 64 * 1024 ** 2 && memory <= 1024 ** 3, `mem_limit ${s.mem_limit}`);
      assert.ok(typeof s.cpus === 'number' && s.cpus > 0 && s.cpus <= 2, `cpus ${s.cpus}`);
      assert.ok(Number.isInteger(s.pids_limit) && s.pids_limit > 0, `pids_limit ${s.pids_limit}`);
      // No swarm-only form that docker-compose 1.29 would ignore without --compatibility.
      assert.equal(s.deploy, undefined);
    });

    it(`${name}: runs as a non-root user from the start`, () => {
      assert.ok(s.user && !/^(root|0)(:|$)/.test(s.user), `user ${s.user}`);
    });
  }

  it('Redis data and Sentinel config are on volumes, the only writable places besides /tmp', () => {
    for (const name of redisServices)
      assert.ok(
        services[name].volumes.some((v: string) => v === `${name}-data:/data`),
        `${name}: ${services[name].volumes}`,
      );
    assert.ok(services['redisinsight'].volumes.includes('redisinsight-data:/data'));
  });

  it('Redis and Sentinel run maxmemory below their container limit', () => {
    for (const name of redisServices.filter((n) => !n.includes('sentinel'))) {
      const cmd: string[] = services[name].command;
      const maxmemory = /:-(\w+)\}$/.exec(cmd[cmd.indexOf('--maxmemory') + 1]!)?.[1];
      assert.ok(maxmemory, name);
      assert.ok(bytes(maxmemory.replace(/b$/, '')) * 2 <= bytes(services[name].mem_limit), name);
    }
  });
});

describe('deploy/compose.yaml: RedisInsight, which has no login', () => {
  const ri = services['redisinsight'];
  it('starts only with the tools profile; no service of the stack itself has a profile', () => {
    assert.deepEqual(ri.profiles, ['tools']);
    for (const name of redisServices) assert.equal(services[name].profiles, undefined, name);
    for (const [name, s] of Object.entries(services))
      if (s.profiles) assert.equal(s.profiles.length, 1, name);
    assert.equal(services['haproxy'].profiles, undefined);
  });

  it('is published on 127.0.0.1 only', () => {
    assert.ok(ri.ports.length > 0);
    for (const p of ri.ports) assert.match(p, /^127\.0\.0\.1:\d+:\d+$/);
  });

  it('says so in the file, right above the service', () => {
    assert.match(composeText, /# RedisInsight has NO LOGIN[^\n]*\n(\s*#[^\n]*\n)*\s{2}redisinsight:\n/);
  });
});

describe('images: a maintained Redis-compatible release', () => {
  const valkey = /^valkey\/valkey:8\.0(@sha256:[0-9a-f]{64})?$/;

  it('every Redis and Sentinel service of compose runs valkey/valkey:8.0 and its programs', () => {
    for (const name of redisServices) {
      const s = services[name];
      assert.match(s.image, valkey, name);
      assert.equal(s.user, 'valkey', name);
      assert.match(s.healthcheck.test.join(' '), /^CMD-SHELL valkey-cli /, name);
      if (!name.includes('sentinel')) assert.equal(s.command[0], 'valkey-server', name);
    }
  });

  it('no service runs a Redis 7.0 image or an unpinned :latest', () => {
    for (const [name, s] of Object.entries(services)) {
      assert.doesNotMatch(String(s.image), /^redis:7\.0/, name);
      // The app's image is built from the Dockerfile (its base image is pinned there).
      if (!s.build) assert.doesNotMatch(String(s.image), /:latest$|^[^:]+$/, name);
    }
  });

  it('the Kubernetes Redis and Sentinel pods run the same image, programs and probes', () => {
    for (const file of ['redis.yaml', 'sentinel.yaml']) {
      const docs = parseAllDocuments(readFileSync(join(DEPLOY, 'kubernetes', file), 'utf8')).map((d) =>
        d.toJS(),
      );
      const set = docs.find((d: Any) => d?.kind === 'StatefulSet');
      assert.ok(set, file);
      for (const c of set.spec.template.spec.containers) {
        assert.match(c.image, valkey, `${file} ${c.name}`);
        for (const probe of [c.readinessProbe, c.livenessProbe])
          assert.match(probe.exec.command.join(' '), /^sh -c valkey-cli /, `${file} ${c.name}`);
        if (file === 'redis.yaml') assert.equal(c.args[0], 'valkey-server');
        assert.deepEqual(c.securityContext, {
          runAsNonRoot: true,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
        });
        assert.ok(c.resources.limits.cpu && c.resources.limits.memory, `${file} ${c.name}`);
      }
      assert.deepEqual(set.spec.template.spec.securityContext.seccompProfile, { type: 'RuntimeDefault' });
      // The official Valkey image's valkey user.
      assert.equal(set.spec.template.spec.securityContext.runAsUser, 999);
    }
  });

  it('a digest, once set in IMAGE_DIGESTS, is carried as tag@digest', () => {
    assert.deepEqual(REDIS_PROGRAMS, {
      server: 'valkey-server',
      sentinel: 'valkey-sentinel',
      cli: 'valkey-cli',
    });
    const digests = IMAGE_DIGESTS as { redis: string };
    const before = digests.redis;
    try {
      digests.redis = `sha256:${'ab'.repeat(32)}`;
      assert.equal(imageRef('redis'), `${IMAGES.redis}@sha256:${'ab'.repeat(32)}`);
      digests.redis = 'latest';
      assert.throws(() => imageRef('redis'), /not a digest for redis/);
    } finally {
      digests.redis = before;
    }
    assert.equal(imageRef('app'), IMAGES.app);
  });
});
