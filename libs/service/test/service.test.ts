import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "@qubes-dedup/db";
import { type QubeSpec } from "@qubes-dedup/qubes-sim";
import { makeBackupStreamFile, tmpDir } from "@qubes-dedup/qubes-sim/testing";
import { addRepository, failAbandonedJobs, listSnapshots, runBackup, runDump, ServiceError } from "../src/index.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const SHIM_DIR = path.join(ROOT, "libs/shim/dist");
const MiB = 1024 * 1024;
const QUBES: QubeSpec[] = [
  { name: "fedora-41", klass: "TemplateVM", rootSize: 4 * MiB, privateSize: MiB },
  { name: "work", klass: "AppVM", template: "fedora-41", privateSize: 4 * MiB },
];
const PASS = `qubes-dedup-v1-${"ab".repeat(32)}`;

let dir: string;
let db: Database;

beforeAll(async () => {
  dir = tmpDir("service");
  db = await openDatabase(`file:${path.join(dir, "index.db")}`);
  fs.writeFileSync(path.join(dir, "pass"), "secret\n", { mode: 0o600 });
  await addRepository(db, { name: "default", engine: "restic", location: path.join(dir, "repo"), passwordFile: path.join(dir, "pass") });
  return () => db.close();
}, 60_000);

const env = () => ({ ...process.env, PATH: `${SHIM_DIR}:${process.env.PATH}` });

describe("runBackup / listSnapshots / runDump", () => {
  it("records snapshots with their qubes and files and a cumulative dedup ratio; a re-backup of unchanged qubes adds under 1%", async () => {
    const a = await makeBackupStreamFile(dir, { seed: "svc", qubes: QUBES, chunkSize: MiB, passphrase: PASS, env: env() });
    const r1 = await runBackup(db, { repository: "default", input: fs.createReadStream(a.file) });
    expect(r1.ingest.logicalBytes).toBe(a.bytes);
    expect(r1.ingest.streamSha256).toBe(a.sha256);
    // A second run of unchanged qubes: everything but the per-run framing
    // (kept in the side record) deduplicates. How a changed volume grows the
    // repository is measured against the engine's floor in libs/pipeline.
    const b = await makeBackupStreamFile(dir, { seed: "svc", root: a.root, chunkSize: MiB, passphrase: PASS, env: env() });
    const r2 = await runBackup(db, { repository: "default", input: fs.createReadStream(b.file) });
    expect(b.sha256).not.toBe(a.sha256); // new backup-id, PIDs and times in the framing
    expect(r2.ingest.addedBytes).toBeLessThan(b.bytes * 0.01);

    const snaps = await listSnapshots(db, "default");
    expect(snaps.map((s) => s.engineSnapshotId)).toEqual([r1.ingest.snapshotId, r2.ingest.snapshotId]);
    expect(snaps[1]!.qubes).toEqual(["dom0", "fedora-41", "work"]);
    expect(snaps[1]!.dedupRatio).toBeCloseTo((a.bytes + b.bytes) / Number(snaps[1]!.repositoryBytes), 3);
    const row = await db.prisma.snapshot.findFirstOrThrow({
      where: { engineSnapshotId: r2.ingest.snapshotId },
      include: { qubes: { include: { volumes: true }, orderBy: { qid: "asc" } } },
    });
    // the side record's full id (read from the local repository), which lets a restore skip the listing
    expect(row.sideSnapshotId).toBe(r2.ingest.sideSnapshotId);
    expect(row.sideSnapshotId).toMatch(/^[0-9a-f]{64}$/);
    expect(row.sideSnapshotId).not.toBe(row.engineSnapshotId);
    const work = row.qubes.find((q) => q.name === "work")!;
    expect(work.volumes.map((v) => v.name).sort()).toEqual(["private.img"]);
    // qvm-backup cuts each file's inner stream into 1 MiB chunks here (an exact multiple gets one empty chunk more).
    const streamBytes = Number(work.volumes[0]!.streamBytes);
    expect(streamBytes).toBeGreaterThan(MiB);
    expect(work.volumes[0]!.chunks).toBe(Math.floor(streamBytes / MiB) + 1);

    const chunks: Buffer[] = [];
    const out = new Writable({ write: (c, _e, cb) => (chunks.push(c as Buffer), cb()) });
    const d = await runDump(db, { repository: "default", snapshot: r2.ingest.snapshotId.slice(0, 8), output: out });
    expect(d.streamSha256).toBe(b.sha256);
    expect(crypto.createHash("sha256").update(Buffer.concat(chunks)).digest("hex")).toBe(b.sha256);
    // the dump job carries its progress like an ingest: bytes written of the stream's recorded size
    const job = await db.prisma.job.findFirstOrThrow({ where: { kind: "dump" }, orderBy: { id: "desc" } });
    expect([job.status, job.bytesDone, job.bytesExpected]).toEqual(["succeeded", BigInt(b.bytes), BigInt(b.bytes)]);
  }, 180_000);

  it("records a failed job and no snapshot row for a truncated stream", async () => {
    const a = await makeBackupStreamFile(dir, { seed: "svc-cut", qubes: QUBES, chunkSize: MiB, passphrase: PASS, env: env() });
    const cut = path.join(dir, "cut");
    fs.writeFileSync(cut, fs.readFileSync(a.file).subarray(0, 3 * MiB + 123));
    const before = await db.prisma.snapshot.count();
    await expect(runBackup(db, { repository: "default", input: fs.createReadStream(cut) })).rejects.toThrow(/ended after 3145851 bytes/);
    expect(await db.prisma.snapshot.count()).toBe(before);
    const job = await db.prisma.job.findFirstOrThrow({ orderBy: { id: "desc" } });
    expect(job.status).toBe("failed");
    expect(job.error).toMatch(/ended after 3145851 bytes/);
  }, 120_000);

  it("refuses an unknown repository and an ambiguous name with sentences that say what to do", async () => {
    await expect(runBackup(db, { repository: "nope", input: fs.createReadStream("/dev/null") })).rejects.toThrow(ServiceError);
    await expect(addRepository(db, { name: "Bad Name", engine: "restic", location: dir, passwordFile: path.join(dir, "pass") })).rejects.toThrow(
      'invalid repository name "Bad Name"',
    );
    await expect(addRepository(db, { name: "x", engine: "restic", location: dir, passwordFile: path.join(dir, "missing") })).rejects.toThrow(
      /cannot read the password file .*missing: create it/,
    );
  });

  it("refuses an empty password file and a non-empty directory that is not a repository, creating nothing", async () => {
    fs.writeFileSync(path.join(dir, "empty-pass"), "\n");
    await expect(addRepository(db, { name: "e", engine: "restic", location: path.join(dir, "new"), passwordFile: path.join(dir, "empty-pass") })).rejects.toThrow(
      `the password file ${path.join(dir, "empty-pass")} is empty: put the repository password on its first line.`,
    );
    expect(fs.existsSync(path.join(dir, "new"))).toBe(false);
    const docs = path.join(dir, "docs");
    fs.mkdirSync(docs);
    fs.writeFileSync(path.join(docs, "letter.txt"), "keep me\n");
    await expect(addRepository(db, { name: "d", engine: "restic", location: docs, passwordFile: path.join(dir, "pass") })).rejects.toThrow(
      `${docs} holds files but no restic repository: give an empty or new directory, or the path of an existing repository.`,
    );
    expect(fs.readdirSync(docs)).toEqual(["letter.txt"]);
    expect(await db.prisma.repository.count({ where: { name: { in: ["e", "d"] } } })).toBe(0);
  }, 60_000);

  it("marks a running job whose process is gone as failed", async () => {
    const repo = await db.prisma.repository.findFirstOrThrow();
    const dead = await db.prisma.job.create({ data: { repositoryId: repo.id, kind: "backup", status: "running", pid: 2 ** 22 + 1 } });
    expect(await failAbandonedJobs(db)).toBeGreaterThanOrEqual(1);
    const job = await db.prisma.job.findUniqueOrThrow({ where: { id: dead.id } });
    expect(job.status).toBe("failed");
    expect(job.error).toMatch(/stopped before it finished/);
  });
});
