import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mutateVolume, type QubeSpec } from "@qubes-dedup/qubes-sim";
import { makeBackupStreamFile } from "@qubes-dedup/qubes-sim/testing";
import { openEngine, runIdOf } from "@qubes-dedup/pipeline";
import {
  addRepository,
  createSchedule,
  idle,
  keptRuns,
  listRuns,
  listSchedules,
  listRepositories,
  nextRuns,
  previewRetention,
  previousRun,
  repositoryVerification,
  snapshotVerification,
  runBackup,
  runDump,
  runMaintenance,
  scheduleInput,
  setRetention,
  tick,
  warningsFor,
} from "../src/index.ts";
import { removeTemplate, tempDatabase } from "./seed.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const SHIM_DIR = path.join(ROOT, "libs/shim/dist");
const MiB = 1024 * 1024;
const QUBES: QubeSpec[] = [{ name: "work", klass: "StandaloneVM", rootSize: MiB, privateSize: 2 * MiB }];
const PASS = `qubes-dedup-v1-${"ef".repeat(32)}`;

describe("cron times (UTC)", () => {
  it("lists the next runs and the last due time", () => {
    const from = new Date("2026-11-30T05:00:00Z");
    expect(nextRuns("0 3 * * *", from)).toEqual([new Date("2026-12-01T03:00:00Z"), new Date("2026-12-02T03:00:00Z"), new Date("2026-12-03T03:00:00Z")]);
    expect(previousRun("*/5 * * * *", new Date("2026-11-30T05:03:00Z"))).toEqual(new Date("2026-11-30T05:00:00Z"));
    expect(previousRun("*/5 * * * *", new Date("2026-11-30T05:05:00Z"))).toEqual(new Date("2026-11-30T05:05:00Z"));
  });

  it("refuses malformed expressions with one sentence", () => {
    expect(() => nextRuns("0 3 * *", new Date())).toThrow('"0 3 * *" is not a cron expression: give five fields (minute hour day month weekday), e.g. "0 3 * * *".');
    expect(() => nextRuns("61 * * * *", new Date())).toThrow(/^"61 \* \* \* \*" is not a valid cron expression \(.*\): fix it, e\.g\. "0 3 \* \* \*"\.$/);
  });
});

describe("keptRuns (restic's keep semantics on backup runs)", () => {
  const at = (iso: string, id = iso) => ({ id, time: new Date(iso) });
  const runs = [at("2026-11-30T10:00:00Z"), at("2026-11-30T03:00:00Z"), at("2026-11-29T03:00:00Z"), at("2026-11-22T03:00:00Z"), at("2026-10-15T03:00:00Z")];
  it("keeps the newest n, the newest per day/ISO week/month, and the union of the rules", () => {
    expect([...keptRuns(runs, { keepLast: 2 })]).toEqual(["2026-11-30T10:00:00Z", "2026-11-30T03:00:00Z"]);
    expect([...keptRuns(runs, { keepDaily: 2 })].sort()).toEqual(["2026-11-29T03:00:00Z", "2026-11-30T10:00:00Z"]);
    // 2026-11-29 is a Sunday: same ISO week as the 30th? No: the 30th is a Monday, a new week.
    expect([...keptRuns(runs, { keepWeekly: 2 })].sort()).toEqual(["2026-11-29T03:00:00Z", "2026-11-30T10:00:00Z"]);
    expect([...keptRuns(runs, { keepMonthly: 3 })].sort()).toEqual(["2026-10-15T03:00:00Z", "2026-11-30T10:00:00Z"]);
    expect(keptRuns(runs, { keepLast: 1, keepMonthly: 2 }).size).toBe(2);
  });
  it("refuses a policy without rules", () => {
    expect(() => keptRuns(runs, { keepLast: 0 })).toThrow(
      "the retention policy has no keep rule, so it would forget every snapshot: set at least one of keep last/daily/weekly/monthly.",
    );
  });
});

describe("retention, check and the scheduler against a real restic repository", () => {
  let db: Awaited<ReturnType<typeof tempDatabase>>;
  let repoId: number;
  const streams: { sha256: string }[] = [];

  beforeAll(async () => {
    db = await tempDatabase();
    fs.writeFileSync(path.join(db.dir, "pw"), "pw for tests\n", { mode: 0o600 });
    repoId = (await addRepository(db, { name: "default", engine: "restic", location: path.join(db.dir, "restic"), passwordFile: path.join(db.dir, "pw") })).id;
    const env = { ...process.env, PATH: `${SHIM_DIR}:${process.env.PATH}` };
    let root: string | undefined;
    for (let i = 0; i < 3; i++) {
      if (root) mutateVolume(path.join(root, "volumes/work/private.img"), { seed: `change-${i}`, fraction: 0.05 });
      const s = await makeBackupStreamFile(db.dir, { seed: "ret", qubes: QUBES, chunkSize: MiB, passphrase: PASS, env, ...(root ? { root } : {}) });
      root = s.root;
      await runBackup(db, { repository: "default", input: fs.createReadStream(s.file) });
      streams.push(s);
    }
  }, 120_000);
  afterAll(async () => {
    await db.close();
    fs.rmSync(db.dir, { recursive: true, force: true });
    await removeTemplate();
  });
  const engineSnapshots = async () => {
    const repo = await db.prisma.repository.findUniqueOrThrow({ where: { id: repoId } });
    return openEngine({ engine: "restic", location: repo.location, passwordFile: repo.passwordFile }).snapshots();
  };
  /** The engine's snapshots per backup run (a run: its side record and one data snapshot per qube with data), in run order. */
  const perRun = async () => {
    const runs = new Map<string, number>();
    for (const x of await engineSnapshots()) runs.set(runIdOf(x.tags)!, (runs.get(runIdOf(x.tags)!) ?? 0) + 1);
    return [...runs.values()];
  };

  it("applies keep-last 1 with forget --prune: one run stays (data and side record), the index follows, the kept one still dumps", { timeout: 60_000 }, async () => {
    await expect(setRetention(db, { repositoryId: repoId, keepLast: 0, keepDaily: 0, keepWeekly: 0, keepMonthly: 0 })).rejects.toThrow(
      "A retention policy needs at least one keep rule above 0, or it would forget every snapshot: set keep last, daily, weekly or monthly.",
    );
    await setRetention(db, { repositoryId: repoId, keepLast: 1, keepDaily: 0, keepWeekly: 0, keepMonthly: 0 });
    const snaps = await db.prisma.snapshot.findMany({ orderBy: { createdAt: "desc" } });
    // The preview is a dry run through the engine: verdicts for every run, nothing forgotten.
    const preview = await previewRetention(db, "default");
    expect(preview.dryRun).toBe(true);
    expect(preview.runs.map((v) => [v.dataId, v.keep])).toEqual(snaps.map((x, i) => [x.engineSnapshotId, i === 0]));
    expect([...preview.forgotten].sort()).toEqual(snaps.slice(1).map((x) => x.engineSnapshotId).sort());
    expect(await db.prisma.snapshot.count()).toBe(3);
    const whole = await perRun();
    expect(whole).toHaveLength(3);
    expect(whole[0]).toBeGreaterThan(2);
    expect(whole.every((n) => n === whole[0])).toBe(true);
    // A confirmation of another set (the snapshots changed since the preview) forgets nothing.
    const stale = await runMaintenance(db, { repositoryId: repoId, kind: "retention", confirmedForget: preview.forgotten.slice(0, 1) });
    expect(stale).toMatchObject({
      ok: false,
      message: "the snapshots to forget changed since the preview (it showed 1, the policy now forgets 2): nothing was forgotten, preview again and confirm.",
    });
    expect(await perRun()).toEqual(whole);
    const r = await runMaintenance(db, { repositoryId: repoId, kind: "retention", confirmedForget: preview.forgotten });
    expect(r).toMatchObject({ ok: true, message: "Kept 1 backup run(s) and forgot 2 (keep last 1, daily 0, weekly 0, monthly 0)." });
    const [run] = await listRuns(db);
    expect(run).toMatchObject({ kind: "retention", status: "succeeded", repository: "default" });
    expect(run!.log.split("\n").map((l) => l.slice(0, 6))).toEqual(["keep  ", "forget", "forget"]);
    const left = await db.prisma.snapshot.findMany();
    expect(left).toHaveLength(1);
    expect(await perRun()).toEqual([whole[0]]);
    const sink = new Writable({ write: (_c, _e, cb) => cb() });
    const dumped = await runDump(db, { repository: "default", snapshot: left[0]!.engineSnapshotId, output: sink });
    expect(dumped.streamSha256).toBe(streams[2]!.sha256);
  });

  it("checks with a read-data subset (also right after a dump cut short by its reader), and reports damage as a failed run", { timeout: 60_000 }, async () => {
    // qvm-backup-restore closes the pipe early on purpose; the engine must not leave its lock behind.
    const head = spawn("head", ["-c", "1000"], { stdio: ["pipe", "ignore", "ignore"] });
    const snap = (await db.prisma.snapshot.findFirstOrThrow()).engineSnapshotId;
    await runDump(db, { repository: "default", snapshot: snap, output: head.stdin });
    expect(await runMaintenance(db, { repositoryId: repoId, kind: "check", readDataSubset: "100%" })).toMatchObject({
      ok: true,
      message: "The repository check passed: structure and 100% of the data verified.",
    });
    const dataDir = path.join(db.dir, "restic", "data");
    const pack = fs.readdirSync(dataDir).map((d) => path.join(dataDir, d)).flatMap((d) => fs.readdirSync(d).map((f) => path.join(d, f))).sort((a, b) => fs.statSync(b).size - fs.statSync(a).size)[0]!;
    fs.chmodSync(pack, 0o644);
    const fd = fs.openSync(pack, "r+");
    fs.writeSync(fd, Buffer.alloc(64, 0xff), 0, 64, 100);
    fs.closeSync(fd);
    const good = await repositoryVerification(db, repoId);
    expect(good.lastCheck).toMatchObject({ status: "succeeded", message: "The repository check passed: structure and 100% of the data verified." });
    expect(good.lastDrill).toBeNull();
    const snapRow = await db.prisma.snapshot.findFirstOrThrow();
    expect((await snapshotVerification(db, snapRow)).lastCheck?.status).toBe("succeeded");
    // a check that ran before a snapshot was stored did not read it
    expect((await snapshotVerification(db, { ...snapRow, createdAt: new Date(Date.now() + 60_000) })).lastCheck).toBeNull();
    const bad = await runMaintenance(db, { repositoryId: repoId, kind: "check", readDataSubset: "100%" });
    expect(bad.ok).toBe(false);
    expect(bad.message).toBe(`the restic repository ${path.join(db.dir, "restic")} is damaged (repository contains errors); run \`restic -r ${path.join(db.dir, "restic")} check\` and repair it before the next backup.`);
    const [view] = await listRepositories(db);
    expect(view!.verification.lastCheck).toMatchObject({ status: "failed", message: bad.message });
    expect(view!.warnings.filter((w) => w.startsWith("The last repository check failed"))).toEqual([
      `The last repository check failed (${view!.verification.lastCheck!.at.toISOString().slice(0, 16).replace("T", " ")} UTC): ${bad.message}`,
    ]);
  });

  it("starts a due schedule once per cron time and shows its next runs", { timeout: 60_000 }, async () => {
    const { id } = await createSchedule(db, scheduleInput.parse({ repositoryId: repoId, kind: "check", cron: "0 * * * *" }));
    await expect(async () => createSchedule(db, scheduleInput.parse({ repositoryId: repoId, kind: "check", cron: "every day" }))).rejects.toThrow(/cron/);
    const created = (await db.prisma.schedule.findUniqueOrThrow({ where: { id } })).createdAt;
    const slot = new Date(Math.ceil((created.getTime() + 1) / 3_600_000) * 3_600_000);
    expect(await tick(db, new Date(slot.getTime() - 1000))).toEqual([]);
    expect(await tick(db, slot)).toEqual([id]);
    await idle();
    expect(await tick(db, new Date(slot.getTime() + 60_000))).toEqual([]);
    const runs = await listRuns(db);
    // No data subset: only the structure is checked, which the damaged pack does not touch.
    expect(runs[0]).toMatchObject({ scheduleId: id, kind: "check", status: "succeeded", message: "The repository check passed: structure (no data read) verified." });
    const [view] = await listSchedules(db);
    expect(view!.nextRuns).toHaveLength(3);
    expect(view!.lastRunAt).toEqual(slot);
  });
});

describe("verification overdue warning", () => {
  const base = { lastJob: null, failedJobs: [], lastBackupAt: new Date("2026-11-29T00:00:00Z"), snapshotCount: 1 };
  const now = new Date("2026-11-30T00:00:00Z");
  it("warns when never verified or verified over 30 days ago, not otherwise", async () => {
    expect(warningsFor({ ...base, lastVerifiedAt: null }, 0, now)).toEqual([
      "This repository has never been verified: run a check or a restore drill on the Schedules page (and schedule one).",
    ]);
    expect(warningsFor({ ...base, lastVerifiedAt: new Date("2026-10-20T00:00:00Z") }, 0, now)).toEqual([
      "The last verification was 41 days ago: run a check or a restore drill on the Schedules page (and schedule one).",
    ]);
    expect(warningsFor({ ...base, lastVerifiedAt: new Date("2026-11-20T00:00:00Z") }, 0, now)).toEqual([]);
  });
});
