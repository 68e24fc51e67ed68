import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack } from './src/stack/process/supervisor.ts';
import { freePort } from './src/stack/process/ports.ts';
import { PORT_VARIABLES, type PortName } from './src/stack/topology.ts';
import { createBenchUsers } from './src/bench/fixtures.ts';
import { drive, allCases } from './src/bench/cases.ts';
const ports = {} as Record<PortName, number>;
for (const n of Object.keys(PORT_VARIABLES) as PortName[]) ports[n] = await freePort();
const stack = await Stack.start({ runDir: mkdtempSync(join(tmpdir(), 'prof-')), topology: { ports }, haproxy: false, apps: 1,
  appEnv: { SCRYPT_COST: '1024' },
  appCommand: [process.execPath, '--cpu-prof', '--cpu-prof-dir=/tmp/wt7prof', '--import', 'tsx', join(process.cwd(), 'src/server.ts')] });
try {
  const url = stack.appUrls[0]!;
  const users = await createBenchUsers(url, undefined, 32);
  const e = { url, pids: () => [] };
  const c = allCases({ app: { front: e, direct: e }, ceiling: { front: e, direct: e }, peer: { front: e, direct: e } }).find((x) => x.id === 'get-app')!;
  const r = await drive(c, users, { connections: 32, durationS: 5, progress: false });
  console.log(r.requests.average);
} finally { await stack.stop(); }
