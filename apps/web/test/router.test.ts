import fs from "node:fs";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { createCaller } from "../src/server/api/root.ts";
import { removeTemplate, seedTwoSnapshots, tempDatabase } from "../../../libs/service/test/seed.ts";

const GiB = 1024n ** 3n;
const MiB = 1024n ** 2n;

let db: Awaited<ReturnType<typeof tempDatabase>>;
const signedIn = { authorized: true, sameOrigin: true };
const caller = (auth = signedIn) => createCaller({ db, auth });
// The first call migrates the template db (a Prisma CLI start): slow on a busy machine.
beforeEach(async () => {
  db = await tempDatabase();
}, 60_000);
afterAll(removeTemplate);
afterEach(async () => {
  await db.close();
  fs.rmSync(db.dir, { recursive: true, force: true });
});

describe("repositories.list", () => {
  it("is empty on a fresh database", async () => {
    expect(await caller().repositories.list()).toEqual([]);
  });

  it("gives totals from the newest snapshot, the last job and failed jobs, and never the password file", async () => {
    await seedTwoSnapshots(db);
    const [def, off] = await caller().repositories.list();
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
    expect((await caller().repositories.list())[0]?.lastJob?.status).toBe("interrupted");
    await db.prisma.job.create({ data: { repositoryId: repo.id, kind: "backup", status: "running", pid: process.pid, startedAt: new Date("2026-11-05T00:00:00Z") } });
    expect((await caller().repositories.list())[0]?.lastJob?.status).toBe("running");
  });
});

describe("snapshots.list", () => {
  it("lists newest first with qubes in qid order, added bytes and the cumulative dedup ratio", async () => {
    const repo = await seedTwoSnapshots(db);
    const rows = await caller().snapshots.list({ repositoryId: repo.id });
    expect(rows.map((r) => r.engineSnapshotId)).toEqual(["bbbb2222", "aaaa1111"]);
    expect(rows.map((r) => r.qubes)).toEqual([["sys-net", "work"], ["sys-net", "work"]]);
    expect(rows.map((r) => r.addedBytes)).toEqual([100n * MiB, 2n * GiB]);
    expect(rows.map((r) => r.cumulativeLogicalBytes)).toEqual([6n * GiB, 3n * GiB]);
    expect(rows[1]?.dedupRatio).toBe(1.5);
    expect(rows[0]?.dedupRatio).toBeCloseTo(6144 / 2148, 10);
  });

  it("filters by qube and by time range without changing the ratios", async () => {
    const repo = await seedTwoSnapshots(db);
    await db.prisma.snapshot.create({
      data: {
        repositoryId: repo.id, engineSnapshotId: "cccc3333", backupId: "20261103T100000-300", createdAt: new Date("2026-11-03T10:00:00Z"),
        logicalBytes: GiB, addedBytes: MiB, repositoryBytes: 2n * GiB + 101n * MiB, streamSha256: "ef".repeat(32), compressed: true,
        durationSeconds: 60, qubes: { create: [{ qid: 5, name: "vault", backupPath: "vm5/", backupSizeBytes: GiB }] },
      },
    });
    const all = await caller().snapshots.list({ repositoryId: repo.id });
    const vault = await caller().snapshots.list({ repositoryId: repo.id, qube: "vault" });
    expect(vault.map((r) => r.engineSnapshotId)).toEqual(["cccc3333"]);
    expect(vault[0]?.dedupRatio).toBe(all[0]?.dedupRatio);
    const day2 = await caller().snapshots.list({ repositoryId: repo.id, from: new Date("2026-11-02T00:00:00Z"), to: new Date("2026-11-02T23:59:59Z") });
    expect(day2.map((r) => r.engineSnapshotId)).toEqual(["bbbb2222"]);
    expect(await caller().snapshots.qubeNames({ repositoryId: repo.id })).toEqual(["sys-net", "vault", "work"]);
    const [def] = await caller().repositories.list();
    expect(def?.warnings[0]).toBe(
      "1 snapshot was made from a compressed backup, which does not deduplicate: back up with qvm-backup --no-compress.",
    );
  });

  it("rejects a non-positive repository id", async () => {
    await expect(caller().snapshots.list({ repositoryId: 0 })).rejects.toThrow(/too_small|>0|greater/i);
  });
});

describe("snapshots.get", () => {
  it("gives qubes with volumes, backup-id, checksum and the ratio as in the list", async () => {
    const repo = await seedTwoSnapshots(db);
    const [newest, oldest] = await caller().snapshots.list({ repositoryId: repo.id });
    const d = await caller().snapshots.get({ id: oldest!.id });
    expect(d).toMatchObject({
      backupId: "20261101T100000-100",
      streamSha256: "ab".repeat(32),
      repository: { name: "default", engine: "restic" },
      cumulativeLogicalBytes: 3n * GiB,
      dedupRatio: 1.5,
    });
    expect(d.qubes.map((q) => [q.qid, q.name, q.volumes.map((v) => [v.name, v.streamBytes, v.chunks])])).toEqual([
      [1, "sys-net", [["private.img", GiB, 11]]],
      [3, "work", [["private.img", 2n * GiB, 21], ["firewall.xml", 10240n, 1]]],
    ]);
    expect((await caller().snapshots.get({ id: newest!.id })).dedupRatio).toBe(newest!.dedupRatio);
  });

  it("answers NOT_FOUND with a sentence for an unknown id", async () => {
    await expect(caller().snapshots.get({ id: 999 })).rejects.toThrow("There is no snapshot 999: pick one from the snapshot list.");
  });
});

describe("authorization", () => {
  it("refuses every procedure without the token", async () => {
    const anon = caller({ authorized: false, sameOrigin: true });
    await expect(anon.repositories.list()).rejects.toMatchObject({ code: "UNAUTHORIZED" });
    await expect(anon.snapshots.list({ repositoryId: 1 })).rejects.toThrow(/qubes-dedup web-token/);
  });
});

describe("safe actions", () => {
  it("refuses a retention by hand without a confirmed preview, and shows the last job as the request dom0 ran a dump for", async () => {
    const repo = await seedTwoSnapshots(db);
    await expect(caller().maintenance.run({ repositoryId: repo.id, kind: "retention" })).rejects.toMatchObject({
      code: "BAD_REQUEST",
      message: "A retention started by hand needs a confirmed preview: preview it first, then confirm the snapshots to forget.",
    });
    expect(await db.prisma.maintenanceRun.count()).toBe(0);
    const t0 = new Date("2026-11-04T10:00:00Z");
    const request = await db.prisma.job.create({ data: { repositoryId: repo.id, kind: "restore", status: "running", startedAt: t0, pid: process.pid } });
    await db.prisma.job.create({ data: { repositoryId: repo.id, kind: "dump", status: "succeeded", startedAt: new Date(t0.getTime() + 5000), finishedAt: new Date(t0.getTime() + 9000) } });
    const [def] = await caller().repositories.list();
    expect(def!.lastJob).toMatchObject({ id: request.id, kind: "restore", status: "running" });
    expect(def!.verification).toEqual({ lastCheck: null, lastDrill: null });
  });
});
