import { beforeAll, describe, expect, it } from "vitest";
import { cli, makeStream, scratch, type Scratch } from "./harness.ts";

// Restore points from the index of real restic snapshots: a full backup of
// a simulated dom0, then one of `work` alone (a changed-only run sends only
// the changed qubes), so the newest point takes work from the second
// snapshot and the others from the first.

interface PointJson {
  backupId: string;
  shortId: string;
  time: string;
  snapshots: number;
  qubes: { name: string; backupId: string; shortId: string; time: string; ageSeconds: number; bytes: number }[];
}

describe("qubes-dedup restore-points", () => {
  let s: Scratch;
  let snaps: { shortId: string; backupId: string; time: string }[];

  beforeAll(async () => {
    s = scratch();
    const add = await cli(s, ["repo", "add", "default", "--engine", "restic", "--location", s.repo, "--password-file", s.passwordFile]);
    expect(add.status).toBe(0);
    for (const select of [[], ["work"]]) {
      const r = await cli(s, ["ingest"], { inputFile: makeStream(s.dir, "points", undefined, select).file });
      expect(r.status, r.stderr).toBe(0);
    }
    snaps = JSON.parse((await cli(s, ["snapshots", "--json"])).stdout.toString()) as typeof snaps;
    expect(snaps).toHaveLength(2);
  }, 180_000);

  it("--json: newest first, each qube from its latest snapshot at or before the point, with the age of its data", async () => {
    const r = await cli(s, ["restore-points", "--json"]);
    expect(r.status).toBe(0);
    const [second, first] = JSON.parse(r.stdout.toString()) as PointJson[];
    const [s1, s2] = snaps as [(typeof snaps)[0], (typeof snaps)[0]];
    const gap = (Date.parse(s2.time) - Date.parse(s1.time)) / 1000;
    expect(gap).toBeGreaterThan(0);
    expect(second!.backupId).toBe(s2.backupId);
    expect(second!.snapshots).toBe(2);
    // qubes.xml lists dom0, the template and work: the point holds all three
    expect(second!.qubes.map((q) => [q.name, q.shortId, q.ageSeconds])).toEqual([
      ["dom0", s1.shortId, gap],
      ["fedora-41", s1.shortId, gap],
      ["work", s2.shortId, 0],
    ]);
    expect(first!.backupId).toBe(s1.backupId);
    expect(first!.snapshots).toBe(1);
    expect(first!.qubes.map((q) => [q.name, q.shortId, q.ageSeconds])).toEqual([
      ["dom0", s1.shortId, 0],
      ["fedora-41", s1.shortId, 0],
      ["work", s1.shortId, 0],
    ]);
    expect(second!.qubes.find((q) => q.name === "work")!.bytes).toBe(first!.qubes.find((q) => q.name === "work")!.bytes);
  });

  it("prints one block per point and one line per qube", async () => {
    const r = await cli(s, ["restore-points"]);
    expect(r.status).toBe(0);
    const [s1, s2] = snaps as [(typeof snaps)[0], (typeof snaps)[0]];
    const lines = r.stdout.toString().split("\n");
    expect(lines[0]).toBe(`${s2.backupId}  ${s2.time.slice(0, 19).replace("T", " ")}  3 qube(s) from 2 snapshot(s)`);
    expect(lines[3]).toBe(`  ${"work".padEnd(32)}${s2.shortId.padEnd(10)}this backup`);
    expect(lines[1]).toMatch(new RegExp(`^  dom0 {28}${s1.shortId}  \\d+ s older$`));
    expect((await cli(s, ["restore-points", "extra"])).stderr).toContain("restore-points takes no arguments");
  });
});
