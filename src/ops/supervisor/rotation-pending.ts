import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { isRotatableSecret, type RotatableSecret } from './rotate.ts';
import type { RunDir } from './rundir.ts';

/** The file of the passwords an unfinished rotation left accepted (0600, in the run directory). */
export const PENDING_FILE = 'rotation-pending.json';

/** What an unfinished rotation of one secret left behind. */
export interface PendingRevocation {
  /** Passwords still accepted beside the current one, oldest first. */
  olds: string[];
  /** When the first of them was left (ISO time). */
  since: string;
  /** Where they are still accepted and why, for the operator. */
  left: string;
}

type PendingMap = Partial<Record<RotatableSecret, PendingRevocation>>;

/**
 * The revocations a rotation could not finish (a restart that did not come up, a node that did not
 * answer), kept durably: the next rotation of the same secret, or the next one that finds every
 * client switched, refuses them and clears the entry. The file holds old passwords, so it is 0600
 * like the current ones beside it, and it goes as soon as nothing is left to revoke.
 */
export class PendingRevocations {
  constructor(private readonly run: RunDir) {}

  get file(): string {
    return join(this.run.dir, PENDING_FILE);
  }

  all(): PendingMap {
    if (!existsSync(this.file)) return {};
    try {
      const parsed = JSON.parse(readFileSync(this.file, 'utf8')) as unknown;
      if (!parsed || typeof parsed !== 'object') return {};
      const out: PendingMap = {};
      for (const [secret, p] of Object.entries(parsed as Record<string, unknown>))
        if (isRotatableSecret(secret) && isPending(p)) out[secret] = p;
      return out;
    } catch {
      return {};
    }
  }

  get(secret: RotatableSecret): PendingRevocation | undefined {
    return this.all()[secret];
  }

  /** Records `old` as still accepted (beside any left before). */
  add(secret: RotatableSecret, old: string, left: string): void {
    const all = this.all();
    const before = all[secret];
    const olds = [...(before?.olds ?? []).filter((o) => o !== old), old];
    all[secret] = { olds, since: before?.since ?? new Date().toISOString(), left };
    this.save(all);
  }

  clear(secret: RotatableSecret): void {
    const all = this.all();
    if (!all[secret]) return;
    delete all[secret];
    this.save(all);
  }

  /** Forgets every entry (the whole stack started from the current secrets); the secrets it held. */
  clearAll(): RotatableSecret[] {
    const secrets = Object.keys(this.all()) as RotatableSecret[];
    rmSync(this.file, { force: true });
    return secrets;
  }

  private save(all: PendingMap): void {
    if (Object.keys(all).length === 0) rmSync(this.file, { force: true });
    else this.run.writeSecret(PENDING_FILE, JSON.stringify(all, null, 2));
  }
}

function isPending(p: unknown): p is PendingRevocation {
  if (!p || typeof p !== 'object') return false;
  const r = p as Record<string, unknown>;
  return (
    Array.isArray(r['olds']) &&
    r['olds'].every((o) => typeof o === 'string') &&
    typeof r['since'] === 'string' &&
    typeof r['left'] === 'string'
  );
}
