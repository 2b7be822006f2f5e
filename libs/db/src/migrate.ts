import crypto from "node:crypto";
import fs from "node:fs";
import Libsql from "libsql";
import { BUSY_TIMEOUT_MS } from "./busy-timeout.ts";
import { MIGRATIONS, type Migration } from "./migrations.ts";

/** The schema could not be migrated; the message says what to do. */
export class MigrationError extends Error {}

// Prisma's own bookkeeping table, as `prisma migrate deploy` creates it
// (read from a database it made), so that Prisma's CLI and this migrator
// agree on what has been applied.
const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    TEXT PRIMARY KEY NOT NULL,
    "checksum"              TEXT NOT NULL,
    "finished_at"           DATETIME,
    "migration_name"        TEXT NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        DATETIME,
    "started_at"            DATETIME NOT NULL DEFAULT current_timestamp,
    "applied_steps_count"   INTEGER UNSIGNED NOT NULL DEFAULT 0
)`;

interface AppliedRow {
  migration_name: string;
  finished_at: string | null;
  rolled_back_at: string | null;
}

function fileOf(url: string): string {
  return url.slice("file:".length);
}

/** Rows of `_prisma_migrations`, or none when the table does not exist. */
function appliedRows(db: Libsql.Database): AppliedRow[] {
  const table = db.prepare("SELECT name FROM sqlite_master WHERE type='table' AND name='_prisma_migrations'").get();
  if (!table) return [];
  return db.prepare("SELECT migration_name, finished_at, rolled_back_at FROM _prisma_migrations").all() as AppliedRow[];
}

function pendingIn(rows: AppliedRow[]): Migration[] {
  const done = new Set(rows.filter((r) => r.finished_at !== null).map((r) => r.migration_name));
  return MIGRATIONS.filter((m) => !done.has(m.name));
}

/**
 * Names of migrations not yet applied to the database at `url` (all of them
 * for a missing file), oldest first. Opens the file read-only.
 */
export function pendingMigrations(url: string): string[] {
  const file = fileOf(url);
  if (!fs.existsSync(file)) return MIGRATIONS.map((m) => m.name);
  const db = new Libsql(file, { readonly: true, fileMustExist: true });
  try {
    return pendingIn(appliedRows(db)).map((m) => m.name);
  } finally {
    db.close();
  }
}

/** Prisma's timestamp form in `_prisma_migrations`: 2026-12-01T22:12:46.054+00:00. */
function prismaNow(): string {
  return new Date().toISOString().replace(/Z$/, "+00:00");
}

/**
 * Applies one migration the way `prisma migrate deploy` does on SQLite: a
 * `_prisma_migrations` row first, the script run as a whole (not inside a
 * transaction: Prisma's table-redefining scripts turn `foreign_keys` off,
 * which SQLite ignores inside one), then the row marked finished.
 */
function applyOne(db: Libsql.Database, url: string, m: Migration): void {
  const id = crypto.randomUUID();
  const checksum = crypto.createHash("sha256").update(m.sql).digest("hex");
  db.prepare(
    `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES (?, ?, ?, ?, 0)`,
  ).run(id, checksum, m.name, prismaNow());
  try {
    db.exec(m.sql);
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    db.prepare(`UPDATE "_prisma_migrations" SET logs = ? WHERE id = ?`).run(detail, id);
    throw new MigrationError(
      `cannot migrate the index database ${url}: migration ${m.name} failed (${detail}); move the file away and run again (qubes-dedup reindex rebuilds it from the repository).`,
    );
  }
  db.prepare(`UPDATE "_prisma_migrations" SET finished_at = ?, applied_steps_count = 1 WHERE id = ?`).run(prismaNow(), id);
}

/**
 * Brings the database at `url` (created when missing) to the current schema
 * by applying the embedded migrations not yet recorded in
 * `_prisma_migrations`; needs no Prisma CLI and no migrations folder.
 * @throws MigrationError when a migration failed, now or in an earlier run.
 */
export async function applyMigrations(url: string): Promise<void> {
  if (pendingMigrations(url).length === 0) return;
  const db = new Libsql(fileOf(url), { timeout: BUSY_TIMEOUT_MS });
  try {
    db.exec(MIGRATIONS_TABLE);
    const rows = appliedRows(db);
    const failed = rows.find((r) => r.finished_at === null && r.rolled_back_at === null);
    if (failed) {
      throw new MigrationError(
        `cannot migrate the index database ${url}: migration ${failed.migration_name} failed in an earlier run; move the file away and run again (qubes-dedup reindex rebuilds it from the repository).`,
      );
    }
    for (const m of pendingIn(rows)) applyOne(db, url, m);
  } finally {
    db.close();
  }
}
