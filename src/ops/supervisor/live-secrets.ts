import type { StackSecrets } from '../render/acl.ts';
import { SESSION_SECRET_FILE, SESSION_SECRET_PREVIOUS_FILE } from './rotate.ts';
import type { RunDir } from './rundir.ts';

/** The operator front's password, in the run directory (0600); `ha-stack up` prints this path. */
export const OPERATOR_PASSWORD_FILE = 'operator.password';

/**
 * Every secret the stack's processes are started with, as it is now: each start reads it here; a
 * rotation (rotation.ts) changes it here and in its file of the run directory, so a process started
 * during the rotation, by the healer or the next `up`, gets the new one.
 */
export class LiveSecrets {
  /** The ACL users' and the Sentinels' passwords (render/acl.ts, RunDir.secrets). */
  readonly passwords: StackSecrets;
  /** What the apps sign cookies and CSRF tokens with (`SESSION_SECRET`); `ha-stack rotate` replaces it. */
  sessionSecret: string;
  /** Accepted beside it (`SESSION_SECRET_PREVIOUS`): the secret before the last rotation, or the next one. */
  sessionSecretPrevious: string | undefined;
  /** The password of user `operator` on HAProxy's operator front (`<runDir>/operator.password`). */
  operatorPassword: string;
  /**
   * While it is rotated, the new one: the apps take it as theirs and keep the current one as
   * `HAPROXY_OPERATOR_PASSWORD_PREVIOUS` until HAProxy has the new one too.
   */
  operatorPasswordNext: string | undefined;
  /** `SESSION_SECRET` comes from the environment the stack was given, not from the run directory. */
  readonly sessionSecretGiven: boolean;

  constructor(run: RunDir, appEnv: Record<string, string> | undefined) {
    this.passwords = run.secrets();
    const given = appEnv?.['SESSION_SECRET'];
    this.sessionSecretGiven = Boolean(given);
    // One secret shared by every instance: a session made by app-1 must be valid on app-2.
    this.sessionSecret = given ?? run.secret(SESSION_SECRET_FILE, 48);
    this.sessionSecretPrevious = given
      ? appEnv?.['SESSION_SECRET_PREVIOUS']
      : run.readSecret(SESSION_SECRET_PREVIOUS_FILE);
    this.operatorPassword = run.secret(OPERATOR_PASSWORD_FILE);
  }
}
