import { type RedisLogin, withRedis } from '../../ha/probes.ts';
import type { RedisUser } from '../render/acl.ts';
import type { RedisNode, Topology } from '../topology.ts';
import { type LiveSecrets, OPERATOR_PASSWORD_FILE } from './live-secrets.ts';
import { StackStoppingError } from './process-set.ts';
import {
  isRotatableSecret,
  newSecret,
  ROTATABLE_SECRETS,
  type RotatableSecret,
  type RotateResult,
  SESSION_SECRET_FILE,
  SESSION_SECRET_PREVIOUS_FILE,
} from './rotate.ts';
import { type RunDir, SECRET_FILES } from './rundir.ts';

type Done = { restarted: string[]; nodes: string[] };

/** What a rotation needs of the rest of the stack. */
export interface RotatorDeps {
  readonly topology: Topology;
  readonly run: RunDir;
  readonly secrets: LiveSecrets;
  /** The operator's login and the Sentinels' password, as they are now. */
  readonly creds: { readonly login: RedisLogin; readonly sentinelPassword: string };
  readonly withHaproxy: boolean;
  running(name: string): boolean;
  /** The whole stack is stopping. */
  stopping(): boolean;
  /** Restarts the app instances one at a time, each drained first; their names in order (roll.ts). */
  rollApps(): Promise<string[]>;
  /** HAProxy takes a config rendered from the current secrets. */
  reloadHaproxy(): Promise<void>;
  log(message: string): void;
}

/**
 * `ha-stack rotate`: every secret of the stack replaced on the running stack without downtime.
 * Each follows the same order: the new secret is accepted beside the old one, then whoever uses it
 * switches (the apps restarted one at a time, HAProxy reloaded, the Redis nodes or Sentinels told),
 * then the old one is refused. The secret's file in the run directory changes first, so a process
 * started during the rotation (by the healer, or the next `up`) gets the new one.
 */
export class Rotator {
  private rotating = false;
  private readonly topology: Topology;
  private readonly run: RunDir;
  private readonly secrets: LiveSecrets;
  private readonly creds: RotatorDeps['creds'];

  constructor(private readonly deps: RotatorDeps) {
    this.topology = deps.topology;
    this.run = deps.run;
    this.secrets = deps.secrets;
    this.creds = deps.creds;
  }

  async rotate(secret: string): Promise<RotateResult> {
    if (!isRotatableSecret(secret))
      throw new Error(`cannot rotate "${secret}" (one of: ${ROTATABLE_SECRETS.join(', ')})`);
    if (this.rotating) throw new Error('a rotation is already under way');
    if (this.deps.stopping()) throw new StackStoppingError('the rotation');
    const started = Date.now();
    this.rotating = true;
    try {
      const done = await this.rotateOne(secret);
      return { secret, ...done, ms: Date.now() - started };
    } finally {
      this.rotating = false;
    }
  }

  private rotateOne(secret: RotatableSecret): Promise<Done> {
    switch (secret) {
      case 'session-secret':
        return this.rotateSessionSecret();
      case 'operator-password':
        return this.rotateOperatorPassword();
      case 'sentinel-password':
        return this.rotateSentinelPassword();
      case 'redis-app-password':
        return this.rotateRedisUser('app', () => this.deps.rollApps());
      case 'redis-haproxy-password':
        return this.rotateRedisUser('haproxy', async () => {
          if (this.deps.withHaproxy) await this.deps.reloadHaproxy();
          return [];
        });
      case 'redis-operator-password':
        // The CLI reads the file at every command; this process switched with `secrets`.
        return this.rotateRedisUser('operator', async () => []);
      case 'redis-replication-password':
        // Replicas send it when they (re)connect to a master; a link already up stays up.
        return this.rotateRedisUser('replication', async (next) => {
          for (const n of this.runningRedis())
            await this.onNode(n, this.creds.login, (r) => r.call('CONFIG', 'SET', 'masterauth', next));
          return [];
        });
      case 'redis-sentinel-password':
        // Each Sentinel saves the new auth-pass in its config at once.
        this.allSentinelsRunning(secret);
        return this.rotateRedisUser('sentinel', async (next) => {
          for (const s of this.topology.sentinels)
            await this.onNode(s, { password: this.creds.sentinelPassword }, (r) =>
              r.call('SENTINEL', 'SET', this.topology.masterName, 'auth-pass', next),
            );
          return [];
        });
    }
  }

  /**
   * Two rolling phases: every instance first accepts the new secret (`SESSION_SECRET_PREVIOUS`)
   * while still signing with the old one; then every instance signs with the new one and accepts
   * the old. Between the phases the run directory gets the new pair.
   */
  private async rotateSessionSecret(): Promise<Done> {
    if (this.secrets.sessionSecretGiven)
      throw new Error(
        'SESSION_SECRET is given in the environment: rotate it there, not in the run directory',
      );
    const old = this.secrets.sessionSecret;
    const next = newSecret(48);
    this.event('rotate session-secret: phase 1, every instance accepts the new secret');
    this.secrets.sessionSecretPrevious = next;
    const restarted = await this.deps.rollApps();
    this.run.writeSecret(SESSION_SECRET_PREVIOUS_FILE, old);
    this.run.writeSecret(SESSION_SECRET_FILE, next);
    this.secrets.sessionSecret = next;
    this.secrets.sessionSecretPrevious = old;
    this.event('rotate session-secret: phase 2, every instance signs with the new secret');
    restarted.push(...(await this.deps.rollApps()));
    return { restarted, nodes: [] };
  }

  /**
   * The operator front's password: the apps take the new one and still accept the old (they read
   * HAProxy's stats with the new, falling back to the old on a 401); HAProxy reloads with the new
   * one; the apps restart once more without the old.
   */
  private async rotateOperatorPassword(): Promise<Done> {
    if (!this.deps.withHaproxy)
      throw new Error('this stack runs without HAProxy: there is no operator front');
    const old = this.secrets.operatorPassword;
    this.secrets.operatorPasswordNext = newSecret(32);
    this.event('rotate operator-password: phase 1, the apps accept both');
    let restarted: string[];
    try {
      restarted = await this.deps.rollApps();
      this.run.writeSecret(OPERATOR_PASSWORD_FILE, this.secrets.operatorPasswordNext);
      this.secrets.operatorPassword = this.secrets.operatorPasswordNext;
      this.secrets.operatorPasswordNext = undefined;
      await this.deps.reloadHaproxy();
    } catch (err) {
      // HAProxy kept the old config: so does everything else.
      this.run.writeSecret(OPERATOR_PASSWORD_FILE, old);
      this.secrets.operatorPassword = old;
      this.secrets.operatorPasswordNext = undefined;
      throw err;
    }
    this.event('rotate operator-password: phase 2, HAProxy reloaded, the old password is dropped');
    restarted.push(...(await this.deps.rollApps()));
    return { restarted, nodes: ['haproxy'] };
  }

  /**
   * The Sentinels' own password (`requirepass`, and `sentinel-pass` between them): each running
   * Sentinel accepts both and authenticates to the others with the new one; the apps restart with
   * it; each refuses the old and saves its config (a `user default` line with the new password's
   * hash, which overrides the `requirepass` line Sentinel keeps writing until its next `up`).
   */
  private async rotateSentinelPassword(): Promise<Done> {
    this.allSentinelsRunning('sentinel-password');
    const sentinels = this.topology.sentinels;
    const old = this.secrets.passwords.sentinel;
    const next = newSecret(32);
    for (const s of sentinels)
      await this.onNode(s, { password: old }, (r) => r.call('ACL', 'SETUSER', 'default', `>${next}`));
    this.run.writeSecret(SECRET_FILES.sentinel, next);
    this.secrets.passwords.sentinel = next;
    for (const s of sentinels)
      await this.onNode(s, { password: next }, (r) =>
        r.call('SENTINEL', 'CONFIG', 'SET', 'sentinel-pass', next),
      );
    this.event(`rotate sentinel-password: ${sentinels.map((s) => s.name).join(', ')} take both`);
    const restarted = await this.deps.rollApps();
    for (const s of sentinels)
      await this.onNode(s, { password: next }, async (r) => {
        await r.call('ACL', 'SETUSER', 'default', `<${old}`);
        await r.call('SENTINEL', 'FLUSHCONFIG');
      });
    this.event('rotate sentinel-password: the old password is refused');
    return { restarted, nodes: sentinels.map((s) => s.name) };
  }

  /**
   * A new password for one ACL user: the secret file first (a Redis node started from now on
   * renders its users with it), `ACL SETUSER <user> >NEW` on every running node (a user may hold
   * two passwords), then `apply` switches whoever logs in as it, then `ACL SETUSER <user> <OLD`.
   * No `CONFIG REWRITE`: each node's redis.conf is rendered from the secret files at every start.
   */
  private async rotateRedisUser(
    user: RedisUser,
    apply: (next: string, old: string) => Promise<string[]>,
  ): Promise<Done> {
    const secret = `redis-${user}-password`;
    const old = this.secrets.passwords.redis[user];
    const next = newSecret(32);
    // The operator's login as it is now: when it is the one rotated, it changes below.
    const login = { ...this.creds.login };
    const nodes = this.runningRedis();
    this.run.writeSecret(SECRET_FILES.redis[user], next);
    this.secrets.passwords.redis[user] = next;
    try {
      for (const n of nodes) await this.onNode(n, login, (r) => r.call('ACL', 'SETUSER', user, `>${next}`));
    } catch (err) {
      // Nothing uses the new password yet: back to the old one.
      this.run.writeSecret(SECRET_FILES.redis[user], old);
      this.secrets.passwords.redis[user] = old;
      for (const n of this.runningRedis())
        await this.onNode(n, login, (r) => r.call('ACL', 'SETUSER', user, `<${next}`, `>${old}`)).catch(
          () => undefined,
        );
      throw err;
    }
    this.event(`rotate ${secret}: ${nodes.map((n) => n.name).join(', ')} take both`);
    const restarted = await apply(next, old);
    const now = this.runningRedis();
    for (const n of now)
      await this.onNode(n, this.creds.login, (r) => r.call('ACL', 'SETUSER', user, `<${old}`));
    this.event(`rotate ${secret}: the old password is refused`);
    return { restarted, nodes: now.map((n) => n.name) };
  }

  // --- helpers -----------------------------------------------------------------------------------

  private isRunning(name: string): boolean {
    return this.deps.running(name);
  }

  /**
   * A Sentinel's config is its own (it rewrites it with what it learns): only a running one can be
   * told a new password, so a rotation that touches the Sentinels needs all of them up.
   */
  private allSentinelsRunning(secret: string): void {
    const stopped = this.topology.sentinels.filter((s) => !this.isRunning(s.name)).map((s) => s.name);
    if (stopped.length)
      throw new Error(
        `rotate ${secret}: ${stopped.join(', ')} not running; start it first (ha-stack start NAME)`,
      );
  }

  private runningRedis(): RedisNode[] {
    return this.topology.redis.filter((n) => this.isRunning(n.name));
  }

  private event(message: string): void {
    this.deps.log(message);
  }

  /** A command on one Redis node or Sentinel; a failure names it. */
  private async onNode<T>(
    n: { name: string; host: string; port: number },
    login: RedisLogin,
    fn: Parameters<typeof withRedis<T>>[3],
  ): Promise<T> {
    try {
      return await withRedis(n.host, n.port, login, fn, 3000);
    } catch (err) {
      throw new Error(`${n.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
