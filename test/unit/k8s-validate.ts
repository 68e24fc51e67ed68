// Shared by the Kubernetes tests: `kubectl kustomize` (skipped where kubectl is missing) and the
// schema check of one object by kubernetes-models, unknown fields included (kubernetes-schema.test.ts).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const require = createRequire(import.meta.url);
const BASE = fileURLToPath(new URL('../../deploy/kubernetes/', import.meta.url));

export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  [k: string]: unknown;
};

const kubectl = (() => {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
export const needsKubectl = kubectl
  ? {}
  : { skip: 'kubectl is not installed: the kustomize build is not checked' };

/** The base of deploy/kubernetes with one component, as an overlay would take it, built. */
export function withComponent(component: string): K8sObject[] {
  return withComponents([component]);
}

/**
 * The base of deploy/kubernetes with these components (paths under deploy/kubernetes/, in this
 * order), in `namespace` when given, as an overlay would take them, built.
 */
export function withComponents(components: string[], namespace?: string): K8sObject[] {
  const dir = mkdtempSync(join(tmpdir(), 'ha-stack-kustomize-'));
  try {
    writeFileSync(
      join(dir, 'kustomization.yaml'),
      [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        ...(namespace ? [`namespace: ${namespace}`] : []),
        `resources: [${JSON.stringify(relative(dir, BASE))}]`,
        `components: [${components.map((c) => JSON.stringify(relative(dir, join(BASE, c)))).join(', ')}]`,
        '',
      ].join('\n'),
    );
    return build(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function build(dir: string): K8sObject[] {
  const out = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 });
  return parseAllDocuments(out).map((d) => d.toJS() as K8sObject);
}

/**
 * Runs kubernetes-models' own validate() of the object's kind (types, enums, required fields) on a
 * proxy that records every property the validator reads. The validator reads each property its
 * schema defines, and every key of a map (labels, data); a key it never read is one the schema does
 * not know. Returns those keys by path; throws what validate() throws.
 */
export function validate(obj: K8sObject): string[] {
  const { apiVersion, kind } = obj;
  // kubernetes-models/<group>/<version>/<Kind>, `v1` for the core group.
  const model = require(`kubernetes-models/${apiVersion}/${kind}`)[kind] as {
    prototype: { validate(this: unknown): void };
    new (data: unknown): { validate(): void };
  };
  new model(obj).validate();
  const read = new WeakMap<object, Set<string>>();
  const proxies = new WeakMap<object, object>();
  const wrap = (value: unknown): unknown => {
    if (value === null || typeof value !== 'object') return value;
    const known = proxies.get(value);
    if (known) return known;
    const proxy = new Proxy(value, {
      get(target, key, receiver) {
        if (typeof key === 'string') {
          if (!read.has(target)) read.set(target, new Set());
          read.get(target)!.add(key);
        }
        return wrap(Reflect.get(target, key, receiver));
      },
    });
    proxies.set(value, proxy);
    return proxy;
  };
  model.prototype.validate.call(wrap(obj));
  const unknown: string[] = [];
  const walk = (value: unknown, path: string) => {
    if (value === null || typeof value !== 'object') return;
    if (Array.isArray(value)) {
      for (const [i, v] of value.entries()) walk(v, `${path}[${i}]`);
      return;
    }
    for (const [k, v] of Object.entries(value)) {
      if (!read.get(value)?.has(k)) unknown.push(`${path}.${k}`);
      walk(v, `${path}.${k}`);
    }
  };
  walk(obj, '');
  return unknown;
}
