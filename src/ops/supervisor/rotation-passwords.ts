import { join } from 'node:path';
import type { RedisLogin } from '../../ha/probes.ts';
import type { RedisUser } from '../render/acl.ts';
import type { RedisNode } from '../topology.ts';
import { assertConfForgets, assertFrontRefuses, assertOnlyCurrent, keepOnly, onNode } from './revoke.ts';
import { newSecret, type RotatableSecret } from './rotate.ts';
import type { RotatorDeps } from './rotation.ts';
import type { PendingRevocations } from './rotation-pending.ts';
import { SECRET_FILES } from './rundir.ts';

/** What one rotation did: apps restarted, processes told, where the old passwords were tried. */
export interface Done {
  restarted: string[];
  nodes: string[];
  /** Where every old password was tried and refused (empty for the session secret). */
  refusedOn: string[];
  /** Passwords an earlier, unfinished rotation had left accepted, refused now too. */
  earlier: number;
}

/** What the rotation steps share with the Rotator. */
export interface RotationKit {
  readonly deps: RotatorDeps;
  readonly pending: PendingRevocations;
  runningRedis(): RedisNode[];
  event(message: string): void;
}

/**
 * A rotation that stopped after the new secret was in use: the old one stays accepted, so it is
 * recorded (rotation-pending.json) for the next run to refuse, and the operator is told so.
 */
export function incomplete(
  k: RotationKit,
  secret: RotatableSecret,
  old: string,
  err: unknown,
  state: string,
): Error {
  k.pending.add(secret, old, state);
  const message =
    `rotate ${secret} did not finish: ${errorText(err)}. ${state}. Recorded in ${k.pending.file}: ` +
    `the next "ha-stack rotate ${secret}" refuses it (so does any rotation run once every client ` +
    'uses the current secret, and the next "ha-stack up")';
  k.event(message);
  return new Error(message);
}

/** Every password of `user` but `current` dropped on each running node, then tried there. */
export async function finishRedisUser(
  k: RotationKit,
  user: RedisUser,
  current: string,
  olds: readonly string[],
): Promise<string[]> {
  const login = k.deps.creds.login;
  const done: string[] = [];
  for (const n of k.runningRedis()) {
    try {
      await keepOnly(n, login, user, current);
      await assertOnlyCurrent(n, login, user, olds, current);
      done.push(n.name);
    } catch (err) {
      // A node that stopped meanwhile starts again from a config rendered with `current` only.
      if (k.deps.running(n.name)) throw err;
    }
  }
  return done;
}

/** The Sentinels' `default` user keeps `current` only, each saves its config, and holds no old one. */
export async function finishSentinels(
  k: RotationKit,
  current: string,
  olds: readonly string[],
): Promise<string[]> {
  const login: RedisLogin = { password: current };
  for (const s of k.deps.topology.sentinels) {
    await keepOnly(s, login, 'default', current);
    await onNode(s, login, async (r) => {
      await r.call('SENTINEL', 'CONFIG', 'SET', 'sentinel-pass', current);
      await r.call('SENTINEL', 'FLUSHCONFIG');
    });
    await assertOnlyCurrent(s, login, undefined, olds, current);
    assertConfForgets(join(k.deps.run.nodeDir(s.name), 'sentinel.conf'), s.name, olds);
  }
  return k.deps.topology.sentinels.map((s) => s.name);
}

/** The operator front's old passwords, tried on HAProxy's stats and on every app. */
export async function finishOperatorFront(
  k: RotationKit,
  current: string,
  olds: readonly string[],
): Promise<string[]> {
  const { front } = k.deps;
  await assertFrontRefuses(front.statsUrl, front.appUrls, olds, current);
  return ['haproxy', ...k.deps.apps.filter((a) => k.deps.running(a))];
}

/**
 * A new password for one ACL user: the secret file first (a Redis node started from now on
 * renders its users with it), `ACL SETUSER <user> >NEW` on every running node (a user may hold
 * two passwords), then `apply` switches whoever logs in as it, then `ACL SETUSER <user> resetpass
 * >NEW` leaves the new one alone, also dropping any an unfinished rotation left, and every old one
 * is tried. No `CONFIG REWRITE`: each node's redis.conf is rendered from the secret files at every
 * start.
 */
export async function rotateRedisUser(
  k: RotationKit,
  user: RedisUser,
  apply: (next: string, old: string) => Promise<string[]>,
): Promise<Done> {
  const secret = `redis-${user}-password` as RotatableSecret;
  const { run, secrets } = k.deps;
  const old = secrets.passwords.redis[user];
  const earlier = k.pending.get(secret)?.olds ?? [];
  const next = newSecret(32);
  // The operator's login as it is now: when it is the one rotated, it changes below.
  const login = { ...k.deps.creds.login };
  const nodes = k.runningRedis();
  run.writeSecret(SECRET_FILES.redis[user], next);
  secrets.passwords.redis[user] = next;
  try {
    for (const n of nodes) await onNode(n, login, (r) => r.call('ACL', 'SETUSER', user, `>${next}`));
  } catch (err) {
    // Nothing uses the new password yet: back to the old one.
    run.writeSecret(SECRET_FILES.redis[user], old);
    secrets.passwords.redis[user] = old;
    for (const n of k.runningRedis())
      await onNode(n, login, (r) => r.call('ACL', 'SETUSER', user, `<${next}`, `>${old}`)).catch(
        () => undefined,
      );
    throw new Error(`rotate ${secret}: ${errorText(err)}; rolled back, the old password is still the one`);
  }
  k.event(`rotate ${secret}: ${nodes.map((n) => n.name).join(', ')} take both`);
  const left = `The new password is in use (its file holds it); user ${user} still accepts the old one beside it on the running Redis nodes`;
  let restarted: string[];
  let refusedOn: string[];
  try {
    restarted = await apply(next, old);
    refusedOn = await finishRedisUser(k, user, next, [...earlier, old]);
  } catch (err) {
    throw incomplete(k, secret, old, err, left);
  }
  k.pending.clear(secret);
  k.event(`rotate ${secret}: the old password is refused on ${refusedOn.join(', ')} (tried)`);
  return { restarted, nodes: refusedOn, refusedOn, earlier: earlier.length };
}

/**
 * The Sentinels' own password (`requirepass`, and `sentinel-pass` between them): each Sentinel
 * accepts both and authenticates to the others with the new one; the apps restart with it; each
 * keeps only the new one (`ACL SETUSER default resetpass >NEW`) and saves its config, which then
 * holds neither the old password nor its hash (render/sentinel.ts `hashed`).
 */
export async function rotateSentinelPassword(
  k: RotationKit,
  rollApps: () => Promise<string[]>,
): Promise<Done> {
  const secret = 'sentinel-password';
  const { run, secrets, topology } = k.deps;
  const sentinels = topology.sentinels;
  const old = secrets.passwords.sentinel;
  const earlier = k.pending.get(secret)?.olds ?? [];
  const next = newSecret(32);
  try {
    for (const s of sentinels)
      await onNode(s, { password: old }, (r) => r.call('ACL', 'SETUSER', 'default', `>${next}`));
  } catch (err) {
    for (const s of sentinels)
      await onNode(s, { password: old }, (r) => r.call('ACL', 'SETUSER', 'default', `<${next}`)).catch(
        () => undefined,
      );
    throw new Error(`rotate ${secret}: ${errorText(err)}; rolled back, the old password is still the one`);
  }
  run.writeSecret(SECRET_FILES.sentinel, next);
  secrets.passwords.sentinel = next;
  const left =
    'The new password is in use (its file holds it); every Sentinel still accepts the old one beside it';
  let restarted: string[];
  let refusedOn: string[];
  try {
    for (const s of sentinels)
      await onNode(s, { password: next }, (r) => r.call('SENTINEL', 'CONFIG', 'SET', 'sentinel-pass', next));
    k.event(`rotate ${secret}: ${sentinels.map((s) => s.name).join(', ')} take both`);
    restarted = await rollApps();
    refusedOn = await finishSentinels(k, next, [...earlier, old]);
  } catch (err) {
    throw incomplete(k, secret, old, err, left);
  }
  k.pending.clear(secret);
  k.event(`rotate ${secret}: the old password is refused on ${refusedOn.join(', ')} (tried)`);
  return { restarted, nodes: refusedOn, refusedOn, earlier: earlier.length };
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The rotations that restart every app instance, one at a time. */
const ROLLS_APPS: readonly RotatableSecret[] = [
  'session-secret',
  'operator-password',
  'sentinel-password',
  'redis-app-password',
];

/**
 * The apps restart one at a time so that another one serves meanwhile: with one stopped, that
 * would take the site down; only a running Sentinel can be told a new password (it rewrites its
 * own config). Either refuses the rotation before it changes anything.
 */
export function assertCanRotate(deps: RotatorDeps, secret: RotatableSecret): void {
  const stopped = (names: readonly string[]) => names.filter((n) => !deps.running(n));
  const apps = ROLLS_APPS.includes(secret) ? stopped(deps.apps) : [];
  if (apps.length)
    throw new Error(
      `rotate ${secret}: ${apps.join(', ')} not running, and the apps restart one at a time so that another serves meanwhile; start it first (ha-stack start NAME). Nothing changed`,
    );
  const sentinels =
    secret === 'sentinel-password' || secret === 'redis-sentinel-password'
      ? stopped(deps.topology.sentinels.map((s) => s.name))
      : [];
  if (sentinels.length)
    throw new Error(
      `rotate ${secret}: ${sentinels.join(', ')} not running; start it first (ha-stack start NAME). Nothing changed`,
    );
}
