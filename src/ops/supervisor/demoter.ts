import type { Address } from '../../ha/sentinel/replies.ts';
import type { RedisNode } from '../topology.ts';
import { fenceVerdict } from './fence.ts';
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
  /** Whether a node's write fence is on (fence.ts); undefined when it does not answer. */
  fenced?(node: RedisNode): Promise<boolean | undefined>;
  /** Sets (`on`) or lifts a node's write fence. Without `fenced` and `fence`, no node is fenced. */
  fence?(node: RedisNode, on: boolean): Promise<void>;
  /** The master a replica follows, as it last reported (undefined for a master or when unknown). */
  upstream?(node: RedisNode): Promise<Address | undefined>;
  /**
   * Sets the write fence of the master one of `nodes` follows (another host's). Without `upstream`
   * and `fenceUpstream`, only `nodes` are fenced.
   */
  fenceUpstream?(master: Address): Promise<void>;
  log(message: string): void;
  /** The counts `demotions()` reports have changed. */
  changed(): void;
  pollMs?: number;
  /** Called once closed: lets go of what the looks kept (their connections). */
  release?(): void;
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
  /** Node name -> times its writes were fenced off. */
  private readonly fenceCounts = new Map<string, number>();
  /** The nodes whose writes are fenced off now (as last seen or set). */
  private readonly fencedNow = new Set<string>();
  /** The other hosts' masters (host:port) fenced off from here in this doubt, as a replica's host. */
  private readonly upstreamsFenced = new Map<string, 'set' | 'failed'>();
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

  /** Times the writes of node `name` were fenced off (fence.ts), and whether they are now. */
  fences(name: string): { count: number; now: boolean } {
    return { count: this.fenceCounts.get(name) ?? 0, now: this.fencedNow.has(name) };
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

  /**
   * One look at the Sentinels and this supervisor's nodes: fences a master in doubt at once and lifts
   * the fence once the Sentinels name it without reserve (fence.ts); demotes a node seen stale twice
   * in a row.
   */
  async check(): Promise<void> {
    const { deps } = this;
    const [answers, roles] = await Promise.all([
      deps.askSentinels(),
      Promise.all(
        deps.nodes.map(async (node) => {
          const [role, fenced] = await Promise.all([deps.role(node), deps.fenced?.(node)]);
          return { node, role, fenced };
        }),
      ),
    ]);
    await this.setFences(answers, roles);
    await this.fenceUpstreams(answers, roles);
    const agreement = agreedMaster(answers, deps.sentinelCount);
    if ('hold' in agreement) {
      this.suspects.clear();
      return;
    }
    const master = agreement.master;
    const own = deps.nodes.find((n) => key(n) === key(master));
    const namedRole = own ? undefined : await deps.role(master);
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

  /** Sets the fence of a master in doubt, lifts it from a master named without reserve and from a replica. */
  private async setFences(
    answers: readonly (SentinelAnswer | null)[],
    nodes: readonly { node: RedisNode; role: ReportedRole; fenced: boolean | undefined }[],
  ): Promise<void> {
    const { deps } = this;
    if (!deps.fence) return;
    for (const { node, role, fenced } of nodes) {
      if (this.closed || fenced === undefined) continue;
      this.seeFenced(node.name, fenced);
      let on = fenced;
      let why = 'it is a replica';
      if (role === 'master') {
        const verdict = fenceVerdict(node, answers, deps.sentinelCount);
        if ('doubt' in verdict) [on, why] = [true, verdict.doubt];
        else if ('clean' in verdict) [on, why] = [false, 'the Sentinels name it without reserve'];
      } else if (role === 'slave') on = false;
      if (on === fenced) continue;
      try {
        await deps.fence(node, on);
        if (on) this.fenceCounts.set(node.name, (this.fenceCounts.get(node.name) ?? 0) + 1);
        this.seeFenced(node.name, on);
        deps.log(`${node.name}: ${on ? 'writes fenced off' : 'write fence lifted'}: ${why}`);
      } catch (err) {
        deps.log(`${node.name}: setting its write fence failed: ${err instanceof Error ? err.message : err}`);
      }
    }
  }

  /**
   * The fence's other half, for a master whose own host cannot see the Sentinels in time (its link
   * slow or lossy): the host of each of its replicas fences it too, on the same verdict, over a
   * line kept to it (fence-lines.ts: a command gets in even where answers crawl out). Set only, at every
   * look in doubt; lifted by the master's own host (or Sentinel's demotion of it). Without it, such
   * a master takes writes until its apps hear of the failover, and a replica the failover's leader
   * has not moved yet confirms them: lost once it follows the promoted node.
   */
  private async fenceUpstreams(
    answers: readonly (SentinelAnswer | null)[],
    nodes: readonly { node: RedisNode; role: ReportedRole }[],
  ): Promise<void> {
    const { deps } = this;
    if (!deps.fenceUpstream || !deps.upstream) return;
    const inDoubt = new Map<string, { master: Address; why: string }>();
    for (const { node, role } of nodes) {
      const master = role === 'slave' ? await deps.upstream(node) : undefined;
      if (!master || deps.nodes.some((n) => key(n) === key(master))) continue;
      const verdict = fenceVerdict(master, answers, deps.sentinelCount);
      if ('doubt' in verdict) inDoubt.set(key(master), { master, why: verdict.doubt });
    }
    for (const k of [...this.upstreamsFenced.keys()]) if (!inDoubt.has(k)) this.upstreamsFenced.delete(k);
    for (const [k, { master, why }] of inDoubt) {
      if (this.closed) return;
      const was = this.upstreamsFenced.get(k);
      // Over a slow link the answer may not come in time: sent again at each look, logged once.
      const now = await deps.fenceUpstream(master).then(
        () => 'set' as const,
        (err: unknown) => (err instanceof Error ? err.message : String(err)),
      );
      this.upstreamsFenced.set(k, now === 'set' || was === 'set' ? 'set' : 'failed');
      if (now === 'set' && was !== 'set') {
        deps.log(`${k}: writes fenced off from its replica's host: ${why}`);
        deps.changed();
      } else if (now !== 'set' && was === undefined)
        deps.log(
          `${k}: fencing off the writes of this replica's master failed (${now}); sent again at each look`,
        );
    }
  }

  private seeFenced(name: string, fenced: boolean): void {
    if (fenced === this.fencedNow.has(name)) return;
    if (fenced) this.fencedNow.add(name);
    else this.fencedNow.delete(name);
    this.deps.changed();
  }

  /** Stops polling and waits for a check in progress. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    this.deps.release?.();
  }
}
