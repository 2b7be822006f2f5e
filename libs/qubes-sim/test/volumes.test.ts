import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  addQube,
  domainName,
  importVolume,
  isRunning,
  loadQubesXml,
  lvRows,
  mutateVolume,
  removeQube,
  renameQube,
  resizeVolume,
  revertVolume,
  runBackup,
  runningVolumePath,
  setQubeFeature,
  setQubeProperty,
  shutdownQube,
  simPaths,
  startQube,
} from "../src/index.ts";
import { getProp } from "../src/system/qubes-xml.ts";
import { sha256File, tmpDir } from "../src/testing/index.ts";
import { PASS, fakeEnv, smallSystem } from "./helpers.ts";

const HERE = path.dirname(new URL(import.meta.url).pathname);
const BIN = path.resolve(HERE, "../bin");
const lvUuidOf = (root: string, lv: string) => lvRows(root).find((r) => `${r.vg}/${r.lv}` === lv)?.uuid;
const view = (root: string, rel: string) => path.join(root, "var/lib/qubes", rel);
const inode = (p: string) => fs.statSync(p).ino;

describe("a qube's volumes between backups (DESIGN.md: last committed state)", () => {
  it("a running lvm_thin qube writes to -snap; the stop renames it over the volume with the snapshot's new UUID", () => {
    const root = smallSystem();
    const p = simPaths(root);
    const before = sha256File(p.volume("work", "private"));
    const uuid = lvUuidOf(root, "qubes_dom0/vm-work-private")!;
    expect(uuid).toMatch(/^[A-Za-z0-9]{6}(-[A-Za-z0-9]{4}){5}-[A-Za-z0-9]{6}$/);
    startQube(root, "work");
    expect(isRunning(root, "work")).toBe(true);
    const snap = runningVolumePath(root, "work", "private");
    expect(path.basename(snap)).toBe("private-snap.img");
    const snapUuid = lvUuidOf(root, "qubes_dom0/vm-work-private-snap")!;
    expect(snapUuid).not.toBe(uuid);
    mutateVolume(snap, { seed: "running" });
    // Still the committed content, and the same volume.
    expect(sha256File(p.volume("work", "private"))).toBe(before);
    expect(lvUuidOf(root, "qubes_dom0/vm-work-private")).toBe(uuid);
    shutdownQube(root, "work", new Date(1_800_000_000_000));
    expect(isRunning(root, "work")).toBe(false);
    expect(sha256File(p.volume("work", "private"))).not.toBe(before);
    expect(lvUuidOf(root, "qubes_dom0/vm-work-private")).toBe(snapUuid);
    // revisions_to_keep=2: the old volume is revision <vid>-<unix time>-back, with its UUID.
    expect(lvUuidOf(root, "qubes_dom0/vm-work-private-1800000000-back")).toBe(uuid);
    expect(sha256File(path.join(p.volumeDir("work"), "private-1800000000-back.img"))).toBe(before);
    expect(fs.existsSync(snap)).toBe(false);
  });

  it("a file-pool qube writes to -dirty.img; the stop renames it over <volume>.img (a new inode), seen at Qubes' path", () => {
    const root = smallSystem();
    const p = simPaths(root);
    const at = view(root, "appvms/personal/private.img");
    expect(fs.realpathSync(at)).toBe(p.volume("personal", "private"));
    const ino = inode(at);
    const before = sha256File(at);
    startQube(root, "personal");
    expect(path.basename(runningVolumePath(root, "personal", "private"))).toBe("private-dirty.img");
    mutateVolume(runningVolumePath(root, "personal", "private"), { seed: "dirty" });
    expect(inode(at)).toBe(ino);
    shutdownQube(root, "personal", new Date(1_800_000_000_000));
    expect(inode(at)).not.toBe(ino);
    expect(sha256File(at)).not.toBe(before);
    expect(sha256File(`${p.volume("personal", "private")}@1800000000`)).toBe(before);
    expect(fs.readlinkSync(view(root, "qubes.xml"))).toBe("../../../qubes.xml");
  });

  it("qvm-backup of a running qube sends its last committed state, never the copy it writes to", async () => {
    const root = smallSystem();
    const committed = tmpDir("committed");
    await runBackup({ root, passphrase: PASS, location: path.join(committed, "a"), destVm: "dom0", qubes: ["work", "personal"], env: fakeEnv(), now: new Date(2026, 0, 1) });
    startQube(root, "work");
    startQube(root, "personal");
    mutateVolume(runningVolumePath(root, "work", "private"), { seed: "r1", fraction: 0.5 });
    mutateVolume(runningVolumePath(root, "personal", "private"), { seed: "r2", fraction: 0.5 });
    await runBackup({ root, passphrase: PASS, location: path.join(committed, "b"), destVm: "dom0", qubes: ["work", "personal"], env: fakeEnv(), now: new Date(2026, 0, 1) });
    // The outer framing differs on every run; the volumes' chunks are byte-identical.
    const chunks = (stream: string) => {
      const dir = fs.mkdtempSync(path.join(committed, "x-"));
      execFileSync("tar", ["-xf", stream, "--ignore-zeros", "-C", dir]);
      return Object.fromEntries(fs.readdirSync(dir).filter((d) => d.startsWith("vm")).flatMap((d) => fs.readdirSync(path.join(dir, d)).map((f) => [`${d}/${f}`, sha256File(path.join(dir, d, f))])));
    };
    const a = chunks(path.join(committed, "a"));
    expect(Object.keys(a).sort()).toEqual(["vm2/firewall.xml.000.enc", "vm2/private.img.000.enc", "vm3/private.img.000.enc"]);
    expect(chunks(path.join(committed, "b"))).toEqual(a);
  });

  it("qvm-backup sets backup_timestamp of every backed-up qube in the live qubes.xml, as qubesd does", async () => {
    const root = smallSystem();
    await runBackup({ root, passphrase: PASS, location: path.join(tmpDir("ts"), "s"), destVm: "dom0", qubes: ["work"], env: fakeEnv(), now: new Date(1_800_000_000_000) });
    const byName = new Map(loadQubesXml(root).domains.map((d) => [domainName(d), d]));
    expect(getProp(byName.get("work")!.properties, "backup_timestamp")).toBe("1800000000");
    expect(getProp(byName.get("personal")!.properties, "backup_timestamp")).toBeUndefined();
  });

  it("revert, import and resize: a commit gives a new UUID / inode, a resize keeps them and changes the size", () => {
    const root = smallSystem();
    const p = simPaths(root);
    const original = sha256File(p.volume("work", "private"));
    startQube(root, "work");
    mutateVolume(runningVolumePath(root, "work", "private"), { seed: "x" });
    expect(() => revertVolume(root, "work", "private")).toThrow('Cannot revert volume private of qube "work" while it is running; shut it down first.');
    shutdownQube(root, "work", new Date(1_800_000_000_000));
    const afterStop = lvUuidOf(root, "qubes_dom0/vm-work-private");
    revertVolume(root, "work", "private");
    expect(sha256File(p.volume("work", "private"))).toBe(original);
    expect(lvUuidOf(root, "qubes_dom0/vm-work-private")).not.toBe(afterStop);
    expect(() => revertVolume(root, "work", "private")).toThrow('Volume private of qube "work" has no revision to revert to.');

    const uuid = lvUuidOf(root, "qubes_dom0/vm-work-private");
    resizeVolume(root, "work", "private", 1024 * 1024);
    expect(lvRows(root).find((r) => r.lv === "vm-work-private")).toMatchObject({ uuid, size: 1024 * 1024 });
    expect(loadQubesXml(root).domains.find((d) => domainName(d) === "work")!.volumes.find((v) => v.name === "private")!.size).toBe(String(1024 * 1024));
    expect(() => resizeVolume(root, "work", "private", 4096)).toThrow('Volume private of qube "work" cannot shrink (1048576 to 4096 bytes); Qubes refuses it to protect the data.');

    const ino = inode(p.volume("personal", "private"));
    const src = path.join(tmpDir("import"), "new.img");
    fs.writeFileSync(src, Buffer.alloc(8192, 7));
    importVolume(root, "personal", "private", src);
    expect(inode(p.volume("personal", "private"))).not.toBe(ino);
    expect(sha256File(p.volume("personal", "private"))).toBe(sha256File(src));
  });

  it("settings, rename, add and remove change qubes.xml, the LVs and dom0's view", () => {
    const root = smallSystem();
    const p = simPaths(root);
    setQubeProperty(root, "work", "netvm", "sys-firewall");
    setQubeFeature(root, "work", "service.cups", "1");
    const work = () => loadQubesXml(root).domains.find((d) => domainName(d) === "work");
    expect(getProp(work()!.properties, "netvm")).toBe("sys-firewall");
    expect(getProp(work()!.features, "service.cups")).toBe("1");
    const uuid = lvUuidOf(root, "qubes_dom0/vm-work-private");
    renameQube(root, "work", "office");
    expect(work()).toBeUndefined();
    expect(lvUuidOf(root, "qubes_dom0/vm-office-private")).toBe(uuid);
    expect(fs.existsSync(p.firewall("office"))).toBe(true);
    expect(fs.realpathSync(view(root, "appvms/office/firewall.xml"))).toBe(p.firewall("office"));
    expect(() => renameQube(root, "fedora-41", "fedora")).toThrow('Qube "fedora-41" is the template of office, personal; switch them to another template first.');

    const qid = addQube(root, { name: "new", klass: "AppVM", template: "fedora-41", privateSize: 64 * 1024, pool: "file" });
    expect(qid).toBe(4);
    expect(fs.realpathSync(view(root, "appvms/new/private.img"))).toBe(p.volume("new", "private"));
    startQube(root, "office");
    expect(() => removeQube(root, "office")).toThrow('Qube "office" is running; shut it down before removing it.');
    shutdownQube(root, "office");
    removeQube(root, "office");
    expect(lvRows(root).filter((r) => r.lv.startsWith("vm-office-"))).toEqual([]);
  });

  it("the lvs and qubes-sim commands: rows with two leading spaces, start/write/shutdown from the command line", () => {
    const root = smallSystem();
    const env = { ...process.env, QUBES_SIM_ROOT: root };
    const run = (cmd: string, args: string[]) => execFileSync(path.join(BIN, cmd), args, { env, encoding: "utf8" });
    const uuid = lvUuidOf(root, "qubes_dom0/vm-work-private");
    expect(run("lvs", ["--noheadings", "--separator", "|", "--units", "b", "--nosuffix", "-o", "vg_name,lv_name,lv_uuid,lv_size", "qubes_dom0/vm-work-private"])).toBe(`  qubes_dom0|vm-work-private|${uuid}|524288\n`);
    run("qubes-sim", ["start", "work"]);
    run("qubes-sim", ["write", "work", "private", "--fraction", "0.2"]);
    run("qubes-sim", ["shutdown", "work"]);
    expect(lvUuidOf(root, "qubes_dom0/vm-work-private")).not.toBe(uuid);
  });
});
