import type { RedisLogin } from '../../ha/probes.ts';
import type { Certificates } from '../tls/certs.ts';
import type { Topology } from '../topology.ts';
import { type LiveSecrets, OPERATOR_PASSWORD_FILE } from './live-secrets.ts';
import { StackStoppingError } from './process-set.ts';
import { onNode } from './revoke.ts';
import {
  CERTIFICATES,
  isRotatable,
  newSecret,
  ROTATABLE,
  type RotatableSecret,
  type RotateResult,
  SESSION_SECRET_FILE,
  SESSION_SECRET_PREVIOUS_FILE,
} from './rotate.ts';
import { rotateCertificates } from './rotate-certs.ts';
import {
  assertCanRotate,
  type Done,
  errorText,
  finishOperatorFront,
  finishRedisUser,
  finishSentinels,
  incomplete,
  type RotationKit,
  rotateRedisUser,
  rotateSentinelPassword,
} from './rotation-passwords.ts';
import { PendingRevocations } from './rotation-pending.ts';
import type { RunDir } from './rundir.ts';

/** What a rotation needs of the rest of the stack. */
export interface RotatorDeps {
  readonly topology: Topology;
  readonly run: RunDir;
  readonly secrets: LiveSecrets;
  /** The operator's login and the Sentinels' password, as they are now. */
  readonly creds: { readonly login: RedisLogin; readonly sentinelPassword: string };
  /** HAProxy's stats page and the apps' own addresses (the operator front's password is tried there). */
  readonly front: { readonly statsUrl: string; readonly appUrls: readonly string[] };
  /** The app instances the stack runs. */
  readonly apps: readonly string[];
  readonly withHaproxy: boolean;
  running(name: string): boolean;
  /** The environment a process was last started with. */
  startedWith(name: string): Record<string, string | undefined> | undefined;
  /** The whole stack is stopping. */
  stopping(): boolean;
  /** Restarts the app instances one at a time, each drained first; their names in order (roll.ts). */
  rollApps(): Promise<string[]>;
  /** HAProxy takes a config rendered from the current secrets. */
  reloadHaproxy(): Promise<void>;
  /** For the certificates (rotate-certs.ts): the stack's (none without TLS), given by the operator or not. */
  readonly certs: Certificates | undefined;
  readonly certsGiven: boolean;
  readonly timeoutMs: number;
  /** The operator's stop and start of one process (the healer does not race it). */
  restart(name: string): Promise<void>;
  log(message: string): void;
}

/**
 * `ha-stack rotate`: every secret of the stack replaced on the running stack without downtime.
 * Each follows the same order: the new secret is accepted beside the old one, then whoever uses it
 * switches (the apps restarted one at a time, HAProxy reloaded, the Redis nodes or Sentinels told),
 * then every other one is refused and tried. The secret's file in the run directory changes first,
 * so a process started during the rotation (by the healer, or the next `up`) gets the new one. A
 * rotation that stops once the new secret is in use records the old one (rotation-pending.ts).
 */
export class Rotator {
  private rotating = false;
  private readonly kit: RotationKit;

  constructor(private readonly deps: RotatorDeps) {
    const pending = new PendingRevocations(deps.run);
    this.kit = {
      deps,
      pending,
      runningRedis: () => deps.topology.redis.filter((n) => deps.running(n.name)),
      event: (m) => deps.log(m),
    };
  }

  async rotate(secret: string): Promise<RotateResult> {
    if (!isRotatable(secret)) throw new Error(`cannot rotate "${secret}" (one of: ${ROTATABLE.join(', ')})`);
    if (this.rotating) throw new Error('a rotation is already under way');
    if (this.deps.stopping()) throw new StackStoppingError('the rotation');
    if (secret !== CERTIFICATES) assertCanRotate(this.deps, secret);
    const started = Date.now();
    this.rotating = true;
    try {
      if (secret === CERTIFICATES) return await rotateCertificates(this.deps);
      await this.settle();
      const done = await this.rotateOne(secret);
      return { secret, ...done, ms: Date.now() - started };
    } finally {
      this.rotating = false;
    }
  }

  /**
   * Every process of the stack has just started from the current secrets (redis.conf, sentinel.conf
   * and HAProxy's config rendered, the apps given them): nothing an unfinished rotation left is
   * accepted any more.
   */
  booted(): void {
    const cleared = this.kit.pending.clearAll();
    if (cleared.length)
      this.kit.event(
        `the old passwords an unfinished rotation left (${cleared.join(', ')}) are no longer accepted: every process started from the current ones`,
      );
  }

  /**
   * What an earlier, unfinished rotation left accepted is refused as soon as every client uses
   * the current secret (an app started since, a roll of another rotation). Best effort: what
   * cannot be finished yet stays recorded for the rotation of that secret.
   */
  private async settle(): Promise<void> {
    const { deps, kit } = this;
    const live = deps.secrets;
    for (const [secret, p] of Object.entries(kit.pending.all())) {
      const appsOn = (name: string, value: string | undefined) =>
        deps.apps.filter((a) => deps.running(a)).every((a) => deps.startedWith(a)?.[name] === value);
      let finish: (() => Promise<string[]>) | undefined;
      if (secret === 'redis-app-password' && appsOn('REDIS_PASSWORD', live.passwords.redis.app))
        finish = () => finishRedisUser(kit, 'app', live.passwords.redis.app, p.olds);
      if (
        secret === 'sentinel-password' &&
        deps.topology.sentinels.every((s) => deps.running(s.name)) &&
        appsOn('REDIS_SENTINEL_PASSWORD', live.passwords.sentinel)
      )
        finish = () => finishSentinels(kit, live.passwords.sentinel, p.olds);
      if (
        secret === 'operator-password' &&
        appsOn('HAPROXY_OPERATOR_PASSWORD', live.operatorPassword) &&
        appsOn('HAPROXY_OPERATOR_PASSWORD_PREVIOUS', undefined)
      )
        finish = () => finishOperatorFront(kit, live.operatorPassword, p.olds);
      if (!finish) continue;
      try {
        const on = await finish();
        kit.pending.clear(secret as RotatableSecret);
        kit.event(`rotate ${secret}: what the unfinished rotation left is refused now on ${on.join(', ')}`);
      } catch (err) {
        kit.event(`rotate ${secret}: what the unfinished rotation left is still accepted: ${errorText(err)}`);
      }
    }
  }

  private rotateOne(secret: RotatableSecret): Promise<Done> {
    const k = this.kit;
    switch (secret) {
      case 'session-secret':
        return this.rotateSessionSecret();
      case 'operator-password':
        return this.rotateOperatorPassword();
      case 'sentinel-password':
        return rotateSentinelPassword(k, () => this.deps.rollApps());
      case 'redis-app-password':
        return rotateRedisUser(k, 'app', () => this.deps.rollApps());
      case 'redis-haproxy-password':
        return rotateRedisUser(k, 'haproxy', async () => {
          if (this.deps.withHaproxy) await this.deps.reloadHaproxy();
          return [];
        });
      case 'redis-operator-password':
        // The CLI reads the file at every command; this process switched with `secrets`.
        return rotateRedisUser(k, 'operator', async () => []);
      case 'redis-replication-password':
        // Replicas send it when they (re)connect to a master; a link already up stays up.
        return rotateRedisUser(k, 'replication', async (next) => {
          for (const n of k.runningRedis())
            await onNode(n, this.deps.creds.login, (r) => r.call('CONFIG', 'SET', 'masterauth', next));
          return [];
        });
      case 'redis-sentinel-password':
        // Each Sentinel saves the new auth-pass in its config at once.
        return rotateRedisUser(k, 'sentinel', async (next) => {
          for (const s of this.deps.topology.sentinels)
            await onNode(s, { password: this.deps.creds.sentinelPassword }, (r) =>
              r.call('SENTINEL', 'SET', this.deps.topology.masterName, 'auth-pass', next),
            );
          return [];
        });
    }
  }

  /**
   * Two rolling phases: every instance first accepts the new secret (`SESSION_SECRET_PREVIOUS`)
   * while still signing with the old one; then every instance signs with the new one and accepts
   * the old. Between the phases the run directory gets the new pair. The previous secret stays
   * accepted on purpose (what it signed stays valid), so nothing is refused here.
   */
  private async rotateSessionSecret(): Promise<Done> {
    const live = this.deps.secrets;
    if (live.sessionSecretGiven)
      throw new Error(
        'SESSION_SECRET is given in the environment: rotate it there, not in the run directory',
      );
    const old = live.sessionSecret;
    const previous = live.sessionSecretPrevious;
    const next = newSecret(48);
    this.kit.event('rotate session-secret: phase 1, every instance accepts the new secret');
    live.sessionSecretPrevious = next;
    let restarted: string[];
    try {
      restarted = await this.deps.rollApps();
    } catch (err) {
      // Nothing signs with the new secret yet: the next start of an instance forgets it.
      live.sessionSecretPrevious = previous;
      throw new Error(
        `rotate session-secret: ${errorText(err)}; rolled back (an instance restarted meanwhile also accepts an unused secret until its next start)`,
      );
    }
    this.deps.run.writeSecret(SESSION_SECRET_PREVIOUS_FILE, old);
    this.deps.run.writeSecret(SESSION_SECRET_FILE, next);
    live.sessionSecret = next;
    live.sessionSecretPrevious = old;
    this.kit.event('rotate session-secret: phase 2, every instance signs with the new secret');
    try {
      restarted.push(...(await this.deps.rollApps()));
    } catch (err) {
      throw new Error(
        `rotate session-secret did not finish: ${errorText(err)}. The run directory holds the new pair; an instance not restarted still signs with the old secret, which every instance accepts: run it again to finish`,
      );
    }
    return { restarted, nodes: [], refusedOn: [], earlier: 0 };
  }

  /**
   * The operator front's password: the apps take the new one and still accept the old (they read
   * HAProxy's stats with the new, falling back to the old on a 401); HAProxy reloads with the new
   * one; the apps restart once more without the old, which is then tried on HAProxy and every app.
   */
  private async rotateOperatorPassword(): Promise<Done> {
    const { deps, kit } = this;
    const live = deps.secrets;
    if (!deps.withHaproxy) throw new Error('this stack runs without HAProxy: there is no operator front');
    const old = live.operatorPassword;
    const earlier = kit.pending.get('operator-password')?.olds ?? [];
    const next = newSecret(32);
    live.operatorPasswordNext = next;
    kit.event('rotate operator-password: phase 1, the apps accept both');
    let restarted: string[];
    try {
      restarted = await deps.rollApps();
      deps.run.writeSecret(OPERATOR_PASSWORD_FILE, next);
      live.operatorPassword = next;
      live.operatorPasswordNext = undefined;
      await deps.reloadHaproxy();
    } catch (err) {
      // HAProxy kept the old config: so does everything else; an instance restarted meanwhile
      // accepts the unused new password until its next start.
      deps.run.writeSecret(OPERATOR_PASSWORD_FILE, old);
      live.operatorPassword = old;
      live.operatorPasswordNext = undefined;
      const state =
        'Rolled back to the old password (its file holds it again); an instance restarted meanwhile also accepts the unused new one until its next start';
      throw incomplete(kit, 'operator-password', next, err, state);
    }
    kit.event('rotate operator-password: phase 2, HAProxy reloaded, the old password is dropped');
    let refusedOn: string[];
    try {
      restarted.push(...(await deps.rollApps()));
      refusedOn = await finishOperatorFront(kit, next, [...earlier, old]);
    } catch (err) {
      const state =
        'HAProxy and its file have the new password; an app not restarted since still accepts the old one';
      throw incomplete(kit, 'operator-password', old, err, state);
    }
    kit.pending.clear('operator-password');
    return { restarted, nodes: ['haproxy'], refusedOn, earlier: earlier.length };
  }
}
