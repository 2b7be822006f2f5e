import { describe, expect, it } from "vitest";
import { LedgerRefusal } from "../src/ledger/choose.ts";
import { pointConfirmation, pointQubes, pointRuns, restorePointAt, restorePoints } from "../src/ledger/point.ts";
import type { LedgerRecord } from "../src/ledger/record.ts";

const tag = "0".repeat(64);

/** A ledger record holding `qubes` ([name, uses]) and dom0's list of qubes then. */
function record(backupId: string, recorded: string, qubes: [string, string[]][], listed?: string[]): LedgerRecord {
  return {
    format: "qubes-dedup-ledger/1",
    backupId,
    recorded,
    qubesXml: { bytes: 10240, tag },
    qubes: qubes.map(([name, uses], i) => ({ name, path: `vm${i + 1}/`, size: 1, files: [{ name: "private.img", bytes: 1, chunks: [tag] }], uses })),
    ...(listed ? { listed } : {}),
  };
}

const B1 = "20261201T100000-1";
const B2 = "20261202T100000-2";
const B3 = "20261203T100000-3";
const ledger = [
  record(B1, "2026-12-01T10:00:09.000Z", [["fedora-41", []], ["sys-net", ["fedora-41"]], ["work", ["fedora-41", "sys-net"]], ["old", ["fedora-41"]]], ["dom0", "fedora-41", "sys-net", "work", "old"]),
  // a template update: the template alone
  record(B2, "2026-12-02T10:00:09.000Z", [["fedora-41", []]], ["dom0", "fedora-41", "sys-net", "work", "old"]),
  // old was removed meanwhile; vault is new
  record(B3, "2026-12-03T10:00:09.000Z", [["vault", ["fedora-41", "sys-net"]]], ["dom0", "fedora-41", "sys-net", "work", "vault"]),
];

describe("restore points from dom0's ledger", () => {
  it("takes each qube's latest backup at or before the point, and only the qubes dom0 had then", () => {
    const p = restorePointAt(ledger, "latest");
    expect(p.backupId).toBe(B3);
    expect(p.qubes.map((q) => [q.name, q.backupId])).toEqual([
      ["fedora-41", B2],
      ["sys-net", B1],
      ["work", B1],
      ["vault", B3],
    ]);
    expect(restorePointAt(ledger, B2).qubes.map((q) => [q.name, q.backupId])).toEqual([
      ["fedora-41", B2],
      ["sys-net", B1],
      ["work", B1],
      ["old", B1],
    ]);
    // a time: the last backup recorded at or before it
    expect(restorePointAt(ledger, "2026-12-02T23:59:59Z").backupId).toBe(B2);
    expect(restorePoints(ledger).map((x) => x.backupId)).toEqual([B1, B2, B3]);
  });

  it("orders the runs so templates and net qubes come first, one run per backup", () => {
    const p = restorePointAt(ledger, "latest");
    expect(pointRuns(pointQubes(p, []))).toEqual([
      { backupId: B2, qubes: ["fedora-41"] },
      { backupId: B1, qubes: ["sys-net", "work"] },
      { backupId: B3, qubes: ["vault"] },
    ]);
    expect(pointRuns(pointQubes(p, ["vault", "work"]))).toEqual([
      { backupId: B1, qubes: ["work"] },
      { backupId: B3, qubes: ["vault"] },
    ]);
  });

  it("splits backups that need each other into more runs", () => {
    // backup X holds template t1 and app a2 (uses t2); backup Y holds t2 and a1 (uses t1)
    const X = "20261201T100000-7";
    const Y = "20261202T100000-8";
    const crossed = [record(X, "2026-12-01T10:00:09.000Z", [["t1", []], ["a2", ["t2"]]]), record(Y, "2026-12-02T10:00:09.000Z", [["t2", []], ["a1", ["t1"]]])];
    const runs = pointRuns(pointQubes(restorePointAt(crossed, "latest"), []));
    expect(runs).toEqual([
      { backupId: X, qubes: ["t1"] },
      { backupId: Y, qubes: ["t2", "a1"] },
      { backupId: X, qubes: ["a2"] },
    ]);
  });

  it("lists every qube and the date of its data in one confirmation", () => {
    const p = restorePointAt(ledger, "latest");
    const qubes = pointQubes(p, ["work", "fedora-41"]);
    expect(pointConfirmation(p, pointRuns(qubes), qubes, "main")).toBe(
      [
        `Restore 2 qube(s) of the restore point of backup ${B3} (made 2026-12-03 10:00:00) from repository main, in 2 run(s) of qvm-backup-restore?`,
        `  fedora-41: data of 2026-12-02 10:00:00 (backup ${B2})`,
        `  work: data of 2026-12-01 10:00:00 (backup ${B1})`,
      ].join("\n"),
    );
  });

  it("refuses what the ledger does not hold, in one sentence", () => {
    expect(() => restorePointAt([], "latest")).toThrow(new LedgerRefusal("dom0's ledger records no backup yet, so there is no restore point; make a backup first."));
    expect(() => restorePointAt(ledger, "20261130T100000-9")).toThrow("backup 20261130T100000-9 is not in dom0's ledger, so it marks no restore point");
    expect(() => restorePointAt(ledger, "2026-11-30T00:00:00Z")).toThrow(`dom0's ledger records no backup at or before 2026-11-30T00:00:00Z (the first is ${B1}, recorded 2026-12-01T10:00:09.000Z); choose a later time.`);
    expect(() => pointQubes(restorePointAt(ledger, "latest"), ["old"])).toThrow(`qube old is in no backup of restore point ${B3} according to dom0's ledger`);
  });
});
