// Snapshot references, against real restic and borg: what dump and
// readSnapshotInfo accept (latest, ids, short ids, unique starts), what they
// refuse in one sentence, and the ingest summary a side record keeps.
import crypto from "node:crypto";
import fs from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { dump, ingest, listDataSnapshots, matchSnapshotRef, readSnapshotInfo, resolveSnapshot, shortSnapshotId, type Engine, type EngineKind, type EngineSnapshot, type IngestResult } from "../src/index.ts";
import { SideRecordBuilder } from "../src/layout/side-record.ts";
import { makeStream, smallSystem } from "./helpers/make-stream.ts";
import { tmpDir } from "@qubes-dedup/qubes-sim/testing";
import { Sink, fileStream, freshRepo } from "./helpers/repo.ts";

const streamFile = makeStream(tmpDir("pipeline"), { qubes: smallSystem("snapshot-refs", 3 << 20), chunkSize: 1 << 20 });
const sha256 = (b: Buffer) => crypto.createHash("sha256").update(b).digest("hex");
const unknown = (ref: string, location: string) => `there is no backup "${ref}" in ${location}; give the id of one, or a unique start of it (4 characters or more), or latest (see qubes-dedup snapshots).`;
const ambiguous = (ref: string, location: string, n: number) => `the snapshot reference "${ref}" is ambiguous in ${location} (it starts ${n} backups' ids); give more characters of the id (see qubes-dedup snapshots).`;

describe.each(["restic", "borg"] as EngineKind[])("%s", (kind) => {
  let engine: Engine;
  let snapshotId: string;
  let result: IngestResult;
  beforeAll(async () => {
    ({ engine } = await freshRepo(kind));
    result = await ingest(fileStream(streamFile), engine);
    snapshotId = result.snapshotId;
  }, 60_000);

  it("resolves references among backups only: latest, prefixes; a side record's id is unknown", async () => {
    const sink = new Sink();
    await dump(engine, "latest", sink);
    expect(sink.bytes().equals(fs.readFileSync(streamFile))).toBe(true);
    const all = await engine.snapshots();
    const data = await listDataSnapshots(engine);
    expect(data.map((s) => s.id)).toEqual([snapshotId]);
    const side = all.find((s) => s.tags.includes("qd-side"))!;
    let n = 1;
    while (snapshotId.startsWith(side.id.slice(0, n))) n++;
    const ref = side.id.slice(0, n);
    await expect(dump(engine, ref, new Sink())).rejects.toThrow(unknown(ref, engine.repo.location));
    // a backup is a data snapshot with its side record (same run tag)
    const two = [data[0]!, { ...data[0]!, id: `${snapshotId}x` }, side];
    expect(() => resolveSnapshot(two, snapshotId.slice(0, 4), { engine: kind, location: "R" })).toThrow(ambiguous(snapshotId.slice(0, 4), "R", 2));
  }, 60_000);

  it("keeps the ingest summary in the side record; older side records read as partial", async () => {
    const r = result;
    const info = await readSnapshotInfo(engine, r.snapshotId.slice(0, 12));
    expect(info.snapshotId).toBe(r.snapshotId);
    expect(info.time).toBeInstanceOf(Date);
    const { partial, createdAt, durationSeconds, ...rest } = info.summary;
    expect(partial).toBe(false);
    expect(rest).toEqual({ backupId: r.backupId, qubes: r.qubes, listed: r.listed, compressed: r.compressed, warnings: r.warnings, logicalBytes: r.logicalBytes, streamSha256: r.streamSha256 });
    expect(new Date(createdAt!).toISOString()).toBe(createdAt);
    expect(durationSeconds).toBeGreaterThan(0);
    expect(durationSeconds).toBeLessThanOrEqual(r.durationSeconds);
    // a run stored before summaries were kept: a side record with the old meta
    const old = new SideRecordBuilder(() => {}).finish({ format: 1, backupId: "20240101T000000-1", streamSha256: "a".repeat(64), logicalBytes: 5, dataBytes: 0 });
    for (const [file, tag, bytes] of [["qubes-backup.data", "qd-data", Buffer.from("x")], ["qubes-backup.side", "qd-side", old]] as const) {
      const b = engine.backupStdin({ filename: file, tags: ["qubes-dedup", "qd-run:old", tag] });
      b.stdin.end(bytes);
      await b.done;
    }
    const data = await listDataSnapshots(engine);
    expect(data).toHaveLength(2);
    const oldId = data.find((s) => s.tags.includes("qd-run:old"))!.id;
    expect((await readSnapshotInfo(engine, oldId)).summary).toEqual({ partial: true, backupId: "20240101T000000-1", streamSha256: "a".repeat(64), logicalBytes: 5 });
  }, 60_000);

  it("dumps each of two backups by its short id, byte for byte; a shared start of the ids is ambiguous, another id unknown", async () => {
    const { engine: e } = await freshRepo(kind);
    const files = ["short-1", "short-2"].map((seed, i) => makeStream(tmpDir("pipeline"), { qubes: smallSystem(seed), chunkSize: 64 << 10, backupId: `20250301T00000${i}-1` }));
    const runs: IngestResult[] = [];
    for (const f of files) runs.push(await ingest(fileStream(f), e));
    const shorts = runs.map((r) => shortSnapshotId(kind, r.snapshotId));
    // restic's own short ids; for borg, the run id's random part (the archive names all start `qubes-dedup,`)
    for (const s of shorts) expect(s).toMatch(/^[0-9a-f]{8}$/);
    expect(shorts[0]).not.toBe(shorts[1]);
    if (kind === "restic") expect(shorts).toEqual(runs.map((r) => r.snapshotId.slice(0, 8)));
    else expect(runs.map((r) => r.snapshotId)).toEqual(shorts.map((s) => expect.stringMatching(new RegExp(`^qubes-dedup,qd-run:\\d{8}T\\d{9}Z-${s},qd-data$`))));
    for (const [i, r] of runs.entries()) {
      const want = sha256(fs.readFileSync(files[i]!));
      expect(r.streamSha256).toBe(want);
      for (const opts of [{}, { sideSnapshotId: r.sideSnapshotId }]) {
        const out = new Sink();
        const d = await dump(e, shorts[i]!, out, opts);
        expect(sha256(out.bytes())).toBe(want);
        expect(d.streamSha256).toBe(want);
      }
      expect((await readSnapshotInfo(e, shorts[i]!)).snapshotId).toBe(r.snapshotId);
    }
    const loc = e.repo.location;
    if (kind === "borg") await expect(dump(e, "qubes-de", new Sink())).rejects.toThrow(ambiguous("qubes-de", loc, 2));
    const other = shorts[0]!.startsWith("f") ? "e".repeat(8) : "f".repeat(8);
    await expect(dump(e, other, new Sink())).rejects.toThrow(unknown(other, loc));
  }, 120_000);
});

describe("shortSnapshotId", () => {
  const restic = "1a2b3c4d".padEnd(64, "e");
  const borg = "qubes-dedup,qd-run:20250501T120000123Z-3f9a0c1d,qd-data";
  it("is restic's 8-hex short id, or the random part of a borg archive's run id", () => {
    expect(shortSnapshotId("restic", restic)).toBe("1a2b3c4d");
    expect(shortSnapshotId("borg", borg)).toBe("3f9a0c1d");
    expect(shortSnapshotId("borg", borg.replace("qd-data", "qd-side"))).toBe("3f9a0c1d");
  });
  it("is a borg archive's run id when it is not one ingest made, and the whole name without one", () => {
    expect(shortSnapshotId("borg", "qubes-dedup,qd-run:old,qd-data")).toBe("old");
    expect(shortSnapshotId("borg", "qubes-dedup")).toBe("qubes-dedup");
  });
  it("resolves exactly, by a unique start, and refuses a short id two backups share", () => {
    const snap = (id: string): EngineSnapshot => ({ id, time: new Date(0), tags: id.split(","), paths: [] });
    const other = "qubes-dedup,qd-run:20250502T120000123Z-3f9b0000,qd-data";
    // a backup is a data archive with its side record
    const backup = (id: string) => [snap(id), snap(id.replace("qd-data", "qd-side"))];
    const all = [...backup(borg), ...backup(other)];
    const repo = { engine: "borg" as const, location: "R" };
    expect(resolveSnapshot(all, "3f9a0c1d", repo).id).toBe(borg);
    expect(resolveSnapshot(all, "3f9a", repo).id).toBe(borg);
    expect(resolveSnapshot(all, borg, repo).id).toBe(borg);
    expect(() => resolveSnapshot(all, "3f9", repo)).toThrow(unknown("3f9", "R")); // shorter than a start may be
    expect(() => resolveSnapshot([...all, ...backup(other.replace("3f9b0000", "3f9a0000"))], "3f9a", repo)).toThrow(ambiguous("3f9a", "R", 2));
    const twin = backup(borg.replace("20250501T120000123Z", "20250503T120000123Z"));
    expect(() => resolveSnapshot([...all, ...twin], "3f9a0c1d", repo)).toThrow(ambiguous("3f9a0c1d", "R", 2));
    expect(() => resolveSnapshot(all, "3f9a0c1e", repo)).toThrow(unknown("3f9a0c1e", "R"));
  });
});

describe("matchSnapshotRef by backup-id", () => {
  const at = (id: string, backupId: string, t: number) => ({ id, backupId, time: new Date(t) });
  const rows = [at("1a2b3c4d".padEnd(64, "0"), "20261201T100000-111", 1), at("20261202".padEnd(64, "a"), "20261202T100000-222", 2)];
  const short = (c: { id: string }) => c.id.slice(0, 8);
  const backupIdOf = (c: { backupId: string }) => c.backupId;
  it("names the snapshot with that backup-id, when the candidates' backup-ids are known", () => {
    expect(matchSnapshotRef(rows, "20261201T100000-111", short, backupIdOf)).toEqual({ match: rows[0] });
    expect(matchSnapshotRef([...rows, at("ffff".padEnd(64, "f"), "20261201T100000-111", 3)], "20261201T100000-111", short, backupIdOf)).toEqual({ ambiguous: 2 });
    expect(matchSnapshotRef(rows, "20261203T100000-333", short, backupIdOf)).toEqual({ none: true });
    // without backup-ids (an engine listing) it is just an unknown reference; other references are unchanged
    expect(matchSnapshotRef(rows, "20261201T100000-111", short)).toEqual({ none: true });
    expect(matchSnapshotRef(rows, "20261202", short, backupIdOf)).toEqual({ match: rows[1] });
  });
});
