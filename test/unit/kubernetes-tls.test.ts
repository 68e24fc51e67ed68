/**
 * components/tls, tls-monitoring, tls-backup and cert-manager (docs/tls.md "Kubernetes"), offline:
 * `kubectl kustomize` of the base with them, every Kubernetes object against its schema
 * (kubernetes-models), and the cert-manager objects against a hand schema of the cert-manager v1 API
 * (its CRDs are not in kubernetes-models): the fields each kind knows, the required ones, the enums.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TLS_SECRETS } from '../../src/ops/render/kubernetes-tls.ts';
import { type K8sObject, needsKubectl, validate, withComponents } from './k8s-validate.ts';

/** The base with these components of deploy/kubernetes/components/, in this order, built. */
const buildWith = (components: string[], namespace = 'shop'): K8sObject[] =>
  withComponents(
    components.map((c) => `components/${c}`),
    namespace,
  );

// The cert-manager v1 API (cert-manager.io/v1), as far as these objects use it: each object's
// known fields (a nested schema, `true` for a leaf), the required ones, and the enums, as
// cert-manager's CRD (deploy/crds/cert-manager.io_certificates.yaml, v1) gives them: spec requires
// issuerRef and secretName, issuerRef requires name (its kind is a free string), usages and the
// private key's encoding and rotationPolicy are enums, an ECDSA key is 256, 384 or 521 bits.
type Schema = { [field: string]: Schema | true | string[] };
const ISSUER_REF: Schema = { name: true, kind: true, group: true };
const KEY_USAGES = [
  'signing', 'digital signature', 'content commitment', 'key encipherment', 'key agreement',
  'data encipherment', 'cert sign', 'crl sign', 'encipher only', 'decipher only', 'any', 'server auth',
  'client auth', 'code signing', 'email protection', 's/mime', 'ipsec end system', 'ipsec tunnel',
  'ipsec user', 'timestamping', 'ocsp signing', 'microsoft sgc', 'netscape sgc',
]; // biome-ignore format: one list
const CERTIFICATE_SPEC: Schema = {
  secretName: true,
  commonName: true,
  dnsNames: true,
  ipAddresses: true,
  uris: true,
  emailAddresses: true,
  duration: true,
  renewBefore: true,
  isCA: true,
  usages: KEY_USAGES,
  issuerRef: ISSUER_REF,
  privateKey: {
    algorithm: ['RSA', 'ECDSA', 'Ed25519'],
    size: true,
    encoding: ['PKCS1', 'PKCS8'],
    rotationPolicy: ['Never', 'Always'],
  },
  secretTemplate: { annotations: true, labels: true },
  subject: true,
  revisionHistoryLimit: true,
};
const ISSUER_SPEC: Schema = {
  selfSigned: { crlDistributionPoints: true },
  ca: { secretName: true, crlDistributionPoints: true, ocspServers: true, issuingCertificateURLs: true },
  acme: true,
  vault: true,
  venafi: true,
};
const REQUIRED: Record<string, string[]> = {
  Certificate: ['secretName', 'issuerRef'],
  Issuer: [],
};

/** Fields the hand schema does not know, wrong enum values, missing required fields: by path. */
function certManagerProblems(o: K8sObject): string[] {
  const problems: string[] = [];
  if (o.apiVersion !== 'cert-manager.io/v1') problems.push(`apiVersion ${o.apiVersion}`);
  const schema = { Certificate: CERTIFICATE_SPEC, Issuer: ISSUER_SPEC }[o.kind];
  if (!schema) return [...problems, `kind ${o.kind}`];
  const spec = o['spec'] as Record<string, unknown>;
  for (const r of REQUIRED[o.kind]!) if (spec[r] === undefined) problems.push(`.spec.${r} missing`);
  if (o.kind === 'Issuer' && Object.keys(spec).length !== 1) problems.push('.spec: one issuer type');
  if (o.kind === 'Certificate' && !(spec['issuerRef'] as { name?: string })?.name)
    problems.push('.spec.issuerRef.name');
  const key = spec['privateKey'] as { algorithm?: string; size?: number } | undefined;
  if (key?.algorithm === 'ECDSA' && key.size !== undefined && ![256, 384, 521].includes(key.size))
    problems.push('.spec.privateKey.size');
  for (const d of ['duration', 'renewBefore'])
    if (spec[d] !== undefined && !/^(\d+h)?(\d+m)?(\d+s)?$/.test(String(spec[d])))
      problems.push(`.spec.${d}`);
  const walk = (value: unknown, s: Schema | true | string[], path: string) => {
    if (s === true) return;
    if (Array.isArray(s)) {
      for (const v of Array.isArray(value) ? value : [value])
        if (!s.includes(String(v))) problems.push(`${path}: ${v} is not one of the enum`);
      return;
    }
    if (value === null || typeof value !== 'object')
      return problems.push(`${path}: not an object`) && undefined;
    for (const [k, v] of Object.entries(value)) {
      if (!(k in s)) problems.push(`${path}.${k}`);
      else walk(v, s[k]!, `${path}.${k}`);
    }
  };
  walk(spec, schema, '.spec');
  for (const k of Object.keys(o))
    if (!['apiVersion', 'kind', 'metadata', 'spec'].includes(k)) problems.push(`.${k}`);
  return problems;
}

type Container = {
  name: string;
  args?: string[];
  env?: { name: string; value?: string }[];
  volumeMounts?: { name: string; mountPath: string }[];
  readinessProbe?: { exec?: { command: string[] } };
  livenessProbe?: { exec?: { command: string[] } };
};
type PodSpec = { containers: Container[]; volumes?: { name: string; secret?: { secretName: string } }[] };
function podSpec(o: K8sObject): PodSpec {
  const spec = o['spec'] as {
    template?: { spec: PodSpec };
    jobTemplate?: { spec: { template: { spec: PodSpec } } };
  };
  return spec.template?.spec ?? spec.jobTemplate!.spec.template.spec;
}
const envOf = (c: Container) => Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
const secretOf = (p: PodSpec) => p.volumes?.find((v) => v.name === 'tls')?.secret?.secretName;
const name = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;

describe('components/tls and components/cert-manager', () => {
  it('the hand schema itself: an unknown field, a wrong enum and a missing field are found', () => {
    const cert = {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: 'x' },
      spec: { secretName: 'x', issuerRef: { name: 'ca', kind: 'Issuer' }, usages: ['server auth'] },
    };
    assert.deepEqual(certManagerProblems(cert), []);
    assert.deepEqual(certManagerProblems({ ...cert, spec: { ...cert.spec, dnsName: ['a'] } }), [
      '.spec.dnsName',
    ]);
    assert.deepEqual(certManagerProblems({ ...cert, spec: { ...cert.spec, usages: ['server'] } }), [
      '.spec.usages: server is not one of the enum',
    ]);
    assert.deepEqual(certManagerProblems({ ...cert, spec: { issuerRef: cert.spec.issuerRef } }), [
      '.spec.secretName missing',
    ]);
  });

  it(
    'base + tls: every node, Sentinel, app and the functions Job on TLS from its Secret; probes on TLS',
    needsKubectl,
    () => {
      const objects = buildWith(['tls']);
      for (const o of objects)
        assert.deepEqual(validate(o), [], `${name(o)}: fields the schema does not know`);
      assert.equal(
        objects.filter((o) => o.kind === 'Secret').length,
        0,
        'no Secret: the operator or cert-manager makes them',
      );
      const want = {
        redis: TLS_SECRETS.redis,
        sentinel: TLS_SECRETS.sentinel,
        app: TLS_SECRETS.app,
        functions: TLS_SECRETS.app,
      };
      for (const [workload, secret] of Object.entries(want)) {
        const o = objects.find(
          (x) => x.metadata.name === workload && ['StatefulSet', 'Deployment', 'Job'].includes(x.kind),
        )!;
        const p = podSpec(o);
        assert.equal(secretOf(p), secret, name(o));
        const c = p.containers[0]!;
        assert.deepEqual(
          [envOf(c)['REDIS_TLS_CA_FILE'], envOf(c)['REDIS_TLS_CERT_FILE'], envOf(c)['REDIS_TLS_KEY_FILE']],
          ['/tls/ca.crt', '/tls/tls.crt', '/tls/tls.key'],
          name(o),
        );
        assert.ok(
          c.volumeMounts?.some((m) => m.name === 'tls' && m.mountPath === '/tls'),
          name(o),
        );
        for (const probe of [c.readinessProbe, c.livenessProbe])
          if (probe?.exec)
            assert.match(
              probe.exec.command.join(' '),
              /valkey-cli --tls --cacert \/tls\/ca\.crt --cert \/tls\/tls\.crt --key \/tls\/tls\.key /,
              name(o),
            );
        if (workload === 'app') assert.equal(envOf(c)['COOKIE_SECURE'], 'true');
      }
    },
  );

  it(
    'base + monitoring + backup + tls + tls-monitoring + tls-backup + cert-manager builds and validates',
    needsKubectl,
    () => {
      const objects = buildWith([
        'monitoring',
        'backup',
        'tls',
        'tls-monitoring',
        'tls-backup',
        'cert-manager',
      ]);
      const cm = objects.filter((o) => o.apiVersion.startsWith('cert-manager.io/'));
      for (const o of objects.filter(
        (x) => !x.apiVersion.startsWith('cert-manager.io/') && x.kind !== 'ServiceMonitor',
      ))
        assert.deepEqual(validate(o), [], `${name(o)}: fields the schema does not know`);
      for (const o of cm) assert.deepEqual(certManagerProblems(o), [], name(o));
      // Each exporter on rediss:// with the pod's certificate; the backups with the nodes' Secret.
      for (const workload of ['redis', 'sentinel']) {
        const sts = objects.find((o) => o.kind === 'StatefulSet' && o.metadata.name === workload)!;
        const exporter = podSpec(sts).containers.find((c) => c.name === 'exporter')!;
        assert.ok(
          exporter.args?.some((a) => a.startsWith('-redis.addr=rediss://localhost:')),
          workload,
        );
        assert.ok(exporter.args?.includes('-tls-client-cert-file=/tls/tls.crt'), workload);
        assert.ok(
          exporter.volumeMounts?.some((m) => m.mountPath === '/tls'),
          workload,
        );
      }
      const backup = podSpec(objects.find((o) => o.kind === 'CronJob')!);
      assert.equal(secretOf(backup), TLS_SECRETS.redis);
      assert.equal(envOf(backup.containers[0]!)['REDIS_TLS_CERT_FILE'], '/tls/tls.crt');
      // cert-manager makes every Secret the pods mount, from Issuers of the build, naming the pods.
      const issuers = new Set(cm.filter((o) => o.kind === 'Issuer').map((o) => o.metadata.name));
      const certs = cm.filter((o) => o.kind === 'Certificate') as (K8sObject & {
        spec: { secretName: string; dnsNames?: string[]; issuerRef: { name: string } };
      })[];
      for (const c of certs)
        assert.ok(issuers.has(c.spec.issuerRef.name), `${name(c)}: issuer ${c.spec.issuerRef.name}`);
      for (const s of Object.values(TLS_SECRETS))
        assert.ok(
          certs.some((c) => c.spec.secretName === s),
          s,
        );
      const matches = (pattern: string, host: string) =>
        pattern.startsWith('*.') ? host.slice(host.indexOf('.') + 1) === pattern.slice(2) : pattern === host;
      for (const [secret, host] of [
        [TLS_SECRETS.redis, 'redis-2.redis.shop.svc'],
        [TLS_SECRETS.sentinel, 'sentinel-0.sentinel.shop.svc'],
      ] as const) {
        const names = certs.find((c) => c.spec.secretName === secret)?.spec.dnsNames ?? [];
        assert.ok(
          names.some((n) => matches(n, host)),
          `${secret} does not name ${host}: ${names}`,
        );
        assert.ok(names.includes('localhost'), `${secret}: the probes and exporters reach localhost`);
      }
    },
  );

  it(
    'tls-monitoring before monitoring fails the build instead of leaving an exporter in plain text',
    needsKubectl,
    () => {
      assert.throws(() => buildWith(['tls', 'tls-monitoring', 'monitoring']));
    },
  );
});
