import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import type { QubeSpec } from "@qubes-dedup/qubes-sim";
import { makeBackupStreamFile } from "@qubes-dedup/qubes-sim/testing";
import type { CheckProgress } from "@qubes-dedup/pipeline";
import { addRepository, checkProgressOf, checkRepository, etaSeconds, followCheck, listRuns, runBackup, runMaintenance } from "../src/index.ts";
import { removeTemplate, tempDatabase } from "./seed.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const SHIM_DIR = path.join(ROOT, "libs/shim/dist");
const KiB = 1024;
const QUBES: QubeSpec[] = [{ name: "work", klass: "StandaloneVM", rootSize: 256 * KiB, privateSize: 512 * KiB }];
const PASS = `qubes-dedup-v1-${"cd".repeat(32)}`;

describe("the ETA formula", () => {
  it("is elapsed × (1 − f) / f, 0 once done, null without a pace", () => {
    expect([etaSeconds(0.25, 5), etaSeconds(0.5, 30), etaSeconds(0.75, 9), etaSeconds(1, 9), etaSeconds(1.1, 1)]).toEqual([15, 30, 3, 0, 0]);
    expect([etaSeconds(0, 5), etaSeconds(0.5, 0), etaSeconds(Number.NaN, 3)]).toEqual([null, null, null]);
  });
});

describe("a check's live progress", () => {
  it("counts from the step's start, by counts when the engine gives them, else by percent; says when there is no figure yet", () => {
    let now = 1_000_000;
    const live = followCheck(9001, "borg", () => now);
    now += 4000;
    expect(checkProgressOf(9001, now)).toEqual({ step: null, percent: null, done: null, total: null, unit: null, elapsedSeconds: 4, stepEtaSeconds: null, note: "no progress figure from borg yet" });
    live.onProgress({ step: "Checking segments", percent: 0, done: null, total: null, unit: null });
    now += 10_000;
    live.onProgress({ step: "Checking segments", percent: 40, done: null, total: null, unit: null });
    // 40 % of the step in 10 s: 15 s left
    expect(checkProgressOf(9001, now)).toMatchObject({ step: "Checking segments", percent: 40, elapsedSeconds: 14, stepEtaSeconds: 15, note: null });
    now += 1000;
    live.onProgress({ step: "read 5.0% of data packs", percent: 10, done: 1, total: 4, unit: "packs" });
    now += 2000;
    // a new step starts the clock again; 1 of 4 packs in 2 s: 6 s left
    expect(checkProgressOf(9001, now)).toMatchObject({ step: "read 5.0% of data packs", done: 1, total: 4, unit: "packs", elapsedSeconds: 17, stepEtaSeconds: 6 });
    live.end();
    expect(checkProgressOf(9001, now)).toBeNull();
  });
});

describe.each(["restic", "borg"] as const)("check progress from real %s", { timeout: 180_000 }, (engine) => {
  let db: Awaited<ReturnType<typeof tempDatabase>>;
  afterAll(async () => {
    await db?.close();
    if (db) fs.rmSync(db.dir, { recursive: true, force: true });
    await removeTemplate();
  });

  it("reaches the run log while the check runs, and the check still passes", async () => {
    db = await tempDatabase();
    fs.writeFileSync(path.join(db.dir, "pw"), "pw for tests\n", { mode: 0o600 });
    const { id } = await addRepository(db, { name: "default", engine, location: path.join(db.dir, engine), passwordFile: path.join(db.dir, "pw") });
    const env = { ...process.env, PATH: `${SHIM_DIR}:${process.env.PATH}` };
    const s = await makeBackupStreamFile(db.dir, { seed: `check-${engine}`, qubes: QUBES, chunkSize: 256 * KiB, passphrase: PASS, env });
    await runBackup(db, { repository: "default", input: fs.createReadStream(s.file) });
    const seen: CheckProgress[] = [];
    await checkRepository(db, "default", "100%", undefined, (p) => seen.push(p));
    if (engine === "restic") {
      // the last status of each step comes whatever the pace
      expect(seen.at(-1)).toMatchObject({ step: "read 100.0% of data packs", percent: 100, unit: "packs" });
      expect(seen.at(-1)!.done).toBe(seen.at(-1)!.total);
      expect(seen.some((p) => p.step === "check snapshots, trees and blobs" && p.unit === "snapshots")).toBe(true);
    } else {
      expect(new Set(seen.map((p) => p.step))).toEqual(new Set(["Checking segments", "Verifying data", "Checking archives"]));
      expect(seen.every((p) => p.percent >= 0 && p.percent < 100 && p.done === null)).toBe(true);
    }
    // a run started by hand shows in the run log with its progress while it runs, and none after
    const run = runMaintenance(db, { repositoryId: id, kind: "check", readDataSubset: "100%" });
    let during: Awaited<ReturnType<typeof listRuns>>[number] | undefined;
    while (!during) {
      during = (await listRuns(db)).find((r) => r.status === "running" && r.progress);
      if (!during) await new Promise((r) => setTimeout(r, 20));
    }
    expect(during.progress).toMatchObject({ elapsedSeconds: expect.any(Number) });
    expect(await run).toMatchObject({ ok: true });
    expect((await listRuns(db))[0]).toMatchObject({ kind: "check", status: "succeeded", progress: null });
    if (engine === "borg") {
      // borg check's "errors found" is its exit status 1 ("warning"): a failed check, in one sentence without the status fragments
      const seg = path.join(db.dir, "borg", "data", "0");
      const biggest = fs.readdirSync(seg).map((f) => path.join(seg, f)).sort((a, b) => fs.statSync(b).size - fs.statSync(a).size)[0]!;
      fs.chmodSync(biggest, 0o644);
      const fd = fs.openSync(biggest, "r+");
      fs.writeSync(fd, Buffer.alloc(64, 0xff), 0, 64, 200);
      fs.closeSync(fd);
      const bad = await runMaintenance(db, { repositoryId: id, kind: "check", readDataSubset: "100%" });
      expect(bad.ok).toBe(false);
      expect(bad.message).toMatch(new RegExp(`^the borg repository ${path.join(db.dir, "borg")} is damaged \\(Data integrity error: Segment entry checksum mismatch \\[segment \\d+, offset \\d+\\]\\); run \`borg check --repair ${path.join(db.dir, "borg")}\` before the next backup\\.$`));
    }
  });
});
