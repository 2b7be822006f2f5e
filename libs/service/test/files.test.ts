import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importVolume, writeExt4Image, type QubeSpec } from "@qubes-dedup/qubes-sim";
import { makeBackupStreamFile, tmpDir } from "@qubes-dedup/qubes-sim/testing";
import { addRepository, downloadToFile, listFiles, openVolume, runBackup, withVolume, type FilesTarget } from "../src/index.ts";
import { removeTemplate, tempDatabase } from "./seed.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const SHIM_DIR = path.join(ROOT, "libs/shim/dist");
const MiB = 1024 * 1024;
const PASS = `qubes-dedup-v1-${"ef".repeat(32)}`;
const env = () => ({ ...process.env, PATH: `${SHIM_DIR}:${process.env.PATH}` });

let dir: string;
let db: Awaited<ReturnType<typeof tempDatabase>>;
let first: string;
const report1 = randomBytes(300 * 1024);
const report2 = randomBytes(200 * 1024);
const deleted = randomBytes(5000);
const osRelease = 'NAME="Fedora Linux"\nVERSION_ID=41\n';

/** A home tree as the qube holds it at one time. */
function tree(at: string, report: Buffer, withDeleted: boolean): string {
  fs.mkdirSync(path.join(at, "home/user/Documents"), { recursive: true });
  fs.writeFileSync(path.join(at, "home/user/Documents/report.odt"), report);
  if (withDeleted) fs.writeFileSync(path.join(at, "home/user/Documents/old-notes.txt"), deleted);
  fs.writeFileSync(path.join(at, "home/user/evil\n\x1b]0;pwned\x07name"), "x");
  fs.symlinkSync("b", path.join(at, "home/user/a"));
  fs.symlinkSync("a", path.join(at, "home/user/b"));
  return at;
}

beforeAll(async () => {
  dir = tmpDir("files");
  db = await tempDatabase();
  fs.writeFileSync(path.join(dir, "pass"), "secret\n", { mode: 0o600 });
  await addRepository(db, { name: "default", engine: "restic", location: path.join(dir, "repo"), passwordFile: path.join(dir, "pass") });
  const rootTree = path.join(dir, "root-tree");
  fs.mkdirSync(path.join(rootTree, "etc"), { recursive: true });
  fs.writeFileSync(path.join(rootTree, "etc/os-release"), osRelease);
  const qubes: QubeSpec[] = [
    { name: "fedora-41", klass: "TemplateVM", rootSize: 8 * MiB, privateSize: MiB, pool: "file", files: { root: rootTree } },
    { name: "work", klass: "AppVM", template: "fedora-41", privateSize: 8 * MiB, files: { private: tree(path.join(dir, "t1"), report1, true) } },
  ];
  const a = await makeBackupStreamFile(dir, { seed: "files", qubes, chunkSize: MiB, passphrase: PASS, env: env() });
  first = (await runBackup(db, { repository: "default", input: fs.createReadStream(a.file) })).ingest.snapshotId;
  // the qube writes, deletes old-notes.txt and stops: its volume is committed
  const img = path.join(dir, "work-private-2.img");
  writeExt4Image(img, 8 * MiB, tree(path.join(dir, "t2"), report2, false));
  importVolume(a.root, "work", "private", img);
  const b = await makeBackupStreamFile(dir, { seed: "files", root: a.root, chunkSize: MiB, passphrase: PASS, env: env() });
  await runBackup(db, { repository: "default", input: fs.createReadStream(b.file) });
}, 180_000);

afterAll(async () => {
  await db.close();
  fs.rmSync(db.dir, { recursive: true, force: true });
  fs.rmSync(dir, { recursive: true, force: true });
  await removeTemplate();
});

const scratchDir = () => path.join(dir, "scratch");
const at = (snapshot: string, volume = "private", qube = "work"): FilesTarget => ({ repository: "default", snapshot, qube, volume });

describe("files from a snapshot's volume", () => {
  it("downloads files byte-identical to what the qube held at each backup, and a file deleted before the second comes back from the first", async () => {
    const out = path.join(dir, "out");
    fs.mkdirSync(out);
    await withVolume(db, at(first), async (v) => {
      await downloadToFile(v.browser, "/home/user/Documents/report.odt", path.join(out, "r1"));
      await downloadToFile(v.browser, "/home/user/Documents/old-notes.txt", path.join(out, "old"));
    }, { scratchDir: scratchDir() });
    expect(fs.readFileSync(path.join(out, "r1")).equals(report1)).toBe(true);
    expect(fs.readFileSync(path.join(out, "old")).equals(deleted)).toBe(true);
    await withVolume(db, at("latest"), async (v) => {
      await downloadToFile(v.browser, "/home/user/Documents/report.odt", path.join(out, "r2"));
      await expect(downloadToFile(v.browser, "/home/user/Documents/old-notes.txt", path.join(out, "gone"))).rejects.toThrow(
        "/home/user/Documents/old-notes.txt does not exist in this snapshot; list its parent directory to see what is there.",
      );
    }, { scratchDir: scratchDir() });
    expect(fs.readFileSync(path.join(out, "r2")).equals(report2)).toBe(true);
    // nothing but the asked names, and the scratch images are gone
    expect(fs.readdirSync(out).sort()).toEqual(["old", "r1", "r2"]);
    expect(fs.readdirSync(scratchDir())).toEqual([]);
  }, 90_000);

  it("lists a directory with names escaped, sizes and kinds; a symlink loop and an over-limit file get one sentence each", async () => {
    const v = await openVolume(db, at(first), { scratchDir: scratchDir(), maxDownloadBytes: 100_000 });
    try {
      const l = await v.browser.list("/home/user");
      expect(l.entries.map((e) => [e.display, e.kind]).sort()).toEqual([["Documents", "dir"], ["a", "symlink"], ["b", "symlink"], ["evil\\n\\x1b]0;pwned\\x07name", "file"]]);
      const docs = await v.browser.list("/home/user/Documents");
      expect(docs.entries.find((e) => e.name === "report.odt")).toMatchObject({ kind: "file", size: report1.length });
      await expect(v.browser.list("/home/user/a")).rejects.toThrow("/home/user/a leads through more than 40 symlinks, a symlink loop; open the target path directly.");
      await expect(downloadToFile(v.browser, "/home/user/Documents/report.odt", path.join(dir, "big"))).rejects.toThrow(
        `/home/user/Documents/report.odt is ${report1.length} bytes, over the download limit of 100000 bytes; download a smaller part or raise the limit (--max-bytes).`,
      );
      expect(fs.existsSync(path.join(dir, "big"))).toBe(false);
      expect(fs.readdirSync(dir).filter((n) => n.includes("partial"))).toEqual([]);
    } finally {
      v.close();
    }
  }, 90_000);

  it("reads a template's root from the root partition of its partition table", async () => {
    const v = await openVolume(db, at(first, "root", "fedora-41"), { scratchDir: scratchDir() });
    try {
      expect(v.offset).toBe(3 * MiB);
      const out = path.join(dir, "os-release");
      await downloadToFile(v.browser, "/etc/os-release", out);
      expect(fs.readFileSync(out, "utf8")).toBe(osRelease);
    } finally {
      v.close();
    }
  }, 90_000);

  it("names a missing qube, an AppVM's root and a volume of random bytes in one sentence", async () => {
    await expect(listFiles(db, at(first, "private", "nope"), "/", { scratchDir: scratchDir() })).rejects.toThrow(
      new RegExp(`^snapshot ${first} holds no qube named "nope" \\(it holds [a-z0-9, -]+\\); name qubes from that list\\.$`),
    );
    await expect(listFiles(db, at(first, "root"), "/", { scratchDir: scratchDir() })).rejects.toThrow(/^qube work has no backed-up root volume in snapshot/);
    // fedora-41's private volume holds the simulator's random content, no filesystem
    await expect(listFiles(db, at(first, "private", "fedora-41"), "/", { scratchDir: scratchDir() })).rejects.toThrow(/^the volume holds no ext4 filesystem \(debugfs: Bad magic number in super-block/);
    expect(fs.readdirSync(scratchDir())).toEqual([]);
  }, 90_000);
});
