import fs from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { addQube, lvRows, mutateVolume, removeQube, renameQube, resizeVolume, revertVolume, runningVolumePath, setQubeFeature, shutdownQube, simPaths, startQube } from "@qubes-dedup/qubes-sim";
import { committedVolumeHashes } from "@qubes-dedup/qubes-sim/testing";
import { buildChain, freshDom0, machine, runAgent, snapshots, type Machine } from "./ledger-harness.ts";

// `backup --changed` through the simulated dom0 (running qubes write to a
// copy committed on stop), the real shim, dom0's ledger and real restic /
// borg: each case names exactly the qubes sent and why. The cases of one
// engine run in order on one machine, each starting from the state the
// previous one left.

const KiB = 1024;
const PREFIX = "qubes-dedup-agent: ";
const VERDICT = /^[A-Za-z][\w.-]*: (changed|unchanged|never|cannot|full|gone)/;

interface Changed {
  status: number;
  /** "<qube>: <reason>" lines, in order. */
  verdicts: string[];
  /** The backup the ledger recorded, and its qubes in stream order. */
  backupId?: string;
  inBackup: string[];
  stderr: string;
}

async function backupChanged(m: Machine, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Changed> {
  const r = await runAgent(["backup", "--changed", "--root", m.dom0, ...args], { ...m.env, ...env });
  const lines = r.stderr.split("\n").filter((l) => l.startsWith(PREFIX)).map((l) => l.slice(PREFIX.length));
  const ledger = /recorded backup (\S+) in dom0's ledger \(([^)]*)\)/.exec(r.stderr);
  return { status: r.status, verdicts: lines.filter((l) => VERDICT.test(l)), backupId: ledger?.[1], inBackup: ledger ? ledger[2]!.split(", ") : [], stderr: r.stderr };
}

const recordFile = (m: Machine) => path.join(m.dom0, "var/lib/qubes-dedup/changes/state.json");
const readRecord = (m: Machine) => JSON.parse(fs.readFileSync(recordFile(m), "utf8")) as { qubes: Record<string, { backupId: string; running: boolean; volumes: Record<string, unknown> }> };
const unchanged = (names: string[], id: string) => names.map((n) => `${n}: unchanged since ${id}`);
const NOTHING = `${PREFIX}nothing changed since the last backup of these qubes; qvm-backup was not run.\n`;

/** Restores snapshot `shortId` (all its qubes) into a fresh dom0 with the agent; the restored qubes' names. */
async function restoreAll(m: Machine, shortId: string, target: string): Promise<string[]> {
  const r = await runAgent(["restore", "--root", m.dom0, shortId], { ...m.env, QUBES_SIM_ROOT: target });
  expect(r.stderr).toContain(`${PREFIX}restore finished`);
  expect(r.status).toBe(0);
  return [...fs.readFileSync(simPaths(target).qubesXml, "utf8").matchAll(/<property name="name">([^<]+)<\/property>/g)].map((x) => x[1]!);
}

describe("backup --changed with restic", { timeout: 300_000 }, () => {
  let m: Machine;
  let first: string;
  let last: Record<string, string>;

  beforeAll(() => {
    buildChain();
    m = machine("restic");
    // The machine's qubes are on lvm_thin; personal is on the file pool.
    addQube(m.dom0, { name: "personal", klass: "AppVM", template: "fedora-41", label: "yellow", privateSize: 128 * KiB, pool: "file" }, "changes");
    // vault runs during the first backup, with unsaved writes.
    startQube(m.dom0, "vault");
    mutateVolume(runningVolumePath(m.dom0, "vault", "private"), { seed: "running", fraction: 0.5 });
  }, 120_000);

  it("first run: nothing is recorded, so every selected qube is sent; the record is root-only", async () => {
    const r = await backupChanged(m);
    expect(r.verdicts).toEqual(["dom0", "fedora-41", "personal", "vault", "work"].map((n) => `${n}: never backed up`));
    expect(r.inBackup).toEqual(["fedora-41", "personal", "vault", "work", "dom0"]);
    expect(r.status).toBe(0);
    first = r.backupId!;
    expect(fs.statSync(recordFile(m)).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(recordFile(m))).mode & 0o777).toBe(0o700);
    const rec = readRecord(m);
    expect(rec.qubes.vault!.running).toBe(true);
    expect(rec.qubes.work!.volumes.private).toEqual({ kind: "lvm", lv: "qubes_dom0/vm-work-private", uuid: lvRows(m.dom0).find((l) => l.lv === "vm-work-private")!.uuid, size: 384 * KiB });
    const st = fs.statSync(simPaths(m.dom0).volume("personal", "private"), { bigint: true });
    expect(rec.qubes.personal!.volumes.private).toEqual({ kind: "file", ino: String(st.ino), mtimeNs: String(st.mtimeNs), ctimeNs: String(st.ctimeNs), size: 128 * KiB });
    expect(r.stderr).toContain(`${PREFIX}dom0's change record: backup ${first} holds the current data of fedora-41, personal, vault, work, dom0\n`);
  });

  it("nothing changed: says so, runs no qvm-backup, exit 0 (a running qube is unchanged until it stops)", async () => {
    const before = snapshots(m).length;
    const r = await backupChanged(m);
    expect(r.verdicts).toEqual([...unchanged(["dom0", "fedora-41", "personal"], first), `vault: unchanged since ${first} (running then and now: backed up as of its last stop)`, `work: unchanged since ${first}`]);
    expect(r.stderr.endsWith(NOTHING)).toBe(true);
    expect(r.status).toBe(0);
    expect(snapshots(m).length).toBe(before);
  });

  it("started before a backup and stopped after it: the stop is a change; the snapshot of that qube alone restores byte for byte", async () => {
    shutdownQube(m.dom0, "vault");
    const r = await backupChanged(m);
    expect(r.verdicts).toEqual([...unchanged(["dom0", "fedora-41", "personal"], first), "vault: changed: stopped after its last backup, which it was running during; changed: private volume replaced (lv uuid)", `work: unchanged since ${first}`]);
    expect(r.inBackup).toEqual(["vault"]);
    const rec = readRecord(m);
    expect([rec.qubes.vault!.backupId, rec.qubes.vault!.running, rec.qubes.work!.backupId]).toEqual([r.backupId, false, first]);
    // A snapshot of a subset is a complete stock backup of those qubes.
    const snap = snapshots(m).find((s) => s.backupId === r.backupId)!;
    const target = freshDom0(m, "restore-vault");
    expect(await restoreAll(m, snap.shortId, target)).toEqual(["vault"]);
    expect(committedVolumeHashes(target, "vault")).toEqual(committedVolumeHashes(m.dom0, "vault"));
    last = { vault: r.backupId! };
  });

  it("reverted: the volume is replaced", async () => {
    revertVolume(m.dom0, "vault", "private");
    const r = await backupChanged(m);
    expect(r.verdicts).toEqual([...unchanged(["dom0", "fedora-41", "personal"], first), "vault: changed: private volume replaced (lv uuid)", `work: unchanged since ${first}`]);
    expect(r.inBackup).toEqual(["vault"]);
    last.vault = r.backupId!;
  });

  it("resized, on lvm_thin and on a file pool: the size and the volume config changed", async () => {
    resizeVolume(m.dom0, "work", "private", 512 * KiB);
    resizeVolume(m.dom0, "personal", "private", 256 * KiB);
    const r = await backupChanged(m);
    const settings = "changed: settings (properties, features or volume config in qubes.xml)";
    expect(r.verdicts).toEqual([
      ...unchanged(["dom0", "fedora-41"], first),
      `personal: changed: private volume resized (131072 to 262144 bytes); ${settings}`,
      `vault: unchanged since ${last.vault}`,
      `work: changed: private volume resized (393216 to 524288 bytes); ${settings}`,
    ]);
    expect(r.inBackup).toEqual(["work", "personal"]);
    last.work = last.personal = r.backupId!;
  });

  it("settings only: a feature set on a qube", async () => {
    setQubeFeature(m.dom0, "personal", "service.cups", "1");
    const r = await backupChanged(m);
    expect(r.verdicts).toEqual([...unchanged(["dom0", "fedora-41"], first), "personal: changed: settings (properties, features or volume config in qubes.xml)", `vault: unchanged since ${last.vault}`, `work: unchanged since ${last.work}`]);
    expect(r.inBackup).toEqual(["personal"]);
    last.personal = r.backupId!;
  });

  it("template updated: the template is sent, the qubes based on it are not (they back up none of its data)", async () => {
    startQube(m.dom0, "fedora-41");
    mutateVolume(runningVolumePath(m.dom0, "fedora-41", "root"), { seed: "dnf upgrade", fraction: 0.3 });
    shutdownQube(m.dom0, "fedora-41");
    const r = await backupChanged(m);
    expect(r.verdicts).toEqual([
      `dom0: unchanged since ${first}`,
      "fedora-41: changed: root volume replaced (lv uuid); changed: private volume replaced (lv uuid)",
      `personal: unchanged since ${last.personal}`,
      `vault: unchanged since ${last.vault}`,
      `work: unchanged since ${last.work}`,
    ]);
    expect(r.inBackup).toEqual(["fedora-41"]);
    last["fedora-41"] = r.backupId!;
  });

  it("renamed: sent under its new name, the old name stays in the record", async () => {
    renameQube(m.dom0, "personal", "diary");
    const r = await backupChanged(m);
    expect(r.verdicts).toEqual([
      `diary: never backed up under this name (renamed from personal)`,
      `dom0: unchanged since ${first}`,
      `fedora-41: unchanged since ${last["fedora-41"]}`,
      `vault: unchanged since ${last.vault}`,
      `work: unchanged since ${last.work}`,
      `personal: gone from qubes.xml; its last backup ${last.personal} stays in the record`,
    ]);
    expect(r.inBackup).toEqual(["diary"]);
    last.diary = r.backupId!;
  });

  it("a qube added: never backed up; a qube removed: nothing to send", async () => {
    // Some data in it: a stream whose only qube has no data at all is stored as no snapshot (restic: "snapshot is empty").
    addQube(m.dom0, { name: "new", klass: "AppVM", template: "fedora-41", privateSize: 256 * KiB });
    expect(fs.statSync(simPaths(m.dom0).volume("new", "private")).blocks).toBeGreaterThan(0);
    const added = await backupChanged(m);
    expect(added.verdicts.filter((v) => !v.includes("unchanged") && !v.includes("gone"))).toEqual(["new: never backed up"]);
    expect(added.inBackup, added.stderr).toEqual(["new"]);
    removeQube(m.dom0, "work");
    const removed = await backupChanged(m);
    expect(removed.verdicts).toEqual([
      `diary: unchanged since ${last.diary}`,
      `dom0: unchanged since ${first}`,
      `fedora-41: unchanged since ${last["fedora-41"]}`,
      `new: unchanged since ${added.backupId}`,
      `vault: unchanged since ${last.vault}`,
      `personal: gone from qubes.xml; its last backup ${last.personal} stays in the record`,
      `work: gone from qubes.xml; its last backup ${last.work} stays in the record`,
    ]);
    expect(removed.stderr.endsWith(NOTHING)).toBe(true);
    expect(removed.status).toBe(0);
  });

  it("a full backup is due when a selected qube was last sent fullEveryDays (30) ago: every selected qube is sent", async () => {
    const later = new Date(Date.now() + 31 * 86_400_000).toISOString();
    const r = await backupChanged(m, [], { QUBES_DEDUP_NOW: later });
    const due = `full backup due: dom0 was last sent 31 days ago, in ${first} (fullEveryDays 30)`;
    expect(r.verdicts.slice(0, 2)).toEqual([`diary: ${due} (unchanged since ${last.diary})`, `dom0: ${due} (unchanged since ${first})`]);
    expect(r.verdicts).toHaveLength(7);
    expect(r.inBackup).toEqual(["diary", "fedora-41", "new", "vault", "dom0"]);
    expect(Object.values(readRecord(m).qubes).filter((q) => q.backupId === r.backupId)).toHaveLength(5);
  });
});

describe("backup --changed with borg, and the backup qube's {\"changed\": true} request", { timeout: 300_000 }, () => {
  let m: Machine;

  beforeAll(() => {
    buildChain();
    m = machine("borg");
  }, 120_000);

  it("sends only the qube that ran and wrote; its snapshot restores byte for byte", async () => {
    const first = await backupChanged(m, ["work", "vault"]);
    expect(first.verdicts).toEqual(["work: never backed up", "vault: never backed up"]);
    expect(first.inBackup).toEqual(["work", "vault"]);
    startQube(m.dom0, "work");
    mutateVolume(runningVolumePath(m.dom0, "work", "private"), { seed: "borg", fraction: 0.2 });
    shutdownQube(m.dom0, "work");
    const r = await backupChanged(m, ["work", "vault"]);
    expect(r.verdicts).toEqual(["work: changed: private volume replaced (lv uuid)", `vault: unchanged since ${first.backupId}`]);
    expect(r.inBackup).toEqual(["work"]);
    const snap = snapshots(m).find((s) => s.backupId === r.backupId)!;
    const target = freshDom0(m, "restore-work");
    expect(await restoreAll(m, snap.shortId, target)).toEqual(["work"]);
    expect(committedVolumeHashes(target, "work")).toEqual(committedVolumeHashes(m.dom0, "work"));
  });

  it("rpc backup with {\"changed\": true}: a note line per qube, then ok naming the changed qubes", async () => {
    setQubeFeature(m.dom0, "vault", "gui", "1");
    const r = await runAgent(["rpc", "backup", "--root", m.dom0], { ...m.env, QREXEC_REMOTE_DOMAIN: "backup" }, '{"qubes":["work","vault"],"changed":true}\n');
    const lines = r.stdout.split("\n").filter((l) => !l.startsWith("progress "));
    const id = /recorded as backup (\S+) in/.exec(r.stdout)?.[1];
    const work = readRecord(m).qubes.work!.backupId;
    expect(lines).toEqual([
      `note work: unchanged since ${work}`,
      "note vault: changed: settings (properties, features or volume config in qubes.xml)",
      `note dom0's change record: backup ${id} holds the current data of vault`,
      `ok backup of the changed qubes vault sent to backup (repository main); recorded as backup ${id} in dom0's ledger`,
      "",
    ]);
    expect(r.status).toBe(0);
    const again = await runAgent(["rpc", "backup", "--root", m.dom0], { ...m.env, QREXEC_REMOTE_DOMAIN: "backup" }, '{"qubes":["work","vault"],"changed":true}\n');
    expect(again.stdout).toBe(`note work: unchanged since ${work}\nnote vault: unchanged since ${id}\nok nothing changed since the last backup of these qubes; qvm-backup was not run\n`);
  });
});
