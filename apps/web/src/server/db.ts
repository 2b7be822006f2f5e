import { openDatabase, type Database } from "@qubes-dedup/db";

// One connection per server process; Next.js may re-evaluate modules in dev,
// so the promise lives on globalThis.
const key = Symbol.for("qubes-dedup.web.db");
type Holder = { [key]?: Promise<Database> };

/**
 * The index database of this server process, opened (and migrated) on first
 * use from `$QUBES_DEDUP_DB` or `<workspace>/var/qubes-dedup.db`.
 * @throws MigrationError when the schema cannot be brought up to date.
 */
export function getDatabase(): Promise<Database> {
  const g = globalThis as Holder;
  if (!g[key]) {
    g[key] = openDatabase().catch((e: unknown) => {
      delete g[key];
      throw e;
    });
  }
  return g[key];
}
