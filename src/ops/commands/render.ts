import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { composeTopology, renderComposeFiles } from '../render/compose.ts';
import { kubernetesTopology, renderKubernetesFiles } from '../render/kubernetes.ts';
import { renderLocalFiles } from '../render/local.ts';
import { topologyFromEnv } from '../settings.ts';
import { defineTopology, type TopologyCounts } from '../topology.ts';
import { parseCommandLine } from './args.ts';
import { CliError, runDirPath, UsageError } from './context.ts';
import { countsFromCommandLine } from './counts.ts';
import { hostsFiles, hostsTlsLine } from './render-hosts.ts';

const TARGETS = ['compose', 'local', 'kubernetes', 'hosts'] as const;
type Target = (typeof TARGETS)[number];

export function parseRenderArgs(args: string[]): {
  target: Target;
  out: string;
  check: boolean;
  tls: boolean;
} {
  const { values } = parseCommandLine(args, {
    target: { type: 'string' },
    out: { type: 'string' },
    check: { type: 'boolean' },
    'no-tls': { type: 'boolean' },
  });
  const target = values.target;
  if (!target || !(TARGETS as readonly string[]).includes(target))
    throw new UsageError(`render: --target must be one of ${TARGETS.join(', ')}`);
  if (!values.out) throw new UsageError('render: --out DIR is required');
  if (values['no-tls'] && target !== 'hosts') throw new UsageError('render: --no-tls is for --target hosts');
  return {
    target: target as Target,
    out: values.out,
    check: values.check === true,
    // TLS on by default for the hosts (docs/hosts.md); --no-tls for a measurement without it.
    tls: values['no-tls'] !== true,
  };
}

export function filesFor(
  target: Target,
  counts: TopologyCounts,
  out = '.',
  opts = { tls: true },
): Record<string, string> {
  if (target === 'hosts') return hostsFiles(out, counts, opts);
  if (target === 'compose') return renderComposeFiles(composeTopology(counts));
  if (target === 'kubernetes') return renderKubernetesFiles(kubernetesTopology(counts));
  const topology = defineTopology(topologyFromEnv(process.env, counts));
  // For reading: no password (the stack writes its own copies, with them, at each start).
  return renderLocalFiles(topology, { runDir: runDirPath(), secrets: undefined });
}

const read = (path: string) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** `render --target compose|local|kubernetes|hosts --out DIR [--check] [counts]`: writes the generated configs, or with --check
 * only compares them and fails when one differs. */
export async function render(args: string[]): Promise<void> {
  const { counts, rest, warnings } = countsFromCommandLine(args);
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
  const { target, out, check, tls } = parseRenderArgs(rest);
  const files = Object.entries(filesFor(target, counts, out, { tls })).map(
    ([path, text]) => [join(out, path), text] as const,
  );
  if (check) {
    const stale = files.filter(([path, text]) => read(path) !== text).map(([path]) => relative('.', path));
    if (stale.length)
      throw new CliError(`out of date (run without --check to regenerate): ${stale.join(', ')}`);
    process.stdout.write(`${files.length} files up to date in ${out}\n`);
    return;
  }
  for (const [path, text] of files) {
    mkdirSync(dirname(path), { recursive: true, mode: target === 'hosts' ? 0o700 : 0o777 });
    writeFileSync(path, text, { mode: target === 'local' || target === 'hosts' ? 0o600 : 0o644 });
    process.stdout.write(`wrote ${relative('.', path)}\n`);
  }
  if (target === 'hosts' && tls) process.stdout.write(hostsTlsLine(out, counts));
}
