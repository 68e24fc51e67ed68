// Measures Sentinel's fail-back after a master is killed under CPU contention:
//   node --import tsx scripts/failback-measure.ts --down-after 1000 --rounds 10 [--busy 4] [--no-demote]
// Each round kills the master the Sentinels name, samples every node's role every 100 ms for 20 s,
// and counts how often the Sentinels switched master (2 or more: a fail-back) and the longest time
// two nodes reported role:master at once. Busy loops (`--busy N`, spread over the cores with
// taskset) compete with the stack for the CPU. Run it under the integration lock.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { nodeState, sentinelsMaster, withRedis } from '../src/ha/probes.ts';
import { freePorts } from '../src/ops/supervisor/ports.ts';
import { Stack } from '../src/ops/supervisor/supervisor.ts';
import { waitFor } from '../src/ops/supervisor/wait.ts';
import { DOWN_AFTER_FLOOR_MS } from '../src/ops/topology.ts';

const { values } = parseArgs({
  options: {
    'down-after': { type: 'string', default: '1000' },
    rounds: { type: 'string', default: '5' },
    busy: { type: 'string', default: '4' },
    'no-demote': { type: 'boolean', default: false },
    'observe-s': { type: 'string', default: '14' },
    'stack-nice': { type: 'string', default: '0' },
  },
});
const downAfterMs = Number(values['down-after']);
const rounds = Number(values.rounds);
const busyCount = Number(values.busy);
const observeMs = Number(values['observe-s']) * 1000;
const stackNice = Number(values['stack-nice']);

const busy: ChildProcess[] = [];
const cores = availableParallelism();
for (let i = 0; i < busyCount; i++)
  busy.push(
    spawn('taskset', ['-c', String(i % cores), 'sh', '-c', 'while :; do :; done'], { stdio: 'ignore' }),
  );

const runDir = mkdtempSync(join(tmpdir(), 'ha-stack-failback-'));
const stack = await Stack.start({
  runDir,
  // Values below the floor the stack accepts are set on the running Sentinels (SENTINEL SET).
  topology: { ports: await freePorts(), downAfterMs: Math.max(downAfterMs, DOWN_AFTER_FLOOR_MS) },
  apps: 0,
  haproxy: false,
  timeoutMs: 60_000,
  demoteStaleMasters: !values['no-demote'],
});
const t = stack.topology;
for (const s of t.sentinels)
  await withRedis(s.host, s.port, { password: stack.sentinelPassword }, (r) =>
    r.call('SENTINEL', 'SET', t.masterName, 'down-after-milliseconds', String(downAfterMs)),
  );
const named = async () => {
  const m = await sentinelsMaster(t.sentinels, t.masterName, stack.sentinelPassword);
  return t.redis.find((r) => r.host === m?.host && r.port === m?.port)?.name;
};
const roles = () =>
  Promise.all(
    t.redis.map((r) =>
      nodeState(r.host, r.port, stack.login).then(
        (s) => s.role,
        () => 'down',
      ),
    ),
  );

const results: { round: number; switches: number; twoMastersMs: number; failback: boolean }[] = [];
try {
  for (let round = 1; round <= rounds; round++) {
    await waitFor(
      'one master, every node up',
      async () => {
        const rs = await roles();
        return rs.filter((x) => x === 'master').length === 1 && !rs.includes('down') && !!(await named());
      },
      { timeoutMs: 120_000, intervalMs: 200 },
    );
    // The stack's processes at a lower priority than the busy loops (restarted ones get new pids).
    if (stackNice)
      for (const name of stack.names) {
        const pid = stack.process(name).pid;
        if (pid) spawnSync('renice', ['-n', String(stackNice), '-p', String(pid)], { stdio: 'ignore' });
      }
    const first = (await named())!;
    const t0 = Date.now();
    await stack.kill(first);
    let last = first;
    let switches = 0;
    let twoSince: number | undefined;
    let twoMastersMs = 0;
    const seen: string[] = [];
    while (Date.now() - t0 < observeMs) {
      const at = Date.now();
      const [m, rs] = await Promise.all([named().catch(() => undefined), roles()]);
      if (m && m !== last) {
        switches++;
        seen.push(`+${((at - t0) / 1000).toFixed(1)}s ${last}->${m}`);
        last = m;
      }
      const masters = rs.filter((x) => x === 'master').length;
      if (masters > 1) {
        twoSince ??= at;
        twoMastersMs = Math.max(twoMastersMs, Date.now() - twoSince);
      } else twoSince = undefined;
      await sleep(Math.max(0, 100 - (Date.now() - at)));
    }
    const failback = switches > 1;
    results.push({ round, switches, twoMastersMs, failback });
    console.log(
      `down-after ${downAfterMs} round ${round}: switches ${switches} (${seen.join(', ')}), two masters ${twoMastersMs} ms${failback ? '  FAIL-BACK' : ''}`,
    );
  }
} finally {
  for (const b of busy) b.kill('SIGKILL');
  const logs = t.sentinels.flatMap((s) =>
    readFileSync(join(runDir, 'logs', `${s.name}.log`), 'utf8')
      .split('\n')
      .filter((l) => /switch-master|\+sdown master|\+odown|try-failover|convert-to-slave/.test(l))
      .map((l) => `${s.name} ${l}`),
  );
  console.log(logs.join('\n'));
  await stack.stop();
  rmSync(runDir, { recursive: true, force: true });
}
const fb = results.filter((r) => r.failback).length;
const worst = Math.max(0, ...results.map((r) => r.twoMastersMs));
console.log(
  `SUMMARY down-after ${downAfterMs} busy ${busyCount} stack-nice ${stackNice} demote ${!values['no-demote']}: ${fb}/${results.length} rounds failed back; longest two-master span ${worst} ms`,
);
