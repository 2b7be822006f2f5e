import { describe, expect, it } from "vitest";
import { backupTaskInput, progressFigures, qubeNameSchema, restoreTaskInput, snapshotRefSchema } from "../src/index.ts";

describe("request input grammar", () => {
  it("accepts Qubes qube names and restic/borg snapshot ids", () => {
    for (const n of ["work", "sys-net", "disp1234", "a", "My_Vm.2", "x".repeat(31)]) expect(qubeNameSchema.safeParse(n).success).toBe(true);
    for (const s of ["a1b2c3d4", "f".repeat(64), "qubes-dedup-20261130T051200-4242"]) expect(snapshotRefSchema.safeParse(s).success).toBe(true);
  });

  it("refuses shell metacharacters, newlines, overlong names, traversal and reserved names", () => {
    const hostile = ["work;rm -rf /", "$(id)", "`id`", "a b", "work\nvault", "../etc", "x".repeat(32), "-rf", "1abc", "", "none", "sys-net-dm", "a|b", "a>b"];
    for (const n of hostile) expect(qubeNameSchema.safeParse(n).success, n).toBe(false);
    for (const s of ["../../x", "abc;ls", "-latest", "a\n", "x".repeat(129), "a b"]) expect(snapshotRefSchema.safeParse(s).success, s).toBe(false);
  });

  it("refuses unknown options and conflicts other than rename/skip", () => {
    expect(restoreTaskInput.safeParse({ repository: "default", snapshot: "a1b2c3d4", conflicts: "overwrite" }).success).toBe(false);
    expect(restoreTaskInput.parse({ repository: "default", snapshot: "a1b2c3d4" })).toEqual({
      repository: "default",
      snapshot: "a1b2c3d4",
      qubes: [],
      verifyOnly: false,
      paranoid: false,
    });
    expect(backupTaskInput.safeParse({ repository: "Default!", qubes: [] }).success).toBe(false);
    expect(backupTaskInput.safeParse({ repository: "default", qubes: Array(101).fill("work") }).success).toBe(false);
  });
});

describe("progressFigures", () => {
  it("takes percent from the ingest job's bytes and expected size, with rate and ETA", () => {
    expect(progressFigures({ bytesDone: 250n, bytesExpected: 1000n, elapsedSeconds: 5 }, 3)).toEqual({
      percent: 25,
      bytesDone: 250,
      bytesExpected: 1000,
      bytesPerSecond: 50,
      etaSeconds: 15,
    });
  });

  it("caps at 100 % when the framing makes the stream exceed backup-size", () => {
    expect(progressFigures({ bytesDone: 1100n, bytesExpected: 1000n, elapsedSeconds: 1 }, null)).toMatchObject({ percent: 100, etaSeconds: 0 });
  });

  it("falls back to the request's percent before the expected size is known, and without a job", () => {
    expect(progressFigures({ bytesDone: 0n, bytesExpected: null, elapsedSeconds: 0 }, 12.5)).toMatchObject({ percent: 12.5, bytesPerSecond: null, etaSeconds: null });
    expect(progressFigures(null, null)).toEqual({ percent: null, bytesDone: null, bytesExpected: null, bytesPerSecond: null, etaSeconds: null });
  });
});
