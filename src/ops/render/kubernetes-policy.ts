import type { Topology } from '../topology.ts';
import { NAMES, type Obj, PART_OF, PORTS, selector, type Workload } from './kubernetes-names.ts';
import { hardAntiAffinity, metadata } from './kubernetes-pod.ts';

// Who may reach whom, and how many pods a voluntary disruption (a drained node, an upgrade) may take.

const from = (...workloads: Workload[]): Obj[] =>
  workloads.map((w) => ({ podSelector: { matchLabels: selector(w) } }));

function policy(name: string, workload: Workload, ingress: Obj[]): Obj {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: metadata(name, workload),
    spec: { podSelector: { matchLabels: selector(workload) }, policyTypes: ['Ingress'], ingress },
  };
}

/**
 * The front: the Ingress controller's pods (ingress-nginx as installed by its manifests and chart,
 * the controller of examples/tls-ingress). The only peers of the app, and so the only ones whose
 * X-Forwarded-For it is given to believe (TRUST_PROXY); another controller: change both selectors.
 */
export const FRONT = {
  namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } },
  podSelector: { matchLabels: { 'app.kubernetes.io/name': 'ingress-nginx' } },
};

/**
 * Nothing reaches a pod of the stack unless a policy below lets it: Redis only from the app, the
 * Sentinels, the other Redis nodes and the functions Job; the Sentinels only from the app (which
 * asks them for the master), the functions Job, Redis (whose start and pre-stop scripts ask them)
 * and each other; the app only from the front (FRONT), so no other pod can send it a forged
 * X-Forwarded-For. Egress is left open: DNS and the cluster's own services.
 */
export function networkPolicies(): Obj[] {
  return [
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: metadata(`${PART_OF}-default-deny`, undefined),
      spec: {
        podSelector: { matchLabels: { 'app.kubernetes.io/part-of': PART_OF } },
        policyTypes: ['Ingress'],
      },
    },
    policy(NAMES.redis, 'redis', [
      {
        from: from('app', 'sentinel', 'redis', 'functions'),
        ports: [{ protocol: 'TCP', port: PORTS.redis }],
      },
    ]),
    policy(NAMES.sentinel, 'sentinel', [
      {
        from: from('app', 'redis', 'sentinel', 'functions'),
        ports: [{ protocol: 'TCP', port: PORTS.sentinel }],
      },
    ]),
    policy(NAMES.app, 'app', [{ from: [FRONT], ports: [{ protocol: 'TCP', port: PORTS.app }] }]),
  ];
}

function budget(workload: Workload, limit: Obj): Obj {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: metadata(NAMES[workload], workload),
    spec: { ...limit, selector: { matchLabels: selector(workload) } },
  };
}

/**
 * One Redis node at a time (a master and a replica remain, so writes still find a replica to confirm
 * them); never fewer Sentinels than the quorum; never fewer than one app pod.
 */
export function disruptionBudgets(t: Topology): Obj[] {
  return [
    budget('redis', { maxUnavailable: 1 }),
    budget('sentinel', { minAvailable: t.quorum }),
    budget('app', { minAvailable: 1 }),
  ];
}

/**
 * A kustomize component that turns the soft anti-affinity into a requirement: never two pods of a
 * workload on one node (a pod stays Pending instead). For clusters with at least three nodes.
 */
export function hardAntiAffinityComponent(): Obj {
  const workloads: [Workload, string][] = [
    ['redis', 'StatefulSet'],
    ['sentinel', 'StatefulSet'],
    ['app', 'Deployment'],
  ];
  return {
    apiVersion: 'kustomize.config.k8s.io/v1alpha1',
    kind: 'Component',
    patches: workloads.map(([w, kind]) => ({
      target: { kind, name: NAMES[w] },
      // A JSON patch replaces the whole rule; a strategic merge would keep the preferred one beside it.
      patch: JSON.stringify([
        { op: 'replace', path: '/spec/template/spec/affinity', value: hardAntiAffinity(w) },
      ]),
    })),
  };
}
