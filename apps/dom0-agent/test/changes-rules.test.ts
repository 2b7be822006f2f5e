import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createSystem, setQubeFeature, setQubeProperty, loadQubesXml, serializeQubesXml } from "@qubes-dedup/qubes-sim";
import { tmpDir } from "@qubes-dedup/qubes-sim/testing";
import { decide, differences } from "../src/changes/decide.ts";
import { CHANGES_FORMAT, afterBackup, parseChangeRecord, readChangeRecord, writeChangeRecord, type ChangeRecord, type QubeObservation } from "../src/changes/record.ts";
import { fileSignal, parseLvs } from "../src/changes/signals.ts";
import { parseLiveStore } from "../src/changes/store-xml.ts";

const HEX = (c: string) => c.repeat(64);
const lvm = (uuid: string, size = 4096) => ({ kind: "lvm" as const, lv: "qubes_dom0/vm-work-private", uuid, size });
const obs = (o: Partial<QubeObservation> = {}): QubeObservation => ({ running: false, settings: HEX("a"), volumes: { private: lvm("U1") }, files: { "firewall.xml": null, "notes.txt": null }, ...o });
const T0 = new Date("2026-12-01T00:00:00Z");
const record = (entries: Record<string, QubeObservation & { time?: string }>): ChangeRecord => ({
  format: CHANGES_FORMAT,
  qubes: Object.fromEntries(Object.entries(entries).map(([n, o]) => [n, { ...o, backupId: "20261201T000000-1", time: o.time ?? T0.toISOString() }])),
});
const run = (r: ChangeRecord, selected: [string, QubeObservation | { unknown: string }][], days = 1, forceFull = false) =>
  decide({ record: r, selected: selected.map(([name, observed]) => ({ name, observed })), now: new Date(T0.getTime() + days * 86_400_000), fullEveryDays: 30, forceFull }, new Set(selected.map(([n]) => n)));

describe("which qubes --changed sends", () => {
  it("a qube running during its last backup counts as changed once halted, even with the same signals", () => {
    const r = record({ work: obs({ running: true }) });
    expect(run(r, [["work", obs({ running: true })]]).verdicts).toEqual([{ qube: "work", backup: false, reason: "unchanged since 20261201T000000-1 (running then and now: backed up as of its last stop)" }]);
    expect(run(r, [["work", obs()]]).verdicts).toEqual([{ qube: "work", backup: true, reason: "changed: stopped after its last backup, which it was running during" }]);
  });

  it("names each signal that moved: file inode, size, mtime, ctime; LV uuid, size and name; settings; firewall and notes", () => {
    const f = { kind: "file" as const, ino: "10", mtimeNs: "1", ctimeNs: "1", size: 8192 };
    const was = { ...obs({ volumes: { private: f, root: lvm("R") } }), backupId: "b", time: T0.toISOString() };
    expect(differences(was, obs({ volumes: { private: { ...f, ino: "11" }, root: lvm("R") } }))).toEqual(["changed: private volume replaced (inode)"]);
    expect(differences(was, obs({ volumes: { private: { ...f, size: 12288 }, root: lvm("R", 8192) } }))).toEqual(["changed: private volume resized (8192 to 12288 bytes)", "changed: root volume resized (4096 to 8192 bytes)"]);
    expect(differences(was, obs({ volumes: { private: { ...f, mtimeNs: "2", ctimeNs: "2" }, root: lvm("R") } }))).toEqual(["changed: private volume written (mtime)"]);
    expect(differences(was, obs({ volumes: { private: { ...f, ctimeNs: "2" }, root: { ...lvm("R"), lv: "qubes_dom0/vm-x-root" } } }))).toEqual(["changed: private volume touched (ctime)", "changed: root volume is now qubes_dom0/vm-x-root"]);
    expect(differences(was, obs({ settings: HEX("b"), volumes: { private: f }, files: { "firewall.xml": HEX("c"), "notes.txt": null } }))).toEqual([
      "changed: volume root is gone",
      "changed: settings (properties, features or volume config in qubes.xml)",
      "changed: firewall.xml",
    ]);
  });

  it("cannot tell: an unreadable signal or qube is sent with the reason, and stays unrecorded", () => {
    const r = record({ work: obs() });
    const unknown = obs({ volumes: { private: { kind: "unknown", why: "pool zfs has driver zfs, which gives no change signal" } } });
    expect(run(r, [["work", unknown], ["new", { unknown: "whether it runs (qvm-ls failed (exit 1: x))" }]]).verdicts).toEqual([
      { qube: "work", backup: true, reason: "cannot tell: private volume: pool zfs has driver zfs, which gives no change signal" },
      { qube: "new", backup: true, reason: "cannot tell: whether it runs (qvm-ls failed (exit 1: x))" },
    ]);
    const after = afterBackup(r, new Map([["work", unknown]]), ["work", "new"], "20261202T000000-2", T0);
    expect(Object.keys(after.qubes)).toEqual(["work"]);
    expect(run(after, [["work", unknown]]).verdicts[0]!.reason).toBe("cannot tell: private volume: pool zfs has driver zfs, which gives no change signal");
  });

  it("a full backup is due once a selected qube was last sent fullEveryDays ago, or with --full; never-backed-up qubes do not make one due", () => {
    const r = record({ work: obs(), vault: { ...obs(), time: new Date(T0.getTime() + 86_400_000).toISOString() } });
    expect(run(r, [["work", obs()], ["vault", obs()]], 29.9).full).toBe(false);
    const due = run(r, [["work", obs()], ["vault", obs()]], 30);
    expect(due.verdicts.map((v) => [v.backup, v.reason])).toEqual([
      [true, "full backup due: work was last sent 30 days ago, in 20261201T000000-1 (fullEveryDays 30) (unchanged since 20261201T000000-1)"],
      [true, "full backup due: work was last sent 30 days ago, in 20261201T000000-1 (fullEveryDays 30) (unchanged since 20261201T000000-1)"],
    ]);
    expect(run(r, [["vault", obs()]], 30).full).toBe(false);
    expect(run(record({}), [["x", obs()]], 400).verdicts).toEqual([{ qube: "x", backup: true, reason: "never backed up" }]);
    expect(run(r, [["vault", obs()]], 0, true).verdicts[0]!.reason).toBe("full backup asked for (--full) (unchanged since 20261201T000000-1)");
  });

  it("a rename is told by the qube's uuid; a new qube with a recorded uuid that is still live is just new", () => {
    const r = record({ personal: obs({ uuid: "u-1" }) });
    expect(run(r, [["diary", obs({ uuid: "u-1" })]]).verdicts[0]!.reason).toBe("never backed up under this name (renamed from personal)");
    const both = decide({ record: r, selected: [{ name: "diary", observed: obs({ uuid: "u-1" }) }], now: T0, fullEveryDays: 30, forceFull: false }, new Set(["diary", "personal"]));
    expect(both.verdicts[0]!.reason).toBe("never backed up");
  });
});

describe("the record file and what dom0 reads", () => {
  it("writes root-only and atomically, reads back, and refuses a damaged file with one sentence", () => {
    const root = tmpDir("rec");
    expect(readChangeRecord(root)).toEqual({ format: CHANGES_FORMAT, qubes: {} });
    const r = afterBackup(readChangeRecord(root), new Map([["work", obs()]]), ["work"], "20261202T000000-2", T0);
    writeChangeRecord(root, r);
    const file = path.join(root, "var/lib/qubes-dedup/changes/state.json");
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.existsSync(`${file}.tmp`)).toBe(false);
    expect(readChangeRecord(root)).toEqual(r);
    expect(() => parseChangeRecord("{", file)).toThrow(`the change record ${file} is not valid JSON; remove it, and the next backup sends every qube.`);
    expect(() => parseChangeRecord('{"format":"x","qubes":{}}', file)).toThrow(/^the change record .* is not one \(.*\); remove it, and the next backup sends every qube\.$/);
  });

  it("the settings digest moves with a property or feature, not with qubesd's backup_timestamp or backup-* features", () => {
    const root = path.join(tmpDir("xml"), "r");
    createSystem(root, { qubes: [{ name: "fedora-41", klass: "TemplateVM", privateSize: 4096, rootSize: 4096 }, { name: "work", klass: "AppVM", template: "fedora-41", privateSize: 4096 }] });
    const digest = () => parseLiveStore(fs.readFileSync(path.join(root, "var/lib/qubes/qubes.xml"), "utf8")).qubes.find((q) => q.name === "work")!.settings;
    const d0 = digest();
    setQubeProperty(root, "work", "backup_timestamp", "1800000000");
    setQubeFeature(root, "work", "backup-size", "4096");
    expect(digest()).toBe(d0);
    setQubeProperty(root, "work", "netvm", "");
    expect(digest()).not.toBe(d0);
    const live = parseLiveStore(serializeQubesXml(loadQubesXml(root)));
    expect(live.pools.map((p) => [p.name, p.driver, p.dirPath])).toEqual([["lvm", "lvm_thin", undefined], ["linux-kernel", "linux-kernel", "/var/lib/qubes/vm-kernels"], ["varlibqubes", "file", "/var/lib/qubes"]]);
    expect(live.qubes.map((q) => [q.name, q.klass, q.includeInBackups])).toEqual([["dom0", "AdminVM", true], ["fedora-41", "TemplateVM", true], ["work", "AppVM", true]]);
  });

  it("parses lvs rows (leading spaces, | separated, bytes) and reads file signals through symbolic links", () => {
    expect([...parseLvs("  qubes_dom0|vm-work-private|abc-def|2097152\n  garbage\n  qubes_dom0|pool00||x\n")]).toEqual([["qubes_dom0/vm-work-private", { uuid: "abc-def", size: 2097152 }]]);
    const dir = tmpDir("sig");
    fs.writeFileSync(path.join(dir, "a.img"), "x");
    fs.symlinkSync("a.img", path.join(dir, "l.img"));
    expect(fileSignal(path.join(dir, "l.img"))).toMatchObject({ kind: "file", ino: String(fs.statSync(path.join(dir, "a.img")).ino), size: 1 });
    expect(fileSignal(path.join(dir, "none.img"))).toEqual({ kind: "unknown", why: `${path.join(dir, "none.img")} cannot be read (ENOENT)` });
  });
});
