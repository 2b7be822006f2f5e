import fs from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { domainName, domainQid, loadQubesXml, runBackup } from "../src/index.ts";
import { runRestore } from "../src/restore/restore.ts";
import { allocated, countingCommand, fakeEnv, PASS, smallSystem } from "./helpers.ts";
import { sha256File, tmpDir } from "../src/testing/index.ts";

let root: string;
let stream: string;

beforeAll(async () => {
  root = smallSystem("restore");
  const out = tmpDir("out");
  await runBackup({ root, passphrase: PASS, location: out, destVm: "backup", env: fakeEnv(), chunkSize: 256 * 1024 });
  stream = path.join(out, fs.readdirSync(out)[0]!);
});

function fresh(): string {
  return path.join(tmpDir("fresh"), "root");
}

const VOLS = ["fedora-41/root", "fedora-41/private", "work/private", "personal/private"];

describe("qvm-backup-restore", () => {
  it("restores everything into a fresh root byte for byte, with holes, firewall, dom0 home and new qubes.xml entries", async () => {
    const target = fresh();
    const lines: string[] = [];
    const r = await runRestore({ root: target, passphrase: PASS, location: `cat ${stream}`, backupVm: "backup", env: fakeEnv(), log: (l) => lines.push(l) });
    for (const v of VOLS) {
      const [q, n] = v.split("/");
      const a = path.join(root, "volumes", q!, `${n}.img`);
      const b = path.join(target, "volumes", q!, `${n}.img`);
      expect(sha256File(b)).toBe(sha256File(a));
      expect(allocated(b)).toBeLessThanOrEqual(allocated(a));
    }
    expect(fs.readFileSync(path.join(target, "firewall/work/firewall.xml"), "utf8")).toBe(fs.readFileSync(path.join(root, "firewall/work/firewall.xml"), "utf8"));
    const homes = fs.readdirSync(path.join(target, "home/user"));
    expect(homes).toHaveLength(1);
    expect(homes[0]).toMatch(/^home-restore-\d{4}-\d\d-\d\d-\d{6}$/);
    const notes = path.join(target, "home/user", homes[0]!, "dom0-home/user/Documents/notes.txt");
    expect(fs.readFileSync(notes, "utf8")).toBe(fs.readFileSync(path.join(root, "home/user/Documents/notes.txt"), "utf8"));
    const live = loadQubesXml(target);
    expect(live.domains.map(domainName).sort()).toEqual(["dom0", "fedora-41", "personal", "work"]);
    expect(live.domains.find((d) => domainName(d) === "fedora-41")!.features.map(([k]) => k)).not.toContain("backup-content");
    expect(r.qubes.find((q) => q.name === "work")!.volumes).toEqual({ private: 512 * 1024 });
    expect(lines.at(-1)).toBe("-> Done.");
  });

  it("makes three retrievals and cuts the first two off once their files have passed", async () => {
    const dir = tmpDir("count");
    const { location, log } = countingCommand(dir, stream);
    await runRestore({ root: fresh(), passphrase: PASS, location, backupVm: "backup", env: fakeEnv(), qubes: ["fedora-41"] });
    const runs = fs.readFileSync(log, "utf8").trim().split("\n");
    expect(runs.filter((l) => l === "start")).toHaveLength(3);
    // cat never finished cleanly: every run was cut off (the subset ends early too).
    expect(runs.filter((l) => l === "end 0")).toEqual([]);
  });

  it("restores a subset and honours -x", async () => {
    const target = fresh();
    await runRestore({ root: target, passphrase: PASS, location: stream, backupVm: "backup", env: fakeEnv(), exclude: ["dom0", "fedora-41"] });
    expect(fs.readdirSync(path.join(target, "volumes")).sort()).toEqual(["personal", "work"]);
    expect(fs.existsSync(path.join(target, "home"))).toBe(false);
  });

  it("refuses a conflict, renames with --rename-conflicting, skips with --skip-conflicting", async () => {
    const target = fresh();
    await runRestore({ root: target, passphrase: PASS, location: stream, backupVm: "backup", env: fakeEnv(), qubes: ["personal"] });
    await expect(runRestore({ root: target, passphrase: PASS, location: stream, backupVm: "backup", env: fakeEnv(), qubes: ["personal"] })).rejects.toThrow(
      "Qube(s) personal already exist; restore them with --rename-conflicting or --skip-conflicting.",
    );
    const r = await runRestore({ root: target, passphrase: PASS, location: stream, backupVm: "backup", env: fakeEnv(), qubes: ["personal"], conflict: "rename" });
    expect(r.qubes[0]!.restoredAs).toBe("personal-1");
    expect(sha256File(path.join(target, "volumes/personal-1/private.img"))).toBe(sha256File(path.join(root, "volumes/personal/private.img")));
    const s = await runRestore({ root: target, passphrase: PASS, location: stream, backupVm: "backup", env: fakeEnv(), qubes: ["personal"], conflict: "skip" });
    expect(s.skipped).toEqual(["personal"]);
    const live = loadQubesXml(target);
    expect(live.domains.map(domainName)).toEqual(["dom0", "personal", "personal-1"]);
    expect(live.domains.map(domainQid)).toEqual([0, 1, 2]);
  });

  it("--verify-only checks everything and writes nothing", async () => {
    const target = fresh();
    const r = await runRestore({ root: target, passphrase: PASS, location: stream, backupVm: "backup", env: fakeEnv(), verifyOnly: true });
    expect(r.qubes).toHaveLength(4);
    expect(fs.existsSync(target)).toBe(false);
  });

  it("rejects a wrong passphrase at the header", async () => {
    await expect(runRestore({ root: fresh(), passphrase: "wrong", location: stream, backupVm: "backup", env: fakeEnv() })).rejects.toThrow(
      "Corrupted backup header (hmac verification failed); check the passphrase.",
    );
  });

  it("names the damaged chunk and restores nothing", async () => {
    const bad = path.join(tmpDir("bad"), "stream");
    const data = fs.readFileSync(stream);
    // Flip one byte inside the data of vm1/root.img.001.enc (after its ustar header block).
    const at = data.indexOf(Buffer.from("vm1/root.img.001.enc\0"));
    expect(at % 512).toBe(0);
    data[at + 512 + 2000] = data[at + 512 + 2000]! ^ 0xff;
    fs.writeFileSync(bad, data);
    const target = fresh();
    await expect(runRestore({ root: target, passphrase: PASS, location: bad, backupVm: "backup", env: fakeEnv() })).rejects.toThrow(
      /^Failed to decrypt vm1\/root\.img\.001\.enc \(scrypt: scrypt: Passphrase is incorrect\)/,
    );
    expect(fs.existsSync(path.join(target, "qubes.xml"))).toBe(false);
  });

  it("reports a truncated stream", async () => {
    const cut = path.join(tmpDir("cut"), "stream");
    const data = fs.readFileSync(stream);
    fs.writeFileSync(cut, data.subarray(0, data.indexOf(Buffer.from("vm2/private.img.001.enc")) - 600));
    await expect(runRestore({ root: fresh(), passphrase: PASS, location: cut, backupVm: "backup", env: fakeEnv() })).rejects.toThrow(/truncated/);
  });
});
