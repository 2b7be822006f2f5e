import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import { createRequire } from "node:module";
import { afterEach, describe, expect, it } from "vitest";
import { tmpDir } from "@qubes-dedup/qubes-sim/testing";
import { openDatabase } from "../src/index.ts";

const libsqlPath = createRequire(import.meta.url).resolve("libsql");
const repo = (name: string) => ({ data: { name, engine: "restic", location: "/x", passwordFile: "/p" } });

/**
 * Another process (the dashboard, a qrexec service) that takes the write
 * lock, says "locked", and holds it for `holdMs` before committing. It must
 * be another process: libsql's busy wait blocks this one's event loop.
 */
async function holdWriteLock(file: string, holdMs: number): Promise<ChildProcess> {
  const script = `
    const Libsql = require(${JSON.stringify(libsqlPath)});
    const db = new Libsql(${JSON.stringify(file)});
    db.exec("BEGIN IMMEDIATE");
    process.stdout.write("locked\\n");
    setTimeout(() => { db.exec("COMMIT"); db.close(); }, ${holdMs});`;
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  const [chunk] = (await once(child.stdout!, "data")) as [Buffer];
  expect(chunk.toString()).toBe("locked\n");
  return child;
}

let holder: ChildProcess | undefined;
afterEach(() => {
  holder?.kill("SIGKILL");
  holder = undefined;
});

describe("another process holding the index db's write lock", () => {
  it("makes a write wait for the lock instead of failing with SQLITE_BUSY", async () => {
    const file = path.join(tmpDir("qdd-busy-"), "index.db");
    const db = await openDatabase(`file:${file}`);
    try {
      holder = await holdWriteLock(file, 1500);
      const row = await db.prisma.repository.create(repo("default"));
      expect(row.name).toBe("default");
      expect(await db.prisma.repository.count()).toBe(1);
      // The holder committed before our write could.
      const [code] = await once(holder, "exit");
      expect(code).toBe(0);
    } finally {
      await db.close();
    }
  });

  it("waits inside an interactive transaction too (Prisma's BEGIN on a fresh connection)", async () => {
    const file = path.join(tmpDir("qdd-busy-"), "index.db");
    const db = await openDatabase(`file:${file}`);
    try {
      holder = await holdWriteLock(file, 1500);
      await db.prisma.$transaction(
        async (tx) => {
          await tx.repository.create(repo("a"));
          await tx.repository.create(repo("b"));
        },
        { maxWait: 20_000, timeout: 20_000 },
      );
      expect(await db.prisma.repository.count()).toBe(2);
    } finally {
      await db.close();
    }
  });
});
