// The data folder holds the audit log in plain text and the key that opens the stored secrets:
// only the owner may read it. Modes are given explicitly (and fixed with chmod) so a permissive
// umask cannot widen them.
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Mode of folders audithook creates for its data. */
export const PRIVATE_DIR_MODE = 0o700;
/** Mode of the database file, its -wal/-shm companions and secret.key. */
export const PRIVATE_FILE_MODE = 0o600;

/**
 * Creates `dir` (and missing parents) as 0700. A folder that already exists is left as it is (it may
 * be the working directory or shared); the result says whether others can enter it, for a warning.
 */
export function ensurePrivateDir(dir: string): { created: boolean; openToOthers: boolean } {
  if (existsSync(dir)) return { created: false, openToOthers: (statSync(dir).mode & 0o077) !== 0 };
  const first = resolve(mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE }) ?? dir);
  // mkdir's mode passes through the umask, which can only narrow it; chmod makes each created folder exact.
  for (let current = resolve(dir); ; current = dirname(current)) {
    chmodSync(current, PRIVATE_DIR_MODE);
    if (current === first || dirname(current) === current) break;
  }
  return { created: true, openToOthers: false };
}

/**
 * Creates `path` empty as 0600 when missing (SQLite gives its -wal and -shm files the mode of the
 * database file), or narrows an existing file to 0600. Returns the mode it had when it was wider.
 */
export function ensurePrivateFile(path: string): { widenedModeWas: number | null } {
  try {
    closeSync(openSync(path, 'wx', PRIVATE_FILE_MODE));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return tightenFile(path);
}

/** Narrows an existing file to 0600 (no-op when missing); returns the mode it had when it was wider. */
export function tightenFile(path: string): { widenedModeWas: number | null } {
  let mode: number;
  try {
    mode = statSync(path).mode & 0o777;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { widenedModeWas: null };
    throw error;
  }
  if ((mode & ~PRIVATE_FILE_MODE) === 0) return { widenedModeWas: null };
  chmodSync(path, PRIVATE_FILE_MODE);
  return { widenedModeWas: mode };
}
