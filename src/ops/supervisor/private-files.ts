import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  type Stats,
  statSync,
  writeSync,
} from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The run directory is its owner's alone: every file the stack reads there (passwords, pid records,
 * stack.json, configs) is trusted only when nobody else could have put it there. These checks and
 * the opening of files without following links live here.
 */

const { O_APPEND, O_CREAT, O_EXCL, O_NOFOLLOW, O_RDONLY, O_TRUNC, O_WRONLY } = constants;

/** The run directory, or something in it, is not the running user's alone: nothing is used from it. */
export class UnsafeRunDirError extends Error {
  constructor(
    readonly dir: string,
    readonly path: string,
    readonly reason: string,
  ) {
    super(
      `refusing the run directory ${dir}: ${path} ${reason}. The run directory and everything in it must ` +
        'belong to the user running ha-stack, be no link, and be writable by that user alone; remove it ' +
        'or choose another directory (HA_STACK_RUN_DIR)',
    );
    this.name = 'UnsafeRunDirError';
  }
}

const CHECKOUT = fileURLToPath(new URL('../../../', import.meta.url));

function uid(): number {
  return process.getuid?.() ?? 0;
}

/**
 * Who may own a folder above the run directory: root, the running user, and the owner of the
 * checkout (who controls the code that runs anyway).
 */
function trustedOwners(): Set<number> {
  const owners = new Set([0, uid()]);
  try {
    owners.add(statSync(CHECKOUT).uid);
  } catch {
    // Not a checkout (a production install): root and the running user only.
  }
  return owners;
}

const octal = (mode: number) => `0${(mode & 0o7777).toString(8)}`;

/** Why this entry of the run directory cannot be trusted, or undefined. */
export function entryProblem(st: Stats): string | undefined {
  if (st.isSymbolicLink()) return 'is a symbolic link';
  if (st.uid !== uid()) return `belongs to uid ${st.uid}, not to uid ${uid()} that runs ha-stack`;
  if (st.mode & 0o022) return `is writable by its group or by others (mode ${octal(st.mode)})`;
  return undefined;
}

/**
 * The folders above the run directory: none may let another user replace the run directory
 * (a link owned by another user, a folder another user owns, or one anybody may write to
 * without the sticky bit that /tmp has).
 */
function checkAncestors(dir: string): void {
  const owners = trustedOwners();
  const bad = (path: string, reason: string) => new UnsafeRunDirError(dir, path, reason);
  // The path as written: a link on the way must be a trusted owner's.
  for (let p = dirname(dir); ; p = dirname(p)) {
    const st = lstatSync(p);
    if (st.isSymbolicLink() && !owners.has(st.uid)) throw bad(p, `is a link owned by uid ${st.uid}`);
    if (p === dirname(p)) break;
  }
  // The folders it leads to.
  for (let p = realpathSync(dirname(dir)); ; p = dirname(p)) {
    const st = statSync(p);
    if (!owners.has(st.uid)) throw bad(p, `(a folder above it) belongs to uid ${st.uid}`);
    if (st.mode & 0o022 && !(st.mode & 0o1000))
      throw bad(
        p,
        `(a folder above it) is writable by others without the sticky bit (mode ${octal(st.mode)})`,
      );
    if (p === dirname(p)) break;
  }
}

/**
 * Refuses the run directory unless it and everything in it (recursively: secrets, logs, pid
 * records, configs, data, sockets, stack.json) belongs to the running user, is no link and is
 * writable by that user alone, and no folder above it lets another user swap it. What the stack's
 * own processes write there (Redis's data, Sentinel's rewritten config) passes: they run as the
 * same user with umask 077.
 */
export function checkRunDir(dir: string): void {
  checkAncestors(dir);
  const walk = (path: string) => {
    let st: Stats;
    try {
      st = lstatSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && path !== dir) return; // Removed in between.
      throw err;
    }
    const problem = entryProblem(st);
    if (problem) throw new UnsafeRunDirError(dir, path, problem);
    if (!st.isDirectory()) return;
    let entries: string[];
    try {
      entries = readdirSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const entry of entries) walk(join(path, entry));
  };
  walk(dir);
}

/** True when `path` lies inside `dir` (not `dir` itself). */
export function isInside(dir: string, path: string): boolean {
  const rel = relative(resolve(dir), resolve(path));
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

function checkOpened(fd: number, path: string): void {
  const problem = entryProblem(fstatSync(fd));
  if (problem) {
    closeSync(fd);
    throw new UnsafeRunDirError(dirname(path), path, problem);
  }
}

/** A file of the run directory, read without following a link, and only if it is the user's alone. */
export function readPrivate(path: string): string {
  const fd = openSync(path, O_RDONLY | O_NOFOLLOW);
  checkOpened(fd, path);
  try {
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes a file of the run directory (mode 0600) without following a link: `exclusive` creates a
 * new one (fails when anything is there), else an existing file of the user's is replaced.
 */
export function writePrivate(path: string, data: string, opts: { exclusive?: boolean } = {}): void {
  const flags = O_WRONLY | O_CREAT | O_NOFOLLOW | (opts.exclusive ? O_EXCL : O_TRUNC);
  const fd = openSync(path, flags, 0o600);
  checkOpened(fd, path);
  try {
    writeSync(fd, data);
  } finally {
    closeSync(fd);
  }
}

/** A log file opened for appending (created 0600), never through a link. The caller closes it. */
export function openLog(path: string): number {
  const fd = openSync(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0o600);
  checkOpened(fd, path);
  return fd;
}
