// The data directory (embedded database, file blobs, generated secrets, demo credentials) is
// private to the server's user: the directory 0700, what is in it 0700 (folders) and 0600
// (files). The process entry sets umask 077 so that everything created later (PGlite's files
// above all) is private too; at start the directory is created so, and Atelier's own entries
// in it are tightened: a directory made readable by an older version, or by hand, is fixed
// and a warning says so. Files an operator keeps beside Atelier's are left alone.
import { chmodSync, lstatSync, mkdirSync, readdirSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../observability/logger';

/** What Atelier keeps in the data directory; only these are tightened. */
export const DATA_DIR_ENTRIES = ['admin-token', 'signing-secret', 'demo.json', 'db', 'blobs'] as const;

/** Permission bits for group and others. */
const SHARED_BITS = 0o077;

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch {
    return null;
  }
}

export interface Tightened {
  /** Entries whose group or other permissions were removed. */
  changed: number;
  /** Paths that could not be changed (owned by another user, say). */
  failed: string[];
}

/** Removes group and other permissions from `path` and, for a directory, everything under it (symbolic links are not followed). */
function tightenTree(path: string, result: Tightened): void {
  const stats = lstatOrNull(path);
  if (!stats || stats.isSymbolicLink()) return;
  if ((stats.mode & SHARED_BITS) !== 0) {
    try {
      chmodSync(path, stats.mode & 0o700);
      result.changed += 1;
    } catch {
      result.failed.push(path);
    }
  }
  if (stats.isDirectory()) {
    for (const name of readdirSync(path)) tightenTree(join(path, name), result);
  }
}

/** Makes `dataDir` and Atelier's entries in it private to this user (see above). */
export function tightenDataDir(dataDir: string): Tightened {
  const result: Tightened = { changed: 0, failed: [] };
  const stats = lstatOrNull(dataDir);
  if (stats && !stats.isSymbolicLink() && (stats.mode & SHARED_BITS) !== 0) {
    try {
      chmodSync(dataDir, 0o700);
      result.changed += 1;
    } catch {
      result.failed.push(dataDir);
    }
  }
  for (const entry of DATA_DIR_ENTRIES) tightenTree(join(dataDir, entry), result);
  return result;
}

/**
 * Creates the data directory (0700) or, when it exists, tightens it; says so when it was
 * readable by others. Returns a function to call once the database and blob store are open,
 * which tightens what they created (when the process umask let them make it readable).
 */
export function preparePrivateDataDir(dataDir: string, logger: Logger): () => void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const report = (result: Tightened, warn: boolean) => {
    if (result.changed > 0 && warn) {
      logger.warn(
        { dataDir, entries: result.changed },
        "the data directory was readable by other users: made private to the server's user",
      );
    }
    if (result.failed.length > 0) {
      logger.warn(
        { dataDir, paths: result.failed.slice(0, 10) },
        'could not make these data directory entries private (owned by another user?): fix their permissions by hand',
      );
    }
  };
  report(tightenDataDir(dataDir), true);
  // What this start creates is tightened silently: its looseness comes from the umask of a
  // process that embeds the server (the entry point sets 077), not from an earlier mistake.
  return () => report(tightenDataDir(dataDir), false);
}
