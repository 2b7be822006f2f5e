import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "@qubes-dedup/db";
import { addRepository, idle, qubesOverview, tick } from "../src/index.ts";
import { execFileSync } from "node:child_process";
import { BUILT, WORKSPACE, buildAll, installPolicy, machine, machineEnv } from "./qrexec-harness.ts";

// Scheduled backups through the whole simulated chain (scheduler -> qrexec
// -> dom0 agent -> qvm-backup -> ingest -> restic): they ask dom0 for the
// changed qubes only, keep dom0's verdict per qube in the job's and the
// run's log, and the Qubes page's rows follow from the index.
let m: ReturnType<typeof machine>;
let db: Database;
const saved = { ...process.env };
const HOUR = 3600_000;
const T0 = new Date("2026-12-02T10:00:30Z");
const VERDICT = /^(vault|work): /;

beforeAll(async () => {
  buildAll();
  // dom0's change record reads LV uuids with lvs
  execFileSync(process.execPath, [path.join(WORKSPACE, "tools/bundle.mjs"), path.join(WORKSPACE, "libs/qubes-sim/src/cli/lvs.ts"), path.join(BUILT.dom0Bin, "lvs")], { stdio: "ignore" });
  m = machine();
  // dom0's change record reads dom0's own files (/var/lib/qubes/qubes.xml, lvs): one root is the simulated system and the agent's root
  fs.cpSync(path.join(m.agentRoot, "etc/qubes-dedup"), path.join(m.dom0, "etc/qubes-dedup"), { recursive: true });
  Object.assign(process.env, machineEnv(m), { QUBES_DEDUP_AGENT_ROOT: m.dom0 });
  installPolicy(m.dom0, "allow");
  db = await openDatabase(`file:${m.db}`);
  const repo = await addRepository(db, { name: "main", engine: "restic", location: m.restic, passwordFile: m.resticPass });
  await db.prisma.schedule.create({ data: { repositoryId: repo.id, kind: "backup", cron: "0 * * * *", qubes: JSON.stringify(["work", "vault"]), createdAt: new Date(T0.getTime() - HOUR) } });
}, 120_000);

afterAll(async () => {
  await db?.close();
  process.env = saved;
  if (m) fs.rmSync(m.work, { recursive: true, force: true });
});

async function scheduledRun(now: Date) {
  expect(await tick(db, now)).toHaveLength(1);
  await idle();
  const run = await db.prisma.maintenanceRun.findFirstOrThrow({ orderBy: { id: "desc" } });
  const job = await db.prisma.job.findFirstOrThrow({ where: { kind: "backup-request" }, orderBy: { id: "desc" } });
  return { run, job, verdicts: job.log.split("\n").filter((l) => VERDICT.test(l)) };
}

describe("scheduled backups of the changed qubes only", () => {
  it("asks dom0 with \"changed\": true and keeps its verdict on each qube in the logs", { timeout: 180_000 }, async () => {
    const { run, job, verdicts } = await scheduledRun(T0);
    expect(job.request).toBe('{"repo":"main","qubes":["work","vault"],"changed":true}');
    expect(job.status, job.error ?? "").toBe("succeeded");
    expect(verdicts).toEqual(["work: never backed up", "vault: never backed up"]);
    expect(run.status).toBe("succeeded");
    expect(run.log.split("\n")).toEqual([expect.stringMatching(/^backup request #\d+ \(changed qubes of work, vault\): succeeded$/), ...job.log.split("\n")]);
    const snap = await db.prisma.snapshot.findFirstOrThrow({ include: { qubes: true } });
    expect(snap.qubes.map((q) => q.name).sort()).toEqual(["vault", "work"]);
    // the backup's qubes.xml lists every qube dom0 has, in the backup or not
    expect((JSON.parse(snap.listedQubes) as string[]).sort()).toEqual(["dom0", "fedora-41", "vault", "work"]);
  });

  it("the Qubes page: one row per qube dom0 listed, never backed up ones marked, dom0's verdict and sizes", async () => {
    const rows = await qubesOverview(db, "main", new Date(T0.getTime() + HOUR / 2));
    expect(rows.map((r) => [r.name, r.neverBackedUp, r.change?.state ?? null, r.sizes.length]).sort()).toEqual([
      ["dom0", true, null, 0],
      ["fedora-41", true, null, 0],
      ["vault", false, "backed-up", 1],
      ["work", false, "backed-up", 1],
    ]);
    const snap = await db.prisma.snapshot.findFirstOrThrow({ include: { qubes: true } });
    const work = rows.find((r) => r.name === "work")!;
    expect(work.sizes[0]!.bytes).toBe(snap.qubes.find((q) => q.name === "work")!.backupSizeBytes);
    expect(work.last?.backupId).toBe(snap.backupId);
  });

  it("the next run finds nothing changed and stores nothing; a fullBackup schedule sends every selected qube", { timeout: 180_000 }, async () => {
    const first = await db.prisma.snapshot.findFirstOrThrow();
    const again = await scheduledRun(new Date(T0.getTime() + HOUR));
    expect(again.verdicts).toEqual([`work: unchanged since ${first.backupId}`, `vault: unchanged since ${first.backupId}`]);
    expect(again.job.status).toBe("succeeded");
    expect(await db.prisma.snapshot.count()).toBe(1);
    const rows = await qubesOverview(db, "main");
    expect(rows.find((r) => r.name === "work")!.change).toMatchObject({ state: "unchanged", reason: `unchanged since ${first.backupId}` });
    await db.prisma.schedule.updateMany({ data: { fullBackup: true } });
    const full = await scheduledRun(new Date(T0.getTime() + 2 * HOUR));
    expect(full.job.request).toBe('{"repo":"main","qubes":["work","vault"],"changed":true,"full":true}');
    expect(full.run.log.split("\n")[0]).toMatch(/^backup request #\d+ \(full backup of work, vault\): succeeded$/);
    expect(full.verdicts).toHaveLength(2);
    expect(await db.prisma.snapshot.count()).toBe(2);
  });
});
