import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { type QubeSpec } from "@qubes-dedup/qubes-sim";
import { makeBackupStreamFile } from "@qubes-dedup/qubes-sim/testing";
import { addRepositoryFromDashboard, runBackup } from "../src/index.ts";
import { removeTemplate, tempDatabase } from "./seed.ts";
import { startRest, type RestServer } from "@qubes-dedup/qubes-sim";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const SHIM_DIR = path.join(ROOT, "libs/shim/dist");
const MiB = 1024 * 1024;
const QUBES: QubeSpec[] = [{ name: "work", klass: "StandaloneVM", rootSize: 2 * MiB, privateSize: 2 * MiB }];
const PASS = `qubes-dedup-v1-${"cd".repeat(32)}`;

let db: Awaited<ReturnType<typeof tempDatabase>>;
let rest: (RestServer & { port: number }) | undefined;
beforeEach(async () => {
  db = await tempDatabase();
  // restic's cache of a remote repository: in the test's directory, not the workspace's var/
  process.env.QUBES_DEDUP_CACHE_DIR = path.join(db.dir, "cache");
});
afterEach(async () => {
  await rest?.stop();
  await db.close();
  fs.rmSync(db.dir, { recursive: true, force: true });
});
afterAll(async () => {
  delete process.env.QUBES_DEDUP_CACHE_DIR;
  await removeTemplate();
});

describe("a household REST server (rclone serve restic) as the repository", () => {
  // retry: once under heavy load (five other test suites on 2 cores) the third
  // backup met "load <index/…>: invalid data returned" from the restarted
  // server; alone it passed. A repeat failure still fails the run. To be found
  // with the server-kill campaign of the safe-by-default work.
  it("stores backups; with the server gone a backup fails with no snapshot, and the next one succeeds", { timeout: 120_000, retry: 1 }, async () => {
    const restDir = path.join(db.dir, "rest");
    rest = await startRest(restDir);
    const location = `rest:${rest.url}office/`;
    await addRepositoryFromDashboard(db, { name: "office", engine: "restic", location, password: "office password" }, path.join(db.dir, "secrets"));
    const stream = await makeBackupStreamFile(db.dir, { seed: "rest", qubes: QUBES, chunkSize: MiB, passphrase: PASS, env: { ...process.env, PATH: `${SHIM_DIR}:${process.env.PATH}` } });
    const backup = () => runBackup(db, { repository: "office", input: fs.createReadStream(stream.file) });

    const first = await backup();
    expect(first.ingest.logicalBytes).toBe(stream.bytes);
    expect(first.ingest.streamSha256).toBe(stream.sha256);

    await rest.stop();
    const failed = await backup().then(
      () => "succeeded",
      (e: Error) => e.message,
    );
    expect(failed).toContain(location);
    const jobs = await db.prisma.job.findMany({ where: { kind: "backup" }, orderBy: { id: "asc" } });
    expect(jobs.map((j) => j.status)).toEqual(["succeeded", "failed"]);
    expect(jobs[1]!.error).toBe(failed);
    expect(await db.prisma.snapshot.count()).toBe(1);

    rest = await startRest(restDir, rest.port);
    const third = await backup();
    expect(third.ingest.streamSha256).toBe(stream.sha256);
    expect(third.ingest.addedBytes).toBeLessThan(stream.bytes / 4);
    expect(await db.prisma.snapshot.count()).toBe(2);
  });
});
