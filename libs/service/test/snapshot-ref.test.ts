import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "@qubes-dedup/db";
import { findSnapshot, resolveSnapshotRef, ServiceError } from "../src/index.ts";
import { removeTemplate, seedTwoSnapshots, tempDatabase } from "./seed.ts";

const RESTIC_A = "3f9a1c2be4d5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f";
const RESTIC_B = "3f9a1c2b77777777777777777777777777777777777777777777777777777777";
const BORG = "qubes-dedup,qd-run:20261130T051200000Z-1a2b3c4d,qd-data";

let db: Database & { dir: string };
/** db ids by engine id, filled in beforeAll. */
const ids: Record<string, number> = {};

beforeAll(async () => {
  db = await tempDatabase();
  // seed: "default" (restic) holds aaaa1111 (older) and bbbb2222 (newer); "offsite" (borg) is empty.
  const repo = await seedTwoSnapshots(db);
  const offsite = await db.prisma.repository.findUniqueOrThrow({ where: { name: "offsite" } });
  const row = (repositoryId: number, engineSnapshotId: string, createdAt: string) =>
    db.prisma.snapshot.create({
      data: {
        repositoryId, engineSnapshotId, backupId: "b", createdAt: new Date(createdAt), logicalBytes: 1n, addedBytes: 1n,
        repositoryBytes: 1n, streamSha256: "00".repeat(32), compressed: false, durationSeconds: 1,
      },
    });
  await row(repo.id, RESTIC_A, "2026-10-01T00:00:00Z");
  await row(repo.id, RESTIC_B, "2026-10-02T00:00:00Z");
  await row(offsite.id, BORG, "2026-12-01T00:00:00Z");
  for (const s of await db.prisma.snapshot.findMany()) ids[s.engineSnapshotId] = s.id;
}, 60_000);
afterAll(async () => {
  await db.close();
  fs.rmSync(db.dir, { recursive: true, force: true });
  await removeTemplate();
});

describe("resolveSnapshotRef: the pipeline's rule set (dump) over the index, for the CLI and /snapshots/<ref>", () => {
  // [reference, scope (repository name or all), expected: engine id | "none" | ambiguous count]
  const table: [string, "default" | "offsite" | "all", string | { ambiguous: number } | "none"][] = [
    ["latest", "all", BORG],
    ["latest", "default", "bbbb2222"],
    [RESTIC_A, "default", RESTIC_A],
    [BORG, "offsite", BORG],
    [BORG, "default", "none"],
    ["3f9a1c2be4d5", "default", RESTIC_A],
    ["3F9A1C2BE4D5", "default", RESTIC_A],
    ["3f9a1c2b", "default", { ambiguous: 2 }],
    ["3f9a1c2", "default", { ambiguous: 2 }], // any unique start counts, as in restic
    ["aaaa1111", "default", "aaaa1111"],
    ["  bbbb2222 ", "default", "bbbb2222"],
    ["qubes-de", "offsite", BORG], // the only archive there starts so
    ["qubes-de", "all", BORG],
    ["1a2b3c4d", "offsite", BORG], // borg's short id: the run id's random part
    ["1a2b", "all", BORG],
    ["1a2b3c4d", "default", "none"],
    ["3f9a1c2c", "default", "none"],
    ["0", "all", "none"],
    ["99999", "all", "none"],
    ["", "all", "none"],
    ["latest", "offsite", BORG],
  ];
  it.each(table)("%j in %s → %j", async (ref, scope, want) => {
    const repositoryId = scope === "all" ? undefined : (await db.prisma.repository.findUniqueOrThrow({ where: { name: scope } })).id;
    const got = await resolveSnapshotRef(db, ref, { repositoryId });
    if (want === "none") expect(got).toEqual({ none: true });
    else if (typeof want === "object") expect(got).toEqual(want);
    else expect(got).toEqual({ id: ids[want] });
  });

  it("takes a db id, in scope only, and prefers an engine id that looks like digits", async () => {
    const borgId = ids[BORG]!;
    expect(await resolveSnapshotRef(db, String(borgId))).toEqual({ id: borgId });
    const offsite = await db.prisma.repository.findUniqueOrThrow({ where: { name: "offsite" } });
    expect(await resolveSnapshotRef(db, String(ids.aaaa1111), { repositoryId: offsite.id })).toEqual({ none: true });
    const repo = await db.prisma.repository.findUniqueOrThrow({ where: { name: "default" } });
    const digits = await db.prisma.snapshot.create({
      data: {
        repositoryId: repo.id, engineSnapshotId: `${borgId}`.padStart(8, "0") + "1".repeat(56), backupId: "b", createdAt: new Date("2026-01-01T00:00:00Z"),
        logicalBytes: 1n, addedBytes: 1n, repositoryBytes: 1n, streamSha256: "00".repeat(32), compressed: false, durationSeconds: 1,
      },
    });
    expect(await resolveSnapshotRef(db, `${borgId}`.padStart(8, "0"))).toEqual({ id: digits.id });
    await db.prisma.snapshot.delete({ where: { id: digits.id } });
  });

  it("findSnapshot (dump's lookup) returns the row, undefined for unknown references, and refuses an ambiguous prefix", async () => {
    const repo = await db.prisma.repository.findUniqueOrThrow({ where: { name: "default" } });
    expect((await findSnapshot(db, repo.id, "3f9a1c2be4"))?.engineSnapshotId).toBe(RESTIC_A);
    expect((await findSnapshot(db, repo.id, "latest"))?.engineSnapshotId).toBe("bbbb2222");
    expect(await findSnapshot(db, repo.id, "cafebabe")).toBeUndefined();
    await expect(findSnapshot(db, repo.id, "3f9a1c2b")).rejects.toThrow(ServiceError);
    await expect(findSnapshot(db, repo.id, "3f9a1c2b")).rejects.toThrow('snapshot "3f9a1c2b" is ambiguous: give more characters of its id (see "qubes-dedup snapshots").');
  });
});
