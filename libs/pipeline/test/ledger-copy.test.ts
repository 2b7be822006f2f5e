import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { tmpDir } from "@qubes-dedup/qubes-sim/testing";
import { dataSnapshotsOf, headerFilesOf, incompleteRunsOf, isDataSnapshot, ledgerCopiesOf, type EngineSnapshot } from "../src/index.ts";
import { makeStream, smallSystem } from "./helpers/make-stream.ts";
import { ledgerCopyTags } from "../src/layout/ledger-copy.ts";

// dom0's ledger copies are snapshots of their own that no rule for backups takes for one.

const at = (t: number) => new Date(Date.UTC(2026, 11, 2, 0, 0, t));
/** A borg archive as engine.snapshots() lists it: its name is its tags, no paths. */
const borg = (tags: string[], t: number): EngineSnapshot => ({ id: tags.join(","), time: at(t), tags, paths: [] });
const restic = (tags: string[], t: number): EngineSnapshot => ({ id: `${t}`.padStart(64, "0"), time: at(t), tags, paths: ["/qubes-dedup.ledger"] });

describe("ledger copies in a repository", () => {
  const run = "qubes-dedup,qd-run:20261202T000000000Z-0a1b2c3d";
  const backup = [borg([...run.split(","), "qd-data"], 1), borg([...run.split(","), "qd-side"], 2)];
  it("are never backups, incomplete runs or legacy snapshots, with restic or borg", () => {
    for (const make of [borg, restic]) {
      const copies = [make(ledgerCopyTags(1, "20261202T000001000Z-00000001"), 3), make(ledgerCopyTags(2, "20261202T000002000Z-00000002"), 4)];
      const all = [...backup, ...copies];
      expect(copies.some(isDataSnapshot)).toBe(false);
      expect(dataSnapshotsOf(all)).toEqual([backup[0]]);
      expect(incompleteRunsOf(all)).toEqual([]);
    }
  });
  it("are listed highest claimed sequence first, then newest; snapshots without a sequence tag are not copies", () => {
    const one = borg(ledgerCopyTags(1, "r1"), 9);
    const two = borg(ledgerCopyTags(2, "r2"), 5);
    const twoAgain = borg(ledgerCopyTags(2, "r3"), 6);
    const bad = borg(["qd-ledger", "qd-seq:x", "qd-run:r4"], 10);
    expect(ledgerCopiesOf([...backup, one, two, twoAgain, bad])).toEqual([twoAgain, two, one]);
  });
});

describe("the header files a rebuild authenticates", () => {
  it("are the first two members of the stream, read from its start alone", () => {
    // this stream's .hmac is a copy of the header (the helper's stand-in for scrypt)
    const stream = fs.readFileSync(makeStream(tmpDir("pipeline"), { qubes: smallSystem("ledger"), backupId: "20261202T000000-42" }));
    const files = headerFilesOf(stream.subarray(0, 40960))!;
    expect(files.header.toString()).toMatch(/^version=4\n[\s\S]*backup-id=20261202T000000-42\n$/);
    expect(files.hmac).toEqual(files.header);
    expect(headerFilesOf(Buffer.alloc(1024))).toBeUndefined();
    expect(headerFilesOf(stream.subarray(0, 512))).toBeUndefined();
  });
});
