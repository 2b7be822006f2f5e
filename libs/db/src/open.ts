import fs from "node:fs";
import path from "node:path";
import { PrismaLibSQL } from "@prisma/adapter-libsql";
import { PrismaClient } from "./generated/client.ts";
import { BUSY_TIMEOUT_MS } from "./busy-timeout.ts";
import { applyMigrations } from "./migrate.ts";
import { workspaceRoot } from "./paths.ts";

/** An open index database. Call `close()` before the process exits. */
export interface Database {
  prisma: PrismaClient;
  /** The `file:` URL the database was opened with. */
  url: string;
  close(): Promise<void>;
}

/**
 * The database URL used when none is given: `$QUBES_DEDUP_DB` (a path or a
 * `file:` URL), else `<workspace>/var/qubes-dedup.db`. A relative path is
 * taken from where the user typed the command (`$INIT_CWD`, which npm sets,
 * else the current directory): `npm run web` runs the server in apps/web,
 * and the CLI and the server must open the same file.
 */
export function defaultDatabaseUrl(): string {
  const env = process.env.QUBES_DEDUP_DB;
  if (env) {
    const file = env.startsWith("file:") ? env.slice("file:".length) : env;
    return `file:${path.resolve(process.env.INIT_CWD ?? process.cwd(), file)}`;
  }
  return `file:${path.join(workspaceRoot(), "var", "qubes-dedup.db")}`;
}

/**
 * Opens (creating and migrating when needed) the SQLite index database.
 * @param url `file:` URL; defaults to {@link defaultDatabaseUrl}.
 * @throws MigrationError when the schema cannot be brought up to date.
 */
export async function openDatabase(url: string = defaultDatabaseUrl()): Promise<Database> {
  if (!url.startsWith("file:")) throw new Error(`unsupported database URL ${url}: use file:/path/to/db`);
  fs.mkdirSync(path.dirname(url.slice("file:".length)), { recursive: true });
  await applyMigrations(url);
  // intMode "bigint": libsql otherwise throws on an integer above 2^53 (a
  // BigInt column such as logicalBytes); Prisma still hands Int columns out
  // as numbers. timeout: SQLite's busy timeout, on every connection the
  // client opens (it reconnects after each transaction).
  const prisma = new PrismaClient({
    adapter: new PrismaLibSQL({ url, intMode: "bigint", timeout: BUSY_TIMEOUT_MS }),
  });
  return { prisma, url, close: () => prisma.$disconnect() };
}
