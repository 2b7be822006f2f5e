#!/usr/bin/env node
// Creates prisma/migrations/<timestamp>_<name>/migration.sql from the
// difference between the schema as of the newest migration and
// prisma/schema.prisma. `prisma migrate dev` does not work offline with the
// JS engine (../shared/notes/prisma-offline.md), and `migrate diff
// --from-migrations` needs a shadow database, so each migration folder keeps
// a copy of the schema it produced (schema.prisma, ignored by migrate deploy)
// and the diff starts from that copy.
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
existing.sort();
const newest = existing.at(-1);
let from = ["--from-empty"];
if (newest) {
  let snapshot = path.join(dir, newest, "schema.prisma");
  if (!fs.existsSync(snapshot)) {
    // Older migrations carry no copy: take the schema as committed.
    snapshot = path.join(fs.mkdtempSync("/tmp/qdd-schema-"), "schema.prisma");
    fs.writeFileSync(snapshot, execFileSync("git", ["show", "HEAD:prisma/schema.prisma"], { encoding: "utf8" }));
  }
  from = ["--from-schema-datamodel", snapshot];
}
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
fs.copyFileSync("prisma/schema.prisma", path.join(out, "schema.prisma"));
fs.writeFileSync(path.join(dir, "migration_lock.toml"), 'provider = "sqlite"\n');
console.log(`wrote ${out}/migration.sql`);
// The programs apply embedded copies (libs/db/src/migrations.ts).
execFileSync(process.execPath, ["tools/embed-migrations.mjs"], { stdio: "inherit" });
