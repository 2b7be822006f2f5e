import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import BetterSqlite3 from "better-sqlite3";
import { workspaceRoot } from "./paths.ts";

/** The schema could not be migrated; the message says what to run. */
export class MigrationError extends Error {}

/** Names of the migration folders under prisma/migrations, oldest first. */
function knownMigrations(root: string): string[] {
  const dir = path.join(root, "prisma", "migrations");
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

/**
 * Names of migrations not yet applied to the database at `url` (all of them
 * for a missing file). Reads `_prisma_migrations` directly so the common case
 * (nothing pending) costs no Prisma CLI start.
 */
export function pendingMigrations(url: string): string[] {
  const root = workspaceRoot();
  const all = knownMigrations(root);
  const file = url.slice("file:".length);
  if (!fs.existsSync(file)) return all;
  const db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  try {
    const table = db.prepare("SELECT name FROM sqlite_master WHERE type='table' AND name='_prisma_migrations'").get();
    if (!table) return all;
    const done = new Set(
      (db.prepare("SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL").all() as { migration_name: string }[]).map(
        (r) => r.migration_name,
      ),
    );
    return all.filter((m) => !done.has(m));
  } finally {
    db.close();
  }
}

/**
 * Brings the database at `url` to the current schema with
 * `prisma migrate deploy` (Prisma's own migrator, JS engine, offline).
 * @throws MigrationError naming the command to run by hand on failure.
 */
export async function applyMigrations(url: string): Promise<void> {
  if (pendingMigrations(url).length === 0) return;
  const root = workspaceRoot();
  const prismaCli = path.join(root, "node_modules", "prisma", "build", "index.js");
  try {
    execFileSync(process.execPath, [prismaCli, "migrate", "deploy"], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: url },
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (e) {
    const err = e as { stderr?: Buffer; stdout?: Buffer };
    const detail = `${err.stdout?.toString() ?? ""}${err.stderr?.toString() ?? ""}`.trim().split("\n").slice(-3).join(" ");
    throw new MigrationError(
      `cannot migrate the index database ${url}: ${detail}. Run "DATABASE_URL=${url} npx prisma migrate deploy" in ${root} to see why, or move the file away and run again (qubes-dedup reindex rebuilds it from the repository).`,
    );
  }
}
