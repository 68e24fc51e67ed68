import { haproxyStats, upServers } from '../../ha/probes.ts';
import type { StackView } from './stack-view.ts';
import { waitFor } from './wait.ts';

export interface RollDeps {
  readonly view: StackView;
  readonly withHaproxy: boolean;
  readonly timeoutMs: number;
  /** The operator's stop and start of one node (the healer neither restarts it nor races them). */
  stop(name: string): Promise<void>;
  start(name: string): Promise<void>;
  log(message: string): void;
}

/**
 * Restarts the app instances one at a time, each drained and taken out of HAProxy first, so the
 * other serves meanwhile; their names in order.
 */
export async function rollApps(d: RollDeps): Promise<string[]> {
  const names = d.view.topology.apps.slice(0, d.view.appCount).map((a) => a.name);
  const { timeoutMs } = d;
  const up = async (name: string) => upServers(await haproxyStats(d.view.stats), 'apps').includes(name);
  for (const name of names) {
    if (d.withHaproxy)
      await waitFor(`HAProxy to have ${name} UP before its restart`, () => up(name), { timeoutMs });
    // SIGTERM: /readyz answers 503 while the instance still serves, HAProxy takes it out.
    await d.stop(name);
    if (d.withHaproxy)
      await waitFor(`HAProxy to take ${name} out`, async () => !(await up(name)), { timeoutMs });
    await d.start(name);
    if (d.withHaproxy) await waitFor(`HAProxy to have ${name} UP`, () => up(name), { timeoutMs });
    d.log(`${name} restarted`);
  }
  return names;
}
