import { describe, expect, it } from "vitest";
import { borgCheckProgress, lineSplitter, resticCheckReader, withoutStatusFragments } from "../src/engine/check-progress.ts";

// What restic 0.14 and borg 1.2.4 printed for `check` on a pipe (RESTIC_PROGRESS_FPS=4; borg --progress).
const RESTIC = `using temporary cache in /tmp/restic-check-cache-1041271904
create exclusive lock for repository
load indexes
check all packs
check snapshots, trees and blobs
[0:00] 100.00%  6 / 6 snapshots

read 100.0% of data packs
[0:00] 90.00%  9 / 10 packs
[1:02:03] 100.00%  10 / 10 packs

no errors were found
`;
const BORG = "Checking segments 0.0%\rChecking segments 5.6%\r\rVerifying data   8.33%\rChecking archives 75.0%\r\rsegment 3 is damaged\n";

describe("check progress as the engines print it", () => {
  it("reads restic's status lines under their step", () => {
    const read = resticCheckReader();
    const seen = RESTIC.split("\n").map(read).filter(Boolean);
    expect(seen).toEqual([
      { step: "check snapshots, trees and blobs", percent: 100, done: 6, total: 6, unit: "snapshots" },
      { step: "read 100.0% of data packs", percent: 90, done: 9, total: 10, unit: "packs" },
      { step: "read 100.0% of data packs", percent: 100, done: 10, total: 10, unit: "packs" },
    ]);
  });

  it("reads borg's carriage-return fragments, split across chunks, and leaves its error text plain", () => {
    const seen: unknown[] = [];
    const feed = lineSplitter((l) => {
      const p = borgCheckProgress(l);
      if (p) seen.push([p.step, p.percent]);
    });
    for (let i = 0; i < BORG.length; i += 7) feed(BORG.slice(i, i + 7));
    expect(seen).toEqual([["Checking segments", 0], ["Checking segments", 5.6], ["Verifying data", 8.33], ["Checking archives", 75]]);
    expect(withoutStatusFragments(BORG)).toBe("segment 3 is damaged\n");
    expect(borgCheckProgress("segment 3 is damaged")).toBeNull();
  });
});
