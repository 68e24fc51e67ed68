import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { haproxyReloadFiles } from '../render/hosts.ts';
import { reloadHaproxy } from '../supervisor/haproxy-admin.ts';
import { type PidRecord, processStartTime } from '../supervisor/managed.ts';
import type { RotateResult } from '../supervisor/rotate.ts';
import { type CertRotationDeps, rotateCertificates } from '../supervisor/rotate-certs.ts';
import { waitFor } from '../supervisor/wait.ts';
import { FRONT_CERT } from '../tls/certs.ts';
import { hostTlsOf } from '../tls/hosts-certs.ts';
import { hostsAddNextCa, hostsFilesOf, hostsReissue, hostsRetireOldCa } from '../tls/hosts-renew.ts';
import { dropOldCaProbe, oldCaProbe } from '../tls/renew.ts';
import { type Host, hostOf as hostOfNode } from '../topology.ts';
import { type Bed, bedCertificates, bedPaths, bedSecrets } from './bed-files.ts';

/**
 * `ha-stack rotate certificates --hosts` on the test bed (docs/hosts.md), run as root from the
 * clients' namespace: the local rotation's three rounds (supervisor/rotate-certs.ts) on the hosts'
 * files (tls/hosts-renew.ts). In each round every node takes its host's files again (`CONFIG SET`,
 * asked over TLS as the operator), each Sentinel is stopped and its host starts it again (as
 * systemd's Restart=always would; one at a time, each back with the master, its replicas and the
 * other Sentinels before the next), and each host's HAProxy reloads (its master starts a new worker:
 * what the unit's ExecReload does). The apps and each host's guard read the files at their next
 * connection.
 */
export async function rotateBedCertificates(bed: Bed, log: (m: string) => void): Promise<RotateResult> {
  if (!bed.tls) throw new Error('this bed runs without TLS (up --hosts --no-tls): there are no certificates');
  const x = bedCertificates(bed);
  const s = bedSecrets(bed.dir);
  const t = bed.topology;
  const timeoutMs = 60_000;
  const hostOf = (name: string): Host => hostOfNode(bed.layout, name);
  const pidOf = (name: string) => livePid(join(bedPaths(bed.dir, hostOf(name)).run, `ha-stack-${name}.pid`));
  const deps: CertRotationDeps = {
    topology: t,
    certs: { dir: x.caDir, ca: join(x.caDir, 'ca.crt'), of: (n) => hostsFilesOf(x, n), frontPem: '' },
    certsGiven: false,
    creds: { login: { username: 'operator', password: s.redis.operator }, sentinelPassword: s.sentinel },
    withHaproxy: true,
    timeoutMs,
    log,
    running: (name) => pidOf(name) !== undefined,
    async restart(name) {
      const before = pidOf(name);
      if (before === undefined) throw new Error(`${name} is not running`);
      process.kill(before, 'SIGTERM');
      await waitFor(
        `${name} started again by ${hostOf(name).name}`,
        () => {
          const now = pidOf(name);
          return now !== undefined && now !== before;
        },
        { timeoutMs },
      );
    },
    async reloadHaproxy() {
      for (const h of bed.layout.hosts) {
        const p = bedPaths(bed.dir, h);
        const master = Number(readFileSync(join(p.run, 'haproxy.pid'), 'utf8').trim());
        await reloadHaproxy(master, haproxyReloadFiles(p), timeoutMs);
      }
    },
    steps: {
      addNextCa: () => hostsAddNextCa(x),
      reissue: () => hostsReissue(x),
      retireOldCa: () => hostsRetireOldCa(x),
      oldCaProbe: () => oldCaProbe(x.caDir),
      dropOldCaProbe: () => dropOldCaProbe(x.caDir),
    },
    fronts: bed.layout.hosts.flatMap((h) =>
      [t.haproxy.httpsPort, t.haproxy.statsPort].map((port) => ({
        host: h.address,
        port,
        cert: hostTlsOf(x.hostDir(h), FRONT_CERT).cert,
      })),
    ),
  };
  return rotateCertificates(deps);
}

/**
 * The pid of a host's unit from the record its supervisor wrote, when that process still runs: the
 * same pid started at the same time. Not its program file: a node's unit starts a shell script that
 * execs the server (render/hosts.ts), so the file changes after the record was written.
 */
function livePid(file: string): number | undefined {
  try {
    const rec = JSON.parse(readFileSync(file, 'utf8')) as PidRecord;
    return rec.start && processStartTime(rec.pid) === rec.start ? rec.pid : undefined;
  } catch {
    return undefined;
  }
}
