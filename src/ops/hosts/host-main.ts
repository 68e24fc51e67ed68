import { bedPaths, readBed } from './bed-files.ts';
import { HostSupervisor } from './host-supervisor.ts';

// The supervisor of one host of the test bed, started in the host's namespace: `host-main.ts DIR host-N`.
const [dir, name] = process.argv.slice(2);
const bed = readBed(dir!);
const host = bed.layout.hosts.find((h) => h.name === name);
if (!host) {
  process.stderr.write(`no host ${name} in ${dir}\n`);
  process.exit(2);
}
const log = (m: string) => process.stdout.write(`[${new Date().toISOString().slice(11, 23)}] ${m}\n`);
const sup = new HostSupervisor(host, bedPaths(dir!, host), log);
sup.start();
for (const sig of ['SIGTERM', 'SIGINT'] as const)
  process.once(sig, () => {
    void sup.stop().then(() => process.exit(0));
  });
