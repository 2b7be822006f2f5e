/**
 * The index database of a long-running process (the dashboard server, a
 * scheduler), opened once, and the data directory next to it.
 */
import path from "node:path";
import { defaultDatabaseUrl, openDatabase, type Database } from "@qubes-dedup/db";

export type { Database };

// One connection per process; Next.js may re-evaluate modules in dev, so the
// promise lives on globalThis.
const key = Symbol.for("qubes-dedup.web.db");
type Holder = { [key]?: Promise<Database> };

/**
 * The index database of this process, opened (and migrated) on first use
 * from `$QUBES_DEDUP_DB` or `<workspace>/var/qubes-dedup.db`; later calls
 * return the same connection.
 * @throws MigrationError when the schema cannot be brought up to date.
 */
export function processDatabase(): Promise<Database> {
  const g = globalThis as Holder;
  if (!g[key]) {
    g[key] = openDatabase().catch((e: unknown) => {
      delete g[key];
      throw e;
    });
  }
  return g[key];
}

/**
 * The directory holding the index db at `dbUrl` (a `file:` URL or a path;
 * default `$QUBES_DEDUP_DB` or `<workspace>/var/qubes-dedup.db`). The web
 * token and the dashboard's repository password files live there too.
 */
export function dataDirectory(dbUrl: string = defaultDatabaseUrl()): string {
  const file = dbUrl.startsWith("file:") ? dbUrl.slice("file:".length) : dbUrl;
  return path.dirname(path.resolve(file));
}

/**
 * Opens (and migrates) the index db for one command: `dbPath` is a path
 * (made absolute from the current directory) or a `file:` URL; without it,
 * `$QUBES_DEDUP_DB` or `<workspace>/var/qubes-dedup.db`. The caller closes it.
 * @throws MigrationError when the schema cannot be brought up to date.
 */
export function openIndex(dbPath?: string): Promise<Database> {
  return openDatabase(dbPath ? `file:${path.resolve(dbPath.startsWith("file:") ? dbPath.slice(5) : dbPath)}` : defaultDatabaseUrl());
}
