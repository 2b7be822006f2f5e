/**
 * Index db failures in one sentence. SQLite reports a full disk as
 * "database or disk is full" (SQLITE_FULL); Prisma wraps it in a message
 * whose first line is empty, which is how a bare "()" reached users.
 */
import type { Database } from "@qubes-dedup/db";
import { ServiceError } from "./errors.ts";

const FULL = /database or disk is full|SQLITE_FULL|no space left on device/i;

/** The last meaningful line of a (Prisma) error message. */
export function errorLine(e: unknown): string {
  const lines = String((e as Error)?.message ?? e).split("\n").map((l) => l.trim()).filter(Boolean);
  return lines[lines.length - 1] ?? "unknown error";
}

/** True when `e` says the index db's disk is full. */
export function isDiskFull(e: unknown): boolean {
  return FULL.test(String((e as Error)?.message ?? e));
}

/** The index db's file, from its URL. */
function fileOf(db: Database): string {
  return db.url.replace(/^file:/, "");
}

/**
 * `e` as one sentence when the index db's disk is full, else `e` itself.
 * @param stored what is safe in the repository already, for the fix (a snapshot id and its repository)
 */
export function indexDbError(db: Database, e: unknown, stored?: { snapshot: string; repository: string }): unknown {
  if (!isDiskFull(e)) return e;
  const file = fileOf(db);
  return stored
    ? new ServiceError(`snapshot ${stored.snapshot} is stored in the repository, but the disk of the index db ${file} is full (SQLite: database or disk is full); free space on it, then run "qubes-dedup reindex --repo ${stored.repository}" to add the snapshot to the index.`)
    : new ServiceError(`the disk of the index db ${file} is full (SQLite: database or disk is full); free space on it, then run the command again.`);
}
