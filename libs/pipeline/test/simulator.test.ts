// Both engines against real qvm-backup streams from the simulator (Qubes'
// tar writer, GNU tar for firewall.xml and dom0 home, the shim's MAC
// trailers, a new PID on every run): unchanged re-backups cost next to
// nothing, changed blocks cost what the engine's chunker allows for the raw
// data, dumps are byte-exact, and cut streams are refused without a trace.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { IngestError, dump, ingest, type EngineKind } from "../src/index.ts";
import { tmpDir } from "@qubes-dedup/qubes-sim/testing";
import { fileStream, freshRepo } from "./helpers/repo.ts";
import { HashSink, backupFile, simFloor, simMutate, simStream, twinRepos, type SimStream } from "./helpers/sim.ts";

const MiB = 1 << 20;
const dir = tmpDir("sim");
let a: SimStream;
let b: SimStream;
let c: SimStream;
let changedBytes: number;
let floor0: string;
let floor1: string;

beforeAll(async () => {
  a = await simStream(dir, { seed: "sim" });
  b = await simStream(dir, { seed: "sim", root: a.root });
  floor0 = path.join(dir, "floor0");
  await simFloor(a.root, floor0);
  ({ changedBytes } = await simMutate(a.root, 0.01, 4 * MiB, "change-1"));
  c = await simStream(dir, { seed: "sim", root: a.root });
  floor1 = path.join(dir, "floor1");
  await simFloor(a.root, floor1);
}, 120_000);

async function dumpSha(engine: Parameters<typeof dump>[0], id: string): Promise<string> {
  const out = new HashSink();
  await dump(engine, id, out);
  return out.digest();
}

/** Deterministic cut points (seeded), so a failure can be replayed. */
function cuts(seed: string, max: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => crypto.createHash("sha256").update(`${seed}${i}`).digest().readUInt32BE(0) % max);
}

describe.each(["restic", "borg"] as EngineKind[])("%s with simulator streams", (kind) => {
  it("re-backs up unchanged qubes for < 0.1%, changed blocks near the floor, dumps byte-exact", async () => {
    const [ours, floorRepo] = await twinRepos(kind);
    expect(a.sha256).not.toBe(b.sha256); // new PID, backup-id, times and MACs
    const r1 = await ingest(fileStream(a.file), ours);
    const r2 = await ingest(fileStream(b.file), ours);
    expect(r1.warnings).toEqual([]);
    expect(r2.addedBytes / r2.logicalBytes).toBeLessThan(0.001);
    // floor: the first run's data is the floor stream's prefix, so the twin repository starts from it
    await backupFile(floorRepo, floor0, "f0");
    const r3 = await ingest(fileStream(c.file), ours);
    const floorAdded = await backupFile(floorRepo, floor1, "f1");
    const oursRatio = r3.addedBytes / changedBytes;
    const floorRatio = floorAdded / changedBytes;
    expect(oursRatio).toBeLessThan(floorRatio * 1.1);
    expect(oursRatio).toBeGreaterThan(0.9);
    for (const [r, s] of [[r1, a], [r2, b], [r3, c]] as const) {
      expect(r.streamSha256).toBe(s.sha256);
      expect(await dumpSha(ours, r.snapshotId)).toBe(s.sha256);
    }
  }, 180_000);

  it("refuses random cuts of a simulator stream and leaves no snapshot", async () => {
    const { engine } = await freshRepo(kind);
    for (const cut of cuts(`sim-${kind}`, a.bytes, 4).filter((x) => x > 0)) {
      await expect(ingest(fileStream(a.file, 65536, cut), engine), `cut at ${cut}`).rejects.toThrow(IngestError);
    }
    expect(await engine.snapshots()).toEqual([]);
  }, 120_000);
});
