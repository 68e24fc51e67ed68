import type { Topology } from '../topology.ts';
import type { YamlValue } from './yaml.ts';

/** The variable that moves the stack's network: the first three octets of its /24. */
export const NETWORK_VARIABLE = 'STACK_NETWORK';
// biome-ignore lint/suspicious/noTemplateCurlyInString: a compose variable, not a template
const PREFIX = '${STACK_NETWORK:-10.56.0}';

/**
 * The stack's network. Every Redis node, Sentinel and app and HAProxy has a fixed address in it
 * (the numbering of the local addresses: nodes .11-.19, Sentinels .21-.29, apps .31-.39, HAProxy
 * .80), and every container finds those names in its /etc/hosts (`extra_hosts`), never through
 * Docker's DNS. A lookup there of a container being stopped can go unanswered until glibc's 5 s
 * timeout, and Sentinel and Redis resolve names in their event loop: a Sentinel blocked that long
 * enters TILT and does nothing for 30 s, in one run in the middle of a failover, leaving a replica
 * on the dead master and every write refused. Containers without a fixed address (the one-shot and
 * profile services) get one from the upper half. The apps believe `X-Forwarded-For` from HAProxy's
 * address and from nobody else.
 */
export const NETWORK = {
  subnet: `${PREFIX}.0/24`,
  dynamic: `${PREFIX}.128/25`,
  haproxyAddress: `${PREFIX}.80`,
} as const;

/** Each fixed address by service name (the service name is the host name). */
export function fixedAddresses(t: Topology): Map<string, string> {
  const out = new Map<string, string>();
  const groups: [number, { host: string }[]][] = [
    [10, t.redis],
    [20, t.sentinels],
    [30, t.apps],
  ];
  for (const [base, nodes] of groups)
    nodes.forEach((n, i) => void out.set(n.host, `${PREFIX}.${base + i + 1}`));
  out.set(t.haproxy.host, NETWORK.haproxyAddress);
  return out;
}

/** The services with their addresses and hosts entries, and the network they sit on. */
export function withAddresses(
  t: Topology,
  services: { [name: string]: YamlValue },
): { services: { [name: string]: YamlValue }; networks: YamlValue } {
  const fixed = fixedAddresses(t);
  const hosts = [...fixed].map(([name, address]) => `${name}:${address}`);
  const out: { [name: string]: YamlValue } = {};
  for (const [name, service] of Object.entries(services)) {
    const address = fixed.get(name);
    out[name] = {
      ...(service as { [key: string]: YamlValue }),
      ...(address ? { networks: { default: { ipv4_address: address } } } : {}),
      extra_hosts: hosts,
    };
  }
  const ipam = { config: [{ subnet: NETWORK.subnet, ip_range: NETWORK.dynamic }] };
  return { services: out, networks: { default: { ipam } } };
}
