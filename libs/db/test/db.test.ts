import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import Libsql from "libsql";
import { tmpDir } from "@qubes-dedup/qubes-sim/testing";
import { openDatabase, pendingMigrations } from "../src/index.ts";
import { MIGRATIONS } from "../src/migrations.ts";

const ROOT = path.resolve(import.meta.dirname, "../../..");
const MIGRATIONS_DIR = path.join(ROOT, "prisma", "migrations");

describe("openDatabase", () => {
  it("creates, migrates and round-trips a repository, job and snapshot with BigInt sizes", async () => {
    const dir = tmpDir("db");
    const url = `file:${path.join(dir, "sub", "index.db")}`;
    expect(pendingMigrations(url).length).toBeGreaterThan(0);
    const db = await openDatabase(url);
    expect(pendingMigrations(url)).toEqual([]);
    const repo = await db.prisma.repository.create({
      data: { name: "default", engine: "restic", location: "/x", passwordFile: "/p" },
    });
    const snap = await db.prisma.snapshot.create({
      data: {
        repositoryId: repo.id,
        engineSnapshotId: "abc",
        backupId: "20261130T051200-42",
        createdAt: new Date(0),
        logicalBytes: 5n * 2n ** 40n,
        addedBytes: 1n,
        repositoryBytes: 2n,
        streamSha256: "00".repeat(32),
        compressed: false,
        durationSeconds: 1.5,
        qubes: { create: [{ qid: 3, name: "work", backupPath: "vm3/", backupSizeBytes: 10n }] },
      },
      include: { qubes: true },
    });
    expect(snap.logicalBytes).toBe(5497558138880n);
    expect(snap.qubes[0]?.name).toBe("work");
    await db.close();
    // Re-opening an up-to-date database must not run the migrator again.
    const again = await openDatabase(url);
    expect(await again.prisma.snapshot.count()).toBe(1);
    await again.close();
  });
});

describe("migrations", () => {
  it("embeds every prisma/migrations/*/migration.sql byte for byte (else run node tools/embed-migrations.mjs)", () => {
    const onDisk = fs
      .readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort()
      .map((name) => ({ name, sql: fs.readFileSync(path.join(MIGRATIONS_DIR, name, "migration.sql"), "utf8") }));
    expect(MIGRATIONS).toEqual(onDisk);
  });

  it("agrees with prisma migrate deploy: same schema, same bookkeeping, either opens the other's file", async () => {
    const dir = tmpDir("db");
    const byPrisma = path.join(dir, "prisma.db");
    const ours = path.join(dir, "ours.db");
    const prismaCli = path.join(ROOT, "node_modules", "prisma", "build", "index.js");
    execFileSync(process.execPath, [prismaCli, "migrate", "deploy"], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: `file:${byPrisma}` },
      stdio: "ignore",
    });
    expect(pendingMigrations(`file:${byPrisma}`)).toEqual([]);
    await (await openDatabase(`file:${ours}`)).close();
    const schema = (file: string) => {
      const db = new Libsql(file, { readonly: true });
      try {
        return {
          tables: db.prepare("SELECT type, name, sql FROM sqlite_master ORDER BY name").all(),
          applied: db.prepare("SELECT migration_name, checksum, applied_steps_count FROM _prisma_migrations ORDER BY migration_name").all(),
        };
      } finally {
        db.close();
      }
    };
    expect(schema(ours)).toEqual(schema(byPrisma));
    const status = execFileSync(process.execPath, [prismaCli, "migrate", "status"], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: `file:${ours}` },
      encoding: "utf8",
    });
    expect(status).toContain("Database schema is up to date");
  }, 120_000); // two Prisma CLI starts
});

describe("defaultDatabaseUrl", () => {
  it("resolves a relative QUBES_DEDUP_DB from where npm was invoked (INIT_CWD), else the current directory", async () => {
    const { defaultDatabaseUrl } = await import("../src/index.ts");
    const saved = { db: process.env.QUBES_DEDUP_DB, init: process.env.INIT_CWD };
    try {
      process.env.QUBES_DEDUP_DB = "var/x.db";
      process.env.INIT_CWD = "/home/user/qubes-dedup";
      expect(defaultDatabaseUrl()).toBe("file:/home/user/qubes-dedup/var/x.db");
      process.env.QUBES_DEDUP_DB = "file:/abs/y.db";
      expect(defaultDatabaseUrl()).toBe("file:/abs/y.db");
      delete process.env.INIT_CWD;
      process.env.QUBES_DEDUP_DB = "z.db";
      expect(defaultDatabaseUrl()).toBe(`file:${path.join(process.cwd(), "z.db")}`);
    } finally {
      for (const [k, v] of [["QUBES_DEDUP_DB", saved.db], ["INIT_CWD", saved.init]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});
