import fs from "node:fs";
import path from "node:path";
import { defineConfig } from "prisma/config";
import { PrismaLibSQL } from "@prisma/adapter-libsql";

// Prisma 6 JS engine: works without downloading native engines
// (see ../shared/notes/prisma-offline.md). The running programs migrate with
// libs/db's own migrator; these commands are for working on the schema.
const url = process.env.DATABASE_URL ?? `file:${path.resolve("var/qubes-dedup.db")}`;

// SQLite will not create the directory of its file.
if (url.startsWith("file:")) fs.mkdirSync(path.dirname(url.slice(5)), { recursive: true });

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: "prisma/schema.prisma",
  adapter: async () => new PrismaLibSQL({ url, intMode: "bigint" }),
});
