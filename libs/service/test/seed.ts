import fs from "node:fs";
import path from "node:path";
import { openDatabase, type Database } from "@qubes-dedup/db";
import { tmpDir } from "@qubes-dedup/qubes-sim/testing";

// Migrating costs a Prisma CLI start (~1 s); do it once per test file and
// give each test a copy of the migrated, empty file.
let template: Promise<string> | undefined;
function migratedTemplate(): Promise<string> {
  template ??= (async () => {
    const dir = tmpDir("web-template");
    const file = path.join(dir, "index.db");
    await (await openDatabase(`file:${file}`)).close();
    return file;
  })();
  return template;
}

/** Removes the template made by {@link tempDatabase}; call in afterAll. */
export async function removeTemplate(): Promise<void> {
  if (template) fs.rmSync(path.dirname(await template), { recursive: true, force: true });
  template = undefined;
}

/** A fresh, migrated index db in a temp directory (`dir`, removed by the caller). */
export async function tempDatabase(): Promise<Database & { dir: string }> {
  const dir = tmpDir("web");
  const file = path.join(dir, "index.db");
  fs.copyFileSync(await migratedTemplate(), file);
  const db = await openDatabase(`file:${file}`);
  return Object.assign(db, { dir });
}

const GiB = 1024n ** 3n;

/**
 * Fills `db` with one restic repository holding two snapshots (the second
 * adds little), one failed job and one unused borg repository.
 */
export async function seedTwoSnapshots(db: Database) {
  const repo = await db.prisma.repository.create({
    data: { name: "default", engine: "restic", location: "/srv/restic", passwordFile: "/secret/pw" },
  });
  await db.prisma.repository.create({
    data: { name: "offsite", engine: "borg", location: "ssh://b@h/r", passwordFile: "/secret/b" },
  });
  const job1 = await db.prisma.job.create({
    data: { repositoryId: repo.id, kind: "backup", status: "succeeded", startedAt: new Date("2026-11-01T10:00:00Z"), bytesDone: 3n * GiB },
  });
  await db.prisma.snapshot.create({
    data: {
      repositoryId: repo.id, jobId: job1.id, engineSnapshotId: "aaaa1111", backupId: "20261101T100000-100",
      createdAt: new Date("2026-11-01T10:05:00Z"), logicalBytes: 3n * GiB, addedBytes: 2n * GiB,
      repositoryBytes: 2n * GiB, streamSha256: "ab".repeat(32), compressed: false, durationSeconds: 300,
      qubes: {
        create: [
          { qid: 3, name: "work", backupPath: "vm3/", backupSizeBytes: 2n * GiB,
            volumes: { create: [{ name: "private.img", streamBytes: 2n * GiB, chunks: 21 }, { name: "firewall.xml", streamBytes: 10240n, chunks: 1 }] } },
          { qid: 1, name: "sys-net", backupPath: "vm1/", backupSizeBytes: GiB, volumes: { create: [{ name: "private.img", streamBytes: GiB, chunks: 11 }] } },
        ],
      },
    },
  });
  const job2 = await db.prisma.job.create({
    data: { repositoryId: repo.id, kind: "backup", status: "succeeded", startedAt: new Date("2026-11-02T10:00:00Z"), bytesDone: 3n * GiB },
  });
  await db.prisma.snapshot.create({
    data: {
      repositoryId: repo.id, jobId: job2.id, engineSnapshotId: "bbbb2222", backupId: "20261102T100000-200",
      createdAt: new Date("2026-11-02T10:04:00Z"), logicalBytes: 3n * GiB, addedBytes: 100n * 1024n * 1024n,
      repositoryBytes: 2n * GiB + 100n * 1024n * 1024n, streamSha256: "cd".repeat(32), compressed: false, durationSeconds: 240,
      qubes: { create: [{ qid: 3, name: "work", backupPath: "vm3/", backupSizeBytes: 2n * GiB }, { qid: 1, name: "sys-net", backupPath: "vm1/", backupSizeBytes: GiB }] },
    },
  });
  await db.prisma.job.create({
    data: {
      repositoryId: repo.id, kind: "backup", status: "failed", startedAt: new Date("2026-11-03T10:00:00Z"),
      finishedAt: new Date("2026-11-03T10:01:00Z"),
      error: "the backup stream ended before its tar framing was complete: check the dom0 side and run the backup again.",
    },
  });
  return repo;
}
