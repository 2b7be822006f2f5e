// A data snapshot without its side record (a run killed between its two
// snapshots) is not a backup: listings, `latest` and dump skip it, a
// reference to it is refused with the reason, and removeIncompleteRuns
// forgets it and nothing else. borg checkpoint archives of a run are
// incomplete runs too. Stop signals before the side record is stored cancel.
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { DumpError, IngestError, dataSnapshotsOf, dump, incompleteRunsOf, ingest, listDataSnapshots, readSnapshotInfo, removeIncompleteRuns, type Engine, type EngineSnapshot } from "../src/index.ts";
import { makeStream, smallSystem } from "./helpers/make-stream.ts";
import { tmpDir } from "@qubes-dedup/qubes-sim/testing";
import { Sink, fileStream, freshRepo } from "./helpers/repo.ts";

const snap = (id: string, tags: string[], t = 0): EngineSnapshot => ({ id, time: new Date(t), tags, paths: [] });

describe("incompleteRunsOf / dataSnapshotsOf (borg archive names as tags)", () => {
  const run = (r: string, kind: string) => snap(`qubes-dedup,qd-run:${r},${kind}`, ["qubes-dedup", `qd-run:${r}`, kind]);
  const all = [
    run("a", "qd-data"), run("a", "qd-side"), // complete
    run("b", "qd-data"), // killed before its side record
    run("c", "qd-side"), // side record whose data was forgotten
    run("d", "qd-data.checkpoint"), // borg checkpoint of a killed run
    snap("qubes-dedup,legacy", ["qubes-dedup", "legacy"]), // a legacy single-file backup
  ];
  it("lists complete runs and legacy snapshots as backups, every other snapshot of a run as incomplete", () => {
    expect(dataSnapshotsOf(all).map((s) => s.id)).toEqual(["qubes-dedup,qd-run:a,qd-data", "qubes-dedup,legacy"]);
    expect(incompleteRunsOf(all).map((s) => s.id)).toEqual(["qubes-dedup,qd-run:b,qd-data", "qubes-dedup,qd-run:c,qd-side", "qubes-dedup,qd-run:d,qd-data.checkpoint"]);
  });

  it("per-qube layout: a complete run's data parts go with it, a run without data is its one snapshot, a killed run's parts are incomplete", () => {
    const multi = (r: string, ...tags: string[]) => snap(`qubes-dedup,qd-run:${r},${tags.join(",")}`, ["qubes-dedup", `qd-run:${r}`, ...tags]);
    const layout = [
      multi("e", "qd-data"), multi("e", "qd-part:1"), multi("e", "qd-part:2"), multi("e", "qd-side"), // complete, three qubes with data
      multi("f", "qd-data", "qd-side"), // complete, no data (only dom0's settings)
      multi("g", "qd-data"), multi("g", "qd-part:1"), // killed before its side record
      multi("h", "qd-data"), multi("h", "qd-part:1.checkpoint"), // borg checkpoint of a killed run's part
    ];
    expect(dataSnapshotsOf(layout).map((s) => s.id)).toEqual(["qubes-dedup,qd-run:e,qd-data", "qubes-dedup,qd-run:f,qd-data,qd-side"]);
    expect(incompleteRunsOf(layout).map((s) => s.id)).toEqual(["qubes-dedup,qd-run:g,qd-data", "qubes-dedup,qd-run:g,qd-part:1", "qubes-dedup,qd-run:h,qd-data", "qubes-dedup,qd-run:h,qd-part:1.checkpoint"]);
  });
});

/** Two complete backups and, newest, a run whose side record is gone (as after a SIGKILL between the two snapshots). */
async function withOrphan(): Promise<{ engine: Engine; good: string[]; orphan: string; stream: string }> {
  const { engine } = await freshRepo("restic");
  const stream = makeStream(tmpDir("orphan"), { qubes: smallSystem("orphan", 256 * 1024), chunkSize: 65536 });
  const good = [(await ingest(fileStream(stream), engine)).snapshotId, (await ingest(fileStream(stream), engine)).snapshotId];
  const third = await ingest(fileStream(stream), engine);
  await engine.forget([third.sideSnapshotId]);
  return { engine, good, orphan: third.snapshotId, stream };
}

describe("restic: a data snapshot without its side record", () => {
  it("is not listed, not latest, refused by dump and readSnapshotInfo with the reason, and removed by removeIncompleteRuns alone", async () => {
    const { engine, good, orphan, stream } = await withOrphan();
    expect((await listDataSnapshots(engine)).map((s) => s.id)).toEqual(good);
    const sink = new Sink();
    await dump(engine, "latest", sink);
    expect(sink.bytes().equals(fs.readFileSync(stream))).toBe(true);
    expect((await readSnapshotInfo(engine, "latest")).snapshotId).toBe(good[1]);
    const reason = `snapshot ${orphan} in ${engine.repo.location} is not a backup: its run was interrupted before its side record was stored, so the stream cannot be rebuilt; restore another backup (see qubes-dedup snapshots), the next backup removes it.`;
    await expect(dump(engine, orphan.slice(0, 8), new Sink())).rejects.toThrow(new DumpError(reason));
    await expect(readSnapshotInfo(engine, orphan)).rejects.toThrow(reason);
    // the orphan's run: its data snapshot and its further data part (one per qube with data)
    const all = await engine.snapshots();
    const run = all.find((s) => s.id === orphan)!.tags.find((t) => t.startsWith("qd-run:"))!;
    const ofRun = all.filter((s) => s.tags.includes(run)).map((s) => s.id);
    expect(ofRun).toHaveLength(2);
    expect((await removeIncompleteRuns(engine)).map((s) => s.id).sort()).toEqual(ofRun.sort());
    expect((await engine.snapshots()).filter((s) => s.tags.includes("qd-data")).map((s) => s.id)).toEqual(good);
    await engine.check();
  }, 180_000);

  it("a stop signal while the side record is stored cancels the run: IngestError, nothing of it left", async () => {
    const { engine } = await freshRepo("restic");
    const stream = makeStream(tmpDir("orphan"), { qubes: smallSystem("sigterm", 256 * 1024), chunkSize: 65536 });
    const ac = new AbortController();
    // the signal comes once the data snapshot is stored: the moment the stream has been read in full
    const late = Object.create(engine) as Engine;
    late.backupStdin = (o) => {
      const b = engine.backupStdin(o);
      if (o.tags.includes("qd-data")) void b.done.then(() => ac.abort(), () => {});
      return b;
    };
    const err = await ingest(fileStream(stream), late, { signal: ac.signal }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IngestError);
    expect((err as Error).message).toMatch(/^the backup was cancelled after \d+ bytes; nothing was stored\.$/);
    expect(await engine.snapshots()).toEqual([]);
  }, 120_000);
});
