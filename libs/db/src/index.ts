/**
 * The index database: an SQLite file reached through Prisma's generated
 * client and the libsql adapter (libsql is an N-API addon: one build serves
 * every Node version). It only indexes what the engine's
 * repository holds; losing it loses nothing (`qubes-dedup reindex`).
 */
export { openDatabase, defaultDatabaseUrl, type Database } from "./open.ts";
export { applyMigrations, pendingMigrations, MigrationError } from "./migrate.ts";
export type { PrismaClient } from "./generated/client.ts";
export * as models from "./generated/models.ts";
