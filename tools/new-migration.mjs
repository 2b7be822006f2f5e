#!/usr/bin/env node
// Creates prisma/migrations/<timestamp>_<name>/migration.sql from the
// difference between the existing migrations and prisma/schema.prisma.
// `prisma migrate dev` does not work offline with the JS engine
// (../shared/notes/prisma-offline.md), so this wraps `prisma migrate diff`.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error("usage: npm run db:migration -- <name>   (name: lowercase letters, digits, _)");
  process.exit(2);
}
const dir = "prisma/migrations";
fs.mkdirSync(dir, { recursive: true });
const existing = fs.readdirSync(dir).filter((d) => fs.statSync(path.join(dir, d)).isDirectory());
const from = existing.length ? ["--from-migrations", dir] : ["--from-empty"];
const sql = execFileSync(
  "npx",
  ["prisma", "migrate", "diff", ...from, "--to-schema-datamodel", "prisma/schema.prisma", "--script"],
  { encoding: "utf8" },
);
if (!/\b(CREATE|ALTER|DROP)\b/.test(sql)) {
  console.error("schema.prisma matches the migrations: nothing to do");
  process.exit(1);
}
const stamp = new Date().toISOString().replace(/[-:T]/g, "").slice(0, 14);
const out = path.join(dir, `${stamp}_${name}`);
fs.mkdirSync(out);
fs.writeFileSync(path.join(out, "migration.sql"), sql);
fs.writeFileSync(path.join(dir, "migration_lock.toml"), 'provider = "sqlite"\n');
console.log(`wrote ${out}/migration.sql`);
