import fs from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createCaller } from "../src/server/router.ts";
import { seedTwoSnapshots, tempDatabase } from "./seed.ts";

const GiB = 1024n ** 3n;
const MiB = 1024n ** 2n;

let db: Awaited<ReturnType<typeof tempDatabase>>;
beforeEach(async () => {
  db = await tempDatabase();
});
afterEach(async () => {
  await db.close();
  fs.rmSync(db.dir, { recursive: true, force: true });
});

describe("repositories.list", () => {
  it("is empty on a fresh database", async () => {
    expect(await createCaller({ db }).repositories.list()).toEqual([]);
  });

  it("gives totals from the newest snapshot, the last job and failed jobs, and never the password file", async () => {
    await seedTwoSnapshots(db);
    const [def, off] = await createCaller({ db }).repositories.list();
    expect(def).toMatchObject({
      name: "default",
      engine: "restic",
      location: "/srv/restic",
      snapshotCount: 2,
      repositoryBytes: 2n * GiB + 100n * MiB,
      logicalBytes: 6n * GiB,
    });
    expect(def?.dedupRatio).toBeCloseTo(6144 / 2148, 10);
    expect(def?.lastJob?.status).toBe("failed");
    expect(def?.failedJobs.map((j) => j.error)).toEqual([
      "the backup stream ended before its tar framing was complete: check the dom0 side and run the backup again.",
    ]);
    expect(JSON.stringify(def, (_k, v) => (typeof v === "bigint" ? v.toString() : v))).not.toContain("/secret/");
    expect(off).toMatchObject({ name: "offsite", snapshotCount: 0, repositoryBytes: null, logicalBytes: 0n, dedupRatio: null, lastJob: null });
  });

  it("shows a running job whose process is gone as interrupted, and a live one as running", async () => {
    const repo = await seedTwoSnapshots(db);
    // A pid far above any pid_max default cannot belong to a live process.
    const dead = 2 ** 30;
    await db.prisma.job.create({ data: { repositoryId: repo.id, kind: "backup", status: "running", pid: dead, startedAt: new Date("2026-11-04T00:00:00Z") } });
    expect((await createCaller({ db }).repositories.list())[0]?.lastJob?.status).toBe("interrupted");
    await db.prisma.job.create({ data: { repositoryId: repo.id, kind: "backup", status: "running", pid: process.pid, startedAt: new Date("2026-11-05T00:00:00Z") } });
    expect((await createCaller({ db }).repositories.list())[0]?.lastJob?.status).toBe("running");
  });
});

describe("snapshots.list", () => {
  it("lists newest first with qubes in qid order, added bytes and the cumulative dedup ratio", async () => {
    const repo = await seedTwoSnapshots(db);
    const rows = await createCaller({ db }).snapshots.list({ repositoryId: repo.id });
    expect(rows.map((r) => r.engineSnapshotId)).toEqual(["bbbb2222", "aaaa1111"]);
    expect(rows.map((r) => r.qubes)).toEqual([["sys-net", "work"], ["sys-net", "work"]]);
    expect(rows.map((r) => r.addedBytes)).toEqual([100n * MiB, 2n * GiB]);
    expect(rows.map((r) => r.cumulativeLogicalBytes)).toEqual([6n * GiB, 3n * GiB]);
    expect(rows[1]?.dedupRatio).toBe(1.5);
    expect(rows[0]?.dedupRatio).toBeCloseTo(6144 / 2148, 10);
  });

  it("rejects a non-positive repository id", async () => {
    await expect(createCaller({ db }).snapshots.list({ repositoryId: 0 })).rejects.toThrow(/too_small|>0|greater/i);
  });
});
