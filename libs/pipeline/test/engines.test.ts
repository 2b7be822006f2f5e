// The same behaviour through both engines: byte-exact round trips with small
// chunks, cheap re-backups, and random cuts always refused without a snapshot.
import crypto from "node:crypto";
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { IngestError, dump, ingest, openEngine, type Engine, type EngineKind } from "../src/index.ts";
import { makeStream, smallSystem, smallSystemRandomBytes } from "./helpers/make-stream.ts";
import { tmpDir } from "@qubes-dedup/qubes-sim/testing";
import { Sink, fileStream, freshRepo } from "./helpers/repo.ts";

/** Deterministic "random" cut points (seeded), so a failure can be replayed. */
function cuts(seed: string, max: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => crypto.createHash("sha256").update(`${seed}${i}`).digest().readUInt32BE(0) % max);
}

/** The engine, counting the snapshot listings and file dumps it is asked for. */
function counting(engine: Engine): { engine: Engine; listings: () => number; dumps: () => string[] } {
  let listings = 0;
  const dumps: string[] = [];
  const e = Object.create(engine) as Engine & { snapshots: Engine["snapshots"]; dumpFile: Engine["dumpFile"] };
  e.snapshots = (o) => (listings++, engine.snapshots(o));
  e.dumpFile = (id, file) => (dumps.push(`${id}:${file}`), engine.dumpFile(id, file));
  return { engine: e, listings: () => listings, dumps: () => dumps };
}

describe.each(["restic", "borg"] as EngineKind[])("%s", (kind) => {
  it("reads data and side record at once when the side record is named, and lists snapshots only when that name is stale", async () => {
    const { engine } = await freshRepo(kind);
    const qubes = smallSystem(`hint-${kind}`, 512 * 1024);
    const s1 = makeStream(tmpDir("pipeline"), { qubes, chunkSize: 65536, backupId: "20250101T000000-1" });
    const s2 = makeStream(tmpDir("pipeline"), { qubes, chunkSize: 65536, backupId: "20250102T000000-2" });
    const r1 = await ingest(fileStream(s1, 65536), engine);
    const r2 = await ingest(fileStream(s2, 65536), engine);
    const all = await engine.snapshots();
    expect(all.find((s) => s.id === r1.sideSnapshotId)?.tags).toContain("qd-side");
    expect(all.find((s) => s.id === r1.snapshotId)?.tags).toContain("qd-data");
    const run1 = all.find((s) => s.id === r1.snapshotId)!.tags.find((t) => t.startsWith("qd-run:"))!;
    const partsOf = all.filter((s) => s.tags.includes(run1) && !s.tags.includes("qd-side"));
    expect(partsOf.length).toBe(r1.qubes.length);
    // restic dumps parts 1… by the ids its backup summaries reported: short ones before 0.17, full ones after,
    // so restic's are compared by their first 8 hex digits
    const parts1 = partsOf.map((s) => s.id);
    const byPrefix = (ids: string[]) => ids.map((x) => (kind === "restic" ? x.replace(/^([0-9a-f]{8})[0-9a-f]*:/, "$1:") : x)).sort();
    const missing = kind === "restic" ? "deadbeef" : "qubes-dedup,qd-run:gone,qd-side";
    // borg names the side archive after the data archive, so it needs no hint
    const cases: [string | undefined, number][] = [[r1.sideSnapshotId, 0], [r2.sideSnapshotId, 1], [missing, 1], [undefined, kind === "borg" ? 0 : 1]];
    for (const [hint, listings] of cases) {
      const c = counting(engine);
      const out = new Sink();
      const d = await dump(c.engine, r1.snapshotId, out, { sideSnapshotId: hint });
      expect(out.bytes().equals(fs.readFileSync(s1)), `hint ${hint}`).toBe(true);
      expect(d.streamSha256).toBe(r1.streamSha256);
      expect(c.listings(), `listings with hint ${hint}`).toBe(listings);
      // one dump per data part (one per qube with data: side record format 2) and the side record
      if (listings === 0) expect(byPrefix(c.dumps())).toEqual(byPrefix([`${r1.sideSnapshotId}:qubes-backup.side`, ...parts1.map((id) => `${id}:qubes-backup.data`)]));
    }
  }, 120_000);


  it("round-trips byte for byte with 4 KiB chunks and re-backs up unchanged qubes cheaply", async () => {
    const { engine } = await freshRepo(kind);
    const size = 1536 * 1024;
    const qubes = smallSystem(`rt-${kind}`, size);
    const s1 = makeStream(tmpDir("pipeline"), { qubes, chunkSize: 4096, backupId: "20250101T000000-1" });
    const s2 = makeStream(tmpDir("pipeline"), { qubes, chunkSize: 4096, backupId: "20250102T000000-2" });
    const r1 = await ingest(fileStream(s1, 5000), engine);
    const r2 = await ingest(fileStream(s2, 5000), engine);
    expect(r2.addedBytes).toBeLessThan(r2.logicalBytes * 0.02);
    for (const [r, f] of [[r1, s1], [r2, s2]] as const) {
      const out = new Sink();
      const d = await dump(engine, r.snapshotId, out, { expectedSha256: r.streamSha256 });
      expect(out.bytes().equals(fs.readFileSync(f))).toBe(true);
      expect(d.streamSha256).toBe(r.streamSha256);
    }
    const snaps = await engine.snapshots();
    expect(snaps.filter((s) => s.tags.includes("qd-data"))).toHaveLength(2);
    // the volumes' random data is all there; two backups of the same qubes take less than one stream's bytes
    const stored = await engine.repositoryBytes();
    expect(stored).toBeGreaterThanOrEqual(smallSystemRandomBytes(size));
    expect(stored).toBeLessThan(r1.logicalBytes);
    await engine.check();
  }, 120_000);

  it("refuses random cuts of a valid stream and leaves no snapshot", async () => {
    const { engine } = await freshRepo(kind);
    const s = makeStream(tmpDir("pipeline"), { qubes: smallSystem(`cut-${kind}`), chunkSize: 8192 });
    const size = fs.statSync(s).size;
    // the one undetectable cut: exactly before vault's trailing firewall.xml archive (not a volume)
    const text = fs.readFileSync(s).toString("latin1");
    const ambiguous = Math.floor(text.indexOf("vm5/PaxHeaders/firewall.xml") / 10240) * 10240;
    for (const cut of cuts(kind, size, 4).filter((c) => c !== ambiguous && c > 0)) {
      await expect(ingest(fileStream(s, 4096, cut), engine), `cut at ${cut}`).rejects.toThrow(IngestError);
    }
    expect(await engine.snapshots()).toEqual([]);
  }, 180_000);

  it("says how to install a missing binary", async () => {
    const { engine } = await freshRepo(kind);
    const e = openEngine(engine.repo, { binary: `/nonexistent/${kind}` });
    const pkg = kind === "borg" ? "borgbackup" : "restic";
    const variable = kind === "borg" ? "QUBES_DEDUP_BORG" : "QUBES_DEDUP_RESTIC";
    await expect(e.snapshots()).rejects.toThrow(`${kind} was not found at /nonexistent/${kind}; install it (apt-get install ${pkg}) or point ${variable} at a ${kind} executable.`);
  }, 30_000);
});
