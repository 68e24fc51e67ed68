import type { Address } from '../../ha/sentinel/replies.ts';
import type { RedisNode } from '../topology.ts';
import { agreedMaster, type ReportedRole, type SentinelAnswer, staleMasters } from './stale-master.ts';

/** How often the supervisor looks: a stale master is seen twice in a row, so demoted within ~2 polls. */
export const DEMOTE_POLL_MS = 200;

export interface DemoterDeps {
  /** The Redis nodes this supervisor runs (on the hosts test bed: only its own host's). */
  nodes: readonly RedisNode[];
  /** How many Sentinels the topology has: a majority of these must agree. */
  sentinelCount: number;
  /** Every Sentinel's answer, null for one that does not answer. */
  askSentinels(): Promise<(SentinelAnswer | null)[]>;
  /** What a node reports as its role (undefined when it does not answer). */
  role(node: Address): Promise<ReportedRole>;
  /** Makes `node` a replica of `master` (REPLICAOF, with the operator's login). */
  demote(node: RedisNode, master: Address): Promise<void>;
  log(message: string): void;
  /** The counts `demotions()` reports have changed. */
  changed(): void;
  pollMs?: number;
}

const key = (a: Address) => `${a.host}:${a.port}`;

/**
 * Demotes a node of this supervisor that reports role:master while the Sentinels agree on another
 * master (stale-master.ts): after a fail-back, Sentinel itself converts such a node only once it has
 * reported master for 8 s and on its next INFO (every 10 s), and two masters take writes meanwhile.
 * A node must be seen stale in two polls in a row, towards the same master, before it is demoted.
 */
export class StaleMasterDemoter {
  private readonly counts = new Map<string, number>();
  /** Node name -> the master it was last seen stale against. */
  private readonly suspects = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly deps: DemoterDeps) {}

  /** Whether `name` is one of the Redis nodes it looks after. */
  manages(name: string): boolean {
    return this.deps.nodes.some((n) => n.name === name);
  }

  /** Demotions made per node name. */
  demotions(name: string): number {
    return this.counts.get(name) ?? 0;
  }

  start(): void {
    if (this.closed || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.check()
        .catch((err) =>
          this.deps.log(`stale-master check failed: ${err instanceof Error ? err.message : err}`),
        )
        .finally(() => {
          this.running = undefined;
          this.start();
        });
    }, this.deps.pollMs ?? DEMOTE_POLL_MS);
    this.timer.unref();
  }

  /** One look at the Sentinels and this supervisor's nodes; demotes a node seen stale twice in a row. */
  async check(): Promise<void> {
    const { deps } = this;
    const agreement = agreedMaster(await deps.askSentinels(), deps.sentinelCount);
    if ('hold' in agreement) {
      this.suspects.clear();
      return;
    }
    const master = agreement.master;
    const own = deps.nodes.find((n) => key(n) === key(master));
    const [roles, namedRole] = await Promise.all([
      Promise.all(deps.nodes.map(async (node) => ({ node, role: await deps.role(node) }))),
      own ? Promise.resolve(undefined) : deps.role(master),
    ]);
    const masterRole = own ? roles.find((r) => r.node === own)?.role : namedRole;
    const stale = staleMasters(agreement, roles, masterRole);
    for (const name of [...this.suspects.keys()])
      if (!stale.some((n) => n.name === name)) this.suspects.delete(name);
    for (const node of stale) {
      if (this.closed) return;
      if (this.suspects.get(node.name) !== key(master)) {
        this.suspects.set(node.name, key(master));
        continue;
      }
      this.suspects.delete(node.name);
      try {
        await deps.demote(node, master);
      } catch (err) {
        deps.log(`${node.name}: demoting it failed: ${err instanceof Error ? err.message : err}`);
        continue;
      }
      this.counts.set(node.name, this.demotions(node.name) + 1);
      deps.log(
        `${node.name}: reported role:master while the Sentinels name ${key(master)} (config epoch ${agreement.epoch}); made it a replica of it`,
      );
      deps.changed();
    }
  }

  /** Stops polling and waits for a check in progress. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
