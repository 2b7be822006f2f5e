// What real qubesd writes and the simulator used not to (issue 17): one
// describe per row of the table; each test fails on the old simulator.
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createSystem, defaultQubes, loadQubesXml, parseQubesXml, runBackup, serializeQubesXml, domainName, type QubeSpec } from "../src/index.ts";
import { runRestore } from "../src/restore/restore.ts";
import { fakeEnv, HERE, members, PASS, smallSystem, unwrap, type Member } from "./helpers.ts";
import { sha256File, tmpDir } from "../src/testing/index.ts";

const KiB = 1024;
const BIN = path.join(HERE, "..", "bin");

function system(qubes: QubeSpec[], seed = "fidelity"): string {
  const root = path.join(tmpDir("sys"), "root");
  createSystem(root, { seed, qubes });
  return root;
}

async function backup(root: string, o: Partial<Parameters<typeof runBackup>[0]> = {}): Promise<{ file: string; ms: Member[]; files: string[] }> {
  const out = tmpDir("out");
  const r = await runBackup({ root, passphrase: PASS, location: out, destVm: "backup", env: fakeEnv(), ...o });
  const file = path.join(out, fs.readdirSync(out)[0]!);
  return { file, ms: members(fs.readFileSync(file)), files: r.files };
}

/** The whole inner stream of one backed-up file (its chunks unwrapped and joined). */
function innerOf(ms: Member[], base: string): Buffer {
  return Buffer.concat(ms.filter((m) => m.name.startsWith(`${base}.`) && /\.\d{3}\.enc$/.test(m.name)).map((m) => unwrap(m.data)));
}

describe("pool kinds: file pools through GNU tar -Pc --sparse, lvm_thin through qubesd's tar writer", () => {
  it("the default system has qubes on both kinds of pool", () => {
    const kinds = new Set(defaultQubes().map((q) => q.pool ?? "lvm"));
    expect([...kinds].sort()).toEqual(["file", "lvm"]);
    const root = path.join(tmpDir("sys"), "root");
    const store = createSystem(root);
    const pool = (q: string) => store.domains.find((d) => domainName(d) === q)!.volumes.find((v) => v.name === "private")!.pool;
    const driver = (p: string | undefined) => store.pools.find((x) => x.name === p)?.driver;
    expect(driver(pool("personal"))).toBe("file");
    expect(driver(pool("work"))).toBe("lvm_thin");
  });

  it("writes a file-pool volume as GNU tar writes it (old-GNU sparse header, named <subdir><volume>.img) and an LVM one as PAX + GNU sparse 1.0", async () => {
    const root = smallSystem("pools");
    const { ms } = await backup(root, { chunkSize: 256 * KiB });
    const gnu = innerOf(ms, "vm1/root.img"); // fedora-41, file pool
    expect(gnu.subarray(0, 100).toString("latin1").replace(/\0+$/, "")).toBe("vm1/root.img");
    expect(String.fromCharCode(gnu[156]!)).toBe("S"); // GNU old sparse member
    expect(gnu.subarray(257, 265).toString("latin1")).toBe("ustar  \0"); // GNU magic, not POSIX
    expect(gnu.length % 10240).toBe(0); // GNU tar pads to whole records
    const dir = tmpDir("gnu");
    fs.writeFileSync(path.join(dir, "inner.tar"), gnu);
    execFileSync("tar", ["-xf", path.join(dir, "inner.tar"), "-C", dir]);
    expect(sha256File(path.join(dir, "vm1/root.img"))).toBe(sha256File(path.join(root, "volumes/fedora-41/root.img")));

    const pax = innerOf(ms, "vm2/private.img"); // work, lvm_thin
    expect(pax.subarray(0, 14).toString("latin1")).toBe("././@PaxHeader");
    expect(String.fromCharCode(pax[156]!)).toBe("x");
  });

  it("treats a file-reflink pool like a file pool", async () => {
    const root = smallSystem("reflink");
    const store = loadQubesXml(root);
    store.pools.push({ dir_path: "/var/lib/qubes", driver: "file-reflink", name: "reflink" });
    store.domains.find((d) => domainName(d) === "work")!.volumes.find((v) => v.name === "private")!.pool = "reflink";
    fs.writeFileSync(path.join(root, "qubes.xml"), serializeQubesXml(store));
    const { ms } = await backup(root, { qubes: ["work"] });
    expect(String.fromCharCode(innerOf(ms, "vm2/private.img")[156]!)).toBe("S");
  });
});

describe("notes.txt after firewall.xml", () => {
  it("backs up a qube's notes after its firewall and restores them", async () => {
    const root = system([
      { name: "tpl", klass: "TemplateVM", privateSize: 64 * KiB, rootSize: 128 * KiB, pool: "file" },
      { name: "work", klass: "AppVM", template: "tpl", privateSize: 64 * KiB, firewall: true, notes: "Mail only.\nNo browsing.\n" },
    ]);
    const { file, files } = await backup(root, { exclude: ["dom0"] });
    const vm2 = files.filter((f) => f.startsWith("vm2/"));
    expect(vm2).toEqual(["vm2/private.img.000.enc", "vm2/firewall.xml.000.enc", "vm2/notes.txt.000.enc"]);
    expect(files.filter((f) => f.startsWith("vm1/")).some((f) => f.includes("notes"))).toBe(false);
    const target = path.join(tmpDir("fresh"), "root");
    await runRestore({ root: target, passphrase: PASS, location: `cat ${file}`, backupVm: "backup", env: fakeEnv() });
    expect(fs.readFileSync(path.join(target, "notes/work/notes.txt"), "utf8")).toBe("Mail only.\nNo browsing.\n");
  });
});

describe("compression-filter from the profile; qvm-backup compresses unless --no-compress", () => {
  const tiny: QubeSpec[] = [{ name: "solo", klass: "StandaloneVM", privateSize: 64 * KiB, rootSize: 128 * KiB, pool: "file" }];
  const lvmTiny: QubeSpec[] = [{ name: "solo", klass: "StandaloneVM", privateSize: 64 * KiB, rootSize: 128 * KiB }];

  for (const filter of ["gzip", "bzip2", "xz", "zstdmt"]) {
    it(`${filter}: names the filter in the header and restores byte for byte`, async () => {
      for (const qubes of [tiny, lvmTiny]) {
        const root = system(qubes, `compress-${filter}`);
        const { file, ms } = await backup(root, { compress: true, compressionFilter: filter, exclude: ["dom0"] });
        expect(ms[0]!.data.toString()).toContain(`compressed=True\ncompression-filter=${filter}\n`);
        const target = path.join(tmpDir("fresh"), "root");
        await runRestore({ root: target, passphrase: PASS, location: `cat ${file}`, backupVm: "backup", env: fakeEnv() });
        for (const v of ["root", "private"]) expect(sha256File(path.join(target, `volumes/solo/${v}.img`))).toBe(sha256File(path.join(root, `volumes/solo/${v}.img`)));
      }
    });
  }

  function cliHeader(root: string, flags: string[]): string {
    const out = tmpDir("cli");
    const pass = path.join(out, "pass");
    fs.writeFileSync(pass, `${PASS}\n`);
    const r = spawnSync(path.join(BIN, "qvm-backup"), ["--yes", ...flags, "--passphrase-file", pass, "--dest-vm", "backup", "--exclude", "dom0", `sh -c 'cat > ${out}/stream'`, "solo"], {
      env: { ...fakeEnv(), QUBES_SIM_ROOT: root },
      encoding: "utf8",
    });
    expect(r.stderr).not.toMatch(/qvm-backup:/);
    expect(r.status).toBe(0);
    return members(fs.readFileSync(path.join(out, "stream")))[0]!.data.toString();
  }

  it("the qvm-backup command compresses with gzip by default, with -Z's program when given, and not with --no-compress", () => {
    const root = system(tiny, "cli-compress");
    expect(cliHeader(root, [])).toContain("compressed=True\ncompression-filter=gzip\n");
    expect(cliHeader(root, ["-Z", "bzip2"])).toContain("compressed=True\ncompression-filter=bzip2\n");
    expect(cliHeader(root, ["--no-compress"])).toContain("compressed=False\n");
  });
});

describe("qubes.xml as lxml writes it", () => {
  const fixture = fs.readFileSync(path.join(HERE, "fixtures/v4-qubes.xml"), "utf8");

  it("writes the Qubes fixture's lines as the fixture has them, domains in name order, no declaration", () => {
    const out = serializeQubesXml(parseQubesXml(fixture));
    expect(fixture.startsWith("<qubes>\n")).toBe(true);
    expect(out.startsWith("<qubes>\n")).toBe(true);
    // The model keeps a <devices> element's class, not the assigned devices
    // inside it, and the fixture has one hand-wrapped <volume> line: every
    // other line is written exactly as in the fixture.
    const lines = new Set(fixture.split("\n"));
    const foreign = out.split("\n").filter((l) => !lines.has(l) && !(/<devices class="\w+"\/>$/.test(l) && lines.has(l.replace("/>", ">"))));
    expect(foreign).toEqual(['        <volume name="volatile" pool="default" revisions_to_keep="0" rw="True" size="10737418240" vid="appvms/fedora-25-clone-dvm/volatile"/>']);
    const names = [...out.matchAll(/<domain id="[^"]*" class="(\w+)">\n {6}<properties>\n(?: {8}<property name="(?!name)[^"]*">[^<]*<\/property>\n)*(?: {8}<property name="name">([^<]*)<)?/g)].map((m) => m[2] ?? "dom0");
    expect(names).toHaveLength(20);
    expect(names).toEqual([...names].sort());
  });

  it("the simulated system's store: no declaration, labels by name, every volume attribute explicit and in name order", () => {
    const root = smallSystem("xml");
    const text = fs.readFileSync(path.join(root, "qubes.xml"), "utf8");
    expect(text.startsWith("<qubes>\n")).toBe(true);
    expect(text).toContain('<property name="label">blue</property>');
    expect(text).not.toMatch(/<property name="label">label-/);
    const work = loadQubesXml(root).domains.find((d) => domainName(d) === "work")!;
    for (const v of work.volumes) {
      expect(Object.keys(v)).toEqual([...Object.keys(v)].sort());
      for (const k of ["name", "pool", "vid", "revisions_to_keep", "rw", "save_on_stop", "snap_on_start"]) expect(v[k], `${v.name}.${k}`).toBeDefined();
    }
    expect(work.volumes.find((v) => v.name === "root")).toMatchObject({ rw: "False", save_on_stop: "False", snap_on_start: "True" });
  });
});

describe("qube order: an explicit list in qid order, without a list by name with dom0 last", () => {
  const dirs = (files: string[]) => [...new Set(files.map((f) => f.split("/")[0]!).filter((d) => d !== "qubes.xml.000.enc" && !d.startsWith("backup-header")))];

  it("orders an explicit list by qid", async () => {
    const root = smallSystem("order"); // qids: fedora-41 1, work 2, personal 3
    const { files } = await backup(root, { qubes: ["personal", "dom0", "work"] });
    expect(dirs(files)).toEqual(["vm2", "vm3", "dom0-home"]);
  });

  it("orders all qubes by name, dom0 last", async () => {
    const root = smallSystem("order");
    const { files } = await backup(root);
    expect(dirs(files)).toEqual(["vm1", "vm3", "vm2", "dom0-home"]);
  });
});

describe("progress: at most once a second, not capped", () => {
  const oneQube: QubeSpec[] = [{ name: "tpl", klass: "TemplateVM", privateSize: 4 * KiB, rootSize: 4 * KiB, firewall: true }];

  it("reports nothing within the first second", async () => {
    const root = smallSystem("progress");
    const seen: number[] = [];
    let t = 0;
    await backup(root, { chunkSize: 64 * KiB, progress: (p) => seen.push(p), clock: () => (t += 1) });
    expect(seen).toEqual([]);
  });

  it("reports as data flows once a second has passed, and past 100 % while the inner streams outgrow the volumes' usage", async () => {
    const root = system(oneQube, "progress");
    const seen: number[] = [];
    let t = 0;
    await backup(root, { exclude: ["dom0"], progress: (p) => seen.push(p), clock: () => (t += 1000) });
    expect(seen.length).toBeGreaterThan(2);
    expect(Math.max(...seen)).toBeGreaterThan(100);
    expect(seen.at(-1)).toBe(100);
  });

  it("the qvm-backup command prints qubesd's reports as \\rMaking a backup... NN.NN%, every one with QUBES_SIM_PROGRESS_INTERVAL=0", () => {
    const root = system(oneQube, "progress-cli");
    const out = tmpDir("cli");
    fs.writeFileSync(path.join(out, "pass"), `${PASS}\n`);
    const run = (extra: NodeJS.ProcessEnv) =>
      spawnSync(path.join(BIN, "qvm-backup"), ["--yes", "--no-compress", "--passphrase-file", path.join(out, "pass"), "--dest-vm", "backup", "--exclude", "dom0", `sh -c 'cat > /dev/null'`], {
        env: { ...fakeEnv(), QUBES_SIM_ROOT: root, ...extra },
        encoding: "utf8",
      });
    const chatty = run({ QUBES_SIM_PROGRESS_INTERVAL: "0" });
    expect(chatty.status).toBe(0);
    const reports = chatty.stderr.split("\r").slice(1);
    expect(reports.length).toBeGreaterThan(1);
    for (const r of reports) expect(r).toMatch(/^Making a backup\.\.\. \d+\.\d\d%\n?$/);
    expect(Math.max(...reports.map((r) => Number(/(\d+\.\d\d)%/.exec(r)![1])))).toBeGreaterThan(100);
  });
});
