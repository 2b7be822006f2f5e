import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseQubesXml, runBackup, domainName } from "../src/index.ts";
import { fakeEnv, gnuTarList, members, PASS, smallSystem, unwrap } from "./helpers.ts";
import { tmpDir } from "../src/testing/index.ts";

describe("qvm-backup stream", () => {
  it("has the v4 order, naming, framing, header and passphrases", async () => {
    const root = smallSystem();
    const out = tmpDir("out");
    const log = path.join(out, "scrypt.log");
    const r = await runBackup({ root, passphrase: PASS, location: out, destVm: "backup", env: fakeEnv(log), chunkSize: 64 * 1024, exclude: ["dom0"], now: new Date(2026, 0, 2, 3, 4, 5) });
    expect(r.backupId).toBe(`20260102T030405-${process.pid}`);
    const [file] = fs.readdirSync(out).filter((f) => f.startsWith("qubes-backup-"));
    const streamPath = path.join(out, file!);
    const stream = fs.readFileSync(streamPath);
    expect(stream.length % 10240).toBe(0);
    const names = gnuTarList(streamPath);
    expect(names).toEqual(r.files);
    const ms = members(stream);
    expect(ms.map((m) => m.name)).toEqual(names);
    expect(names.slice(0, 3)).toEqual(["backup-header", "backup-header.hmac", "qubes.xml.000.enc"]);
    // qubes in name order: fedora-41 (vm1: root then private), personal (vm3), work (vm2 + firewall).
    const order = [...new Set(names.slice(3).map((n) => n.replace(/\.\d{3}\.enc$/, "")))];
    expect(order).toEqual(["vm1/root.img", "vm1/private.img", "vm3/private.img", "vm2/private.img", "vm2/firewall.xml"]);
    for (const base of order) {
      const nums = names.filter((n) => n.startsWith(`${base}.`)).map((n) => n.slice(base.length + 1, base.length + 4));
      expect(nums).toEqual(nums.map((_, i) => String(i).padStart(3, "0")));
    }
    // Outer PAX headers carry times (they differ per run).
    expect(Object.keys(ms[0]!.pax)).toEqual(expect.arrayContaining(["mtime", "atime", "ctime"]));
    expect(ms[0]!.data.toString()).toBe(`version=4\nencrypted=True\ncompressed=False\ncompression-filter=gzip\nhmac-algorithm=scrypt\nbackup-id=${r.backupId}\n`);
    // Chunks: every chunk but the last of a file holds exactly chunkSize bytes.
    for (const base of order) {
      const sizes = ms.filter((m) => m.name.startsWith(`${base}.`)).map((m) => unwrap(m.data).length);
      expect(sizes.slice(0, -1).every((s) => s === 64 * 1024)).toBe(true);
      expect(sizes.at(-1)!).toBeLessThanOrEqual(64 * 1024);
    }
    const calls = fs.readFileSync(log, "utf8").trim().split("\n");
    expect(calls[0]).toMatch(new RegExp(`^enc \\S+/backup-header \\S+/backup-header\\.hmac backup-header!${PASS}$`));
    expect(calls[1]).toMatch(new RegExp(`^enc - \\S+/qubes\\.xml\\.000\\.enc ${r.backupId}!qubes\\.xml\\.000!${PASS}$`));
    expect(calls).toContain(calls.find((c) => c.includes(`${r.backupId}!vm2/private.img.001!${PASS}`)));
    expect(calls.length).toBe(names.length - 1);
  });

  it("stores qubes.xml with backup-content / backup-path / backup-size set by the backup", async () => {
    const root = smallSystem();
    const out = tmpDir("out");
    await runBackup({ root, passphrase: PASS, location: out, destVm: "backup", env: fakeEnv(), qubes: ["work", "dom0"] });
    const streamPath = path.join(out, fs.readdirSync(out)[0]!);
    const ms = members(fs.readFileSync(streamPath));
    expect(ms.map((m) => m.name)).toEqual(["backup-header", "backup-header.hmac", "qubes.xml.000.enc", "vm2/private.img.000.enc", "vm2/firewall.xml.000.enc", "dom0-home/user.000.enc"]);
    const inner = unwrap(ms[2]!.data);
    fs.writeFileSync(path.join(out, "x.tar"), inner);
    const xml = execFileSync("tar", ["-xOf", path.join(out, "x.tar"), "qubes.xml"], { encoding: "utf8" });
    const store = parseQubesXml(xml);
    const f = (n: string) => Object.fromEntries(store.domains.find((d) => domainName(d) === n)!.features);
    expect(f("work")["backup-content"]).toBe("1");
    expect(f("work")["backup-path"]).toBe("vm2/");
    const usage = fs.statSync(path.join(root, "volumes/work/private.img")).blocks * 512 + fs.statSync(path.join(root, "firewall/work/firewall.xml")).blocks * 512;
    expect(f("work")["backup-size"]).toBe(String(usage));
    expect(f("dom0")["backup-path"]).toBe("dom0-home/user");
    expect(f("personal")["backup-content"]).toBe("");
    expect(f("personal")["backup-path"]).toBeUndefined();
    // The live store is untouched.
    expect(fs.readFileSync(path.join(root, "qubes.xml"), "utf8")).not.toContain("backup-content");
  });

  it("flags --compress in the header and gzips each inner stream", async () => {
    const root = smallSystem();
    const out = tmpDir("out");
    await runBackup({ root, passphrase: PASS, location: out, destVm: "backup", env: fakeEnv(), qubes: ["personal"], compress: true });
    const ms = members(fs.readFileSync(path.join(out, fs.readdirSync(out)[0]!)));
    expect(ms[0]!.data.toString()).toContain("compressed=True\ncompression-filter=gzip\n");
    const vol = unwrap(ms.find((m) => m.name === "vm3/private.img.000.enc")!.data);
    expect([vol[0], vol[1]]).toEqual([0x1f, 0x8b]);
  });

  it("excludes qubes and ends each file with an empty chunk when its stream fills the last chunk exactly", async () => {
    const root = smallSystem();
    const out = tmpDir("out");
    // qubes.xml's inner GNU tar stream is a multiple of 10240 bytes.
    const r = await runBackup({ root, passphrase: PASS, location: out, destVm: "backup", env: fakeEnv(), exclude: ["fedora-41", "work", "dom0"], chunkSize: 10240 });
    expect(r.files.filter((n) => n.startsWith("vm1/") || n.startsWith("vm2/") || n.startsWith("dom0-home/"))).toEqual([]);
    const xmlChunks = r.files.filter((n) => n.startsWith("qubes.xml."));
    const ms = members(fs.readFileSync(path.join(out, fs.readdirSync(out)[0]!)));
    expect(unwrap(ms.find((m) => m.name === xmlChunks.at(-1))!.data).length).toBe(0);
  });
});
