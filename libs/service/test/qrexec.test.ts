import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type Database } from "@qubes-dedup/db";
import { createSystem, listPending, mutateVolume, simPaths, waitForPending, answerPending } from "@qubes-dedup/qubes-sim";
import { addRepository, requestBackup, requestRestore, type RequestState } from "../src/index.ts";
import { qubeVolumeHashes, resticSnapshotIds, volumeHashes } from "@qubes-dedup/qubes-sim/testing";
import { buildAll, installDispvmPackage, installPolicy, machine, machineEnv, resticRepo } from "./qrexec-harness.ts";

// The whole chain with real processes: backup qube -> simulated qrexec-client-vm
// -> dom0 agent `rpc` -> simulated qvm-backup(-restore) -> shim -> qubes-dedup
// ingest/dump -> real restic.
let m: ReturnType<typeof machine>;
let db: Database;
const saved = { ...process.env };

function useDom0(root: string): void {
  Object.assign(process.env, machineEnv(m, root));
}

function track() {
  const states: RequestState[] = [];
  const percents: number[] = [];
  return { states, percents, events: { onState: (s: RequestState) => states.push(s), onProgress: (p: number) => percents.push(p) } };
}

async function jobsOf(kind: string) {
  return db.prisma.job.findMany({ where: { kind }, orderBy: { id: "asc" } });
}

/** Answers the next confirmation in `root` once the request job is seen waiting. */
async function confirm(root: string, answer: "allow" | "deny", service: string) {
  const p = await waitForPending(root, { service, timeoutSeconds: 60 });
  const waiting = await db.prisma.job.findMany({ where: { status: "waiting" } });
  expect(waiting).toHaveLength(1);
  answerPending(root, p.id, answer);
  return waiting[0]!;
}

beforeAll(async () => {
  buildAll();
  m = machine();
  useDom0(m.dom0);
  installPolicy(m.dom0, "allow");
  db = await openDatabase(`file:${m.db}`);
  await addRepository(db, { name: "main", engine: "restic", location: m.restic, passwordFile: m.resticPass });
}, 120_000);

afterAll(async () => {
  await db?.close();
  process.env = saved;
  if (m) fs.rmSync(m.work, { recursive: true, force: true });
});

describe("requestBackup and requestRestore through the simulated qrexec", () => {
  let snapshot = "";

  it("backs up through dom0 (policy allow): waiting -> running -> succeeded, progress to 100, the snapshot recorded by ingest", async () => {
    const t = track();
    const r = await requestBackup(db, { repository: "main" }, t.events);
    expect(r).toMatchObject({ outcome: "succeeded" });
    expect(r.message).toMatch(/^backup of the qubes selected for backup sent to backup \(repository main\); recorded as backup [0-9]{8}T[0-9]{6}-[0-9]+ in dom0's ledger$/);
    expect(t.states).toEqual(["waiting", "running", "succeeded"]);
    expect(t.percents[0]).toBe(0);
    expect(t.percents.at(-1)).toBe(100);
    expect(t.percents).toEqual([...t.percents].sort((a, b) => a - b));
    const job = await db.prisma.job.findUniqueOrThrow({ where: { id: r.jobId } });
    expect(job).toMatchObject({ kind: "backup-request", status: "succeeded", percent: 100, error: null, summary: r.message, request: '{"repo":"main"}' });
    const snap = await db.prisma.snapshot.findFirstOrThrow({ include: { qubes: true } });
    expect(job.snapshotRef).toBe(snap.engineSnapshotId);
    expect(snap.qubes.map((q) => q.name).sort()).toEqual(["dom0", "fedora-41", "vault", "work"]);
    snapshot = snap.engineSnapshotId;
  }, 120_000);

  it("restores after the dom0 confirmation (ask -> allow): every volume byte-identical", async () => {
    const target = path.join(m.work, "fresh-install");
    createSystem(target, { qubes: [] });
    installPolicy(target, "allow");
    useDom0(target);
    const t = track();
    const pending = requestRestore(db, { repository: "main", snapshot }, t.events);
    const waiting = await confirm(target, "allow", "qubes.DedupRestore");
    // the request names the snapshot's backup-id (from the index), so dom0's ledger takes that backup
    const { backupId } = await db.prisma.snapshot.findFirstOrThrow({ where: { engineSnapshotId: snapshot } });
    expect(waiting).toMatchObject({ kind: "restore", snapshotRef: snapshot, request: `{"repo":"main","snapshot":"${snapshot}","backupId":"${backupId}"}` });
    const r = await pending;
    expect(r.outcome, r.message).toBe("succeeded");
    expect(r.message).toMatch(new RegExp(`^restored 4 qube\\(s\\): (dom0|fedora-41|vault|work)(, (dom0|fedora-41|vault|work)){3} from snapshot ${snapshot}; every chunk dom0's ledger lists for backup [0-9]{8}T[0-9]{6}-[0-9]+ arrived intact and in order$`));
    expect(t.states).toEqual(["waiting", "running", "succeeded"]);
    expect(volumeHashes(target)).toEqual(volumeHashes(m.dom0));
    expect(Object.keys(volumeHashes(target))).toHaveLength(4);
    expect(listPending(target)).toEqual([]);
  }, 120_000);

  it("restores in paranoid mode: decrypted in the disposable qube by the shim its template's package puts first, byte-identical", async () => {
    const target = path.join(m.work, "paranoid");
    createSystem(target, { qubes: [] });
    installPolicy(target, "allow");
    installDispvmPackage(target);
    useDom0(target);
    const pending = requestRestore(db, { repository: "main", snapshot, qubes: ["work", "vault"], paranoid: true });
    const waiting = await confirm(target, "allow", "qubes.DedupRestore");
    const { backupId } = await db.prisma.snapshot.findFirstOrThrow({ where: { engineSnapshotId: snapshot } });
    expect(waiting.request).toBe(`{"repo":"main","snapshot":"${snapshot}","backupId":"${backupId}","qubes":["work","vault"],"paranoid":true}`);
    const r = await pending;
    expect(r.outcome, r.message).toBe("succeeded");
    expect(r.message).toMatch(new RegExp(`^restored 2 qube\\(s\\): (work, vault|vault, work) from snapshot ${snapshot} in a disposable qube \\(paranoid mode\\); warning: paranoid mode: the disposable qube decrypted the stream, so dom0 could not check its chunks against the ledger \\(completeness not checked\\)$`));
    const want = volumeHashes(m.dom0);
    expect(volumeHashes(target)).toEqual({ "vault/private.img": want["vault/private.img"], "work/private.img": want["work/private.img"] });
  }, 180_000);

  it("a paranoid-mode restore fails, restoring nothing, when the disposable's template lacks the package", async () => {
    const target = path.join(m.work, "paranoid-bare");
    createSystem(target, { qubes: [] });
    installPolicy(target, "allow");
    useDom0(target);
    const pending = requestRestore(db, { repository: "main", snapshot, qubes: ["vault"], paranoid: true });
    await confirm(target, "allow", "qubes.DedupRestore");
    const r = await pending;
    expect(r.outcome).toBe("failed");
    expect(r.message).toContain("qvm-backup-restore failed with 1 in the disposable qube");
    expect(volumeHashes(target)).toEqual({});
  }, 180_000);

  it("restores the older snapshot the user chose: the request names its backup-id, dom0 says it is an older backup", async () => {
    useDom0(m.dom0);
    const before = qubeVolumeHashes(m.dom0, "work");
    mutateVolume(simPaths(m.dom0).volume("work", "private"), { seed: "newer" });
    expect((await requestBackup(db, { repository: "main" })).outcome).toBe("succeeded");
    const older = await db.prisma.snapshot.findFirstOrThrow({ where: { engineSnapshotId: snapshot } });
    const newer = await db.prisma.snapshot.findFirstOrThrow({ where: { NOT: { engineSnapshotId: snapshot } } });
    const target = path.join(m.work, "older");
    createSystem(target, { qubes: [] });
    installPolicy(target, "allow");
    useDom0(target);
    const pending = requestRestore(db, { repository: "main", snapshot, qubes: ["work"] });
    await confirm(target, "allow", "qubes.DedupRestore");
    const r = await pending;
    expect(r.outcome, r.message).toBe("succeeded");
    expect(r.message).toBe(`restored 1 qube(s): work from snapshot ${snapshot}; every chunk dom0's ledger lists for backup ${older.backupId} arrived intact and in order`);
    const shown = fs.readFileSync(path.join(target, "dialogs/answered.log"), "utf8");
    expect(shown).toContain(`Restore work from an older backup, backup ${older.backupId} made `);
    expect(shown).toContain(`This is an older backup: backup ${newer.backupId} (made `);
    expect(qubeVolumeHashes(target, "work")).toEqual(before);
  }, 180_000);

  it("a declined restore is refused and nothing runs in dom0", async () => {
    const target = path.join(m.work, "declined");
    createSystem(target, { qubes: [] });
    installPolicy(target, "allow");
    useDom0(target);
    const dumpsBefore = (await jobsOf("dump")).length;
    const t = track();
    const pending = requestRestore(db, { repository: "main", snapshot, qubes: ["work"], conflicts: "rename" }, t.events);
    await confirm(target, "deny", "qubes.DedupRestore");
    const r = await pending;
    expect(r.outcome).toBe("refused");
    expect(r.message).toMatch(/^dom0 refused the request \(its qrexec policy denies it or the confirmation was declined\)/);
    expect(t.states).toEqual(["waiting", "refused"]);
    expect(await db.prisma.job.findUniqueOrThrow({ where: { id: r.jobId } })).toMatchObject({ status: "refused", error: r.message, percent: null });
    expect((await jobsOf("dump")).length).toBe(dumpsBefore);
    expect(volumeHashes(target)).toEqual({});
    expect(fs.existsSync(path.join(target, "qrexec/log/qubes.DedupRestore.log"))).toBe(false);
  }, 60_000);

  it("a denied backup (ask -> deny) is refused: qvm-backup never starts, no new snapshot", async () => {
    useDom0(m.dom0);
    installPolicy(m.dom0, "ask");
    const before = resticSnapshotIds(resticRepo(m));
    const ingests = (await jobsOf("backup")).length;
    const pending = requestBackup(db, { repository: "main", qubes: ["work"] });
    await confirm(m.dom0, "deny", "qubes.DedupBackup");
    expect(await pending).toMatchObject({ outcome: "refused" });
    expect((await jobsOf("backup")).length).toBe(ingests);
    expect(resticSnapshotIds(resticRepo(m))).toEqual(before);
    installPolicy(m.dom0, "allow");
  }, 60_000);

  it("dom0 refuses a hostile request with its reason, before running anything", async () => {
    useDom0(m.dom0);
    const before = resticSnapshotIds(resticRepo(m));
    // The restore policy asks first; the dom0 user allows, then the agent refuses the request.
    const pending = requestRestore(db, { repository: "main", snapshot: "../../etc/shadow" });
    await confirm(m.dom0, "allow", "qubes.DedupRestore");
    const r = await pending;
    expect(r.outcome).toBe("refused");
    expect(r.message).toMatch(/^snapshot "..\/..\/etc\/shadow" is not valid/);
    const b = await requestBackup(db, { repository: "main", qubes: ["work;reboot"] });
    expect(b).toMatchObject({ outcome: "refused", message: expect.stringMatching(/^qube "work;reboot" is not a valid qube name/) });
    expect(resticSnapshotIds(resticRepo(m))).toEqual(before);
  }, 60_000);

  it("a failing run is failed with dom0's reason", async () => {
    useDom0(m.dom0);
    const r = await requestBackup(db, { repository: "main", qubes: ["nosuchqube"] });
    expect(r.outcome).toBe("failed");
    expect(r.message).toMatch(/^qvm-backup failed \(exit 1\): Qube "nosuchqube" does not exist/);
    expect(await db.prisma.job.findUniqueOrThrow({ where: { id: r.jobId } })).toMatchObject({ status: "failed", error: r.message });
  }, 60_000);

  it("cancelling while dom0 waits for the confirmation fails the job and withdraws the question", async () => {
    useDom0(m.dom0);
    installPolicy(m.dom0, "ask");
    const abort = new AbortController();
    const pending = requestBackup(db, { repository: "main" }, {}, abort.signal);
    await waitForPending(m.dom0, { service: "qubes.DedupBackup", timeoutSeconds: 60 });
    abort.abort();
    const r = await pending;
    expect(r).toMatchObject({ outcome: "failed", message: expect.stringMatching(/^the request was cancelled before dom0 answered it/) });
    expect(await db.prisma.job.findUniqueOrThrow({ where: { id: r.jobId } })).toMatchObject({ status: "failed" });
    for (let i = 0; i < 100 && listPending(m.dom0).length; i++) await new Promise((res) => setTimeout(res, 50));
    expect(listPending(m.dom0)).toEqual([]);
    installPolicy(m.dom0, "allow");
  }, 60_000);

  it("reports a missing qrexec-client-vm as a failure, and an unknown repository before recording anything", async () => {
    useDom0(m.dom0);
    process.env.QUBES_DEDUP_QREXEC_CLIENT = path.join(m.work, "no-such-client");
    const r = await requestBackup(db, { repository: "main" });
    expect(r.outcome).toBe("failed");
    expect(r.message).toMatch(/^cannot run .*no-such-client .*; run this in the backup qube, where qrexec-client-vm exists, or set QUBES_DEDUP_QREXEC_CLIENT\.$/);
    const count = await db.prisma.job.count();
    await expect(requestBackup(db, { repository: "nope" })).rejects.toThrow(/no repository named "nope"/);
    expect(await db.prisma.job.count()).toBe(count);
  }, 60_000);
});
