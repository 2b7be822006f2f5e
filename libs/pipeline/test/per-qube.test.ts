// The per-qube layout (side record format 2) through both engines, with real
// qvm-backup streams from the simulator (shim trailers, Qubes' tar writer and
// GNU tar): one data snapshot per qube, full dumps byte for byte, `qubes`
// dumps that the simulated qvm-backup-restore takes and that read only the
// chosen qubes' data, old-layout (format 1) repositories, and runs with no
// data at all.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { createSystem, runBackup } from "@qubes-dedup/qubes-sim";
import { makeBackupStreamFile, sha256File, tmpDir } from "@qubes-dedup/qubes-sim/testing";
import { BackupStreamParser, DumpError, dump, ingest, listDataSnapshots, readSnapshotInfo, type Engine, type EngineKind, type IngestResult } from "../src/index.ts";
import { SideRecordBuilder } from "../src/layout/side-record.ts";
import { DATA_FILE, DATA_TAG, PROJECT_TAG, SIDE_FILE, SIDE_TAG, newRunId, runTag } from "../src/layout/tags.ts";
import { SHIM_TRAILER } from "../src/stream/trailer.ts";
import { Sink, fileStream, freshRepo } from "./helpers/repo.ts";

const here = path.dirname(fileURLToPath(import.meta.url));
const TSX = path.resolve(here, "../../../node_modules/.bin/tsx");
const DUMP_CLI = path.join(here, "helpers/dump-cli.ts");
const SHIM_DIR = path.resolve(here, "../../shim/dist");
const SIM_BIN = path.resolve(here, "../../qubes-sim/bin");
const PASSPHRASE = `qubes-dedup-v1-${"5a".repeat(32)}`;
const MiB = 1 << 20;
const env = { ...process.env, PATH: `${SHIM_DIR}:${process.env.PATH ?? ""}` };

let system: { file: string; root: string };
/** A backup of only "vault", whose volume holds nothing but holes: a stream without data. */
let empty: string;
let passFile: string;
/** A location command on PATH: `qd-dump <engine> <repo> <password file> <snapshot> [--qubes a,b]`. */
let binDir: string;

beforeAll(async () => {
  const dir = tmpDir("per-qube");
  system = await makeBackupStreamFile(dir, { seed: "per-qube", passphrase: PASSPHRASE, env, chunkSize: 4 * MiB });
  const root = path.join(dir, "empty-root");
  createSystem(root, { seed: "empty" });
  const vault = path.join(root, "volumes", "vault", "private.img");
  const size = fs.statSync(vault).size;
  fs.truncateSync(vault, 0);
  fs.truncateSync(vault, size);
  const out = fs.mkdtempSync(path.join(dir, "empty-"));
  await runBackup({ root, passphrase: PASSPHRASE, location: out, destVm: "backup", env, qubes: ["vault"] });
  empty = path.join(out, fs.readdirSync(out)[0]!);
  passFile = path.join(dir, "passphrase");
  fs.writeFileSync(passFile, `${PASSPHRASE}\n`, { mode: 0o600 });
  binDir = path.join(dir, "bin");
  fs.mkdirSync(binDir);
  fs.writeFileSync(path.join(binDir, "qd-dump"), `#!/bin/sh\nexec ${TSX} ${DUMP_CLI} "$@"\n`, { mode: 0o755 });
}, 180_000);

/** The stream bytes of a qube's files in a backup (what restoring it alone must read, at most 1% more). */
function qubeBytes(r: IngestResult, name: string): number {
  return r.qubes.find((q) => q.name === name)!.files.reduce((a, f) => a + f.streamBytes, 0);
}

/** Runs the simulated qvm-backup-restore of `qubes` into a fresh root, the location dumping `--qubes`; returns the root and each retrieval's dump figures. */
async function restore(engine: Engine, ref: string, qubes: string[], dumpQubes: string[] | undefined): Promise<{ root: string; runs: { bytes: number; repositoryBytesRead: number }[]; stdout: string }> {
  const root = path.join(tmpDir("restored"), "root");
  const log = path.join(tmpDir("dump-log"), "log");
  const location = ["qd-dump", engine.kind, engine.repo.location, engine.repo.passwordFile, ref, ...(dumpQubes ? ["--qubes", dumpQubes.join(",")] : [])].join(" ");
  const r = await execa(path.join(SIM_BIN, "qvm-backup-restore"), ["-d", "backup", "-p", passFile, location, ...qubes], {
    env: { ...env, PATH: `${SHIM_DIR}:${binDir}:${SIM_BIN}:${process.env.PATH ?? ""}`, QUBES_SIM_ROOT: root, DUMP_LOG: log },
    reject: false,
  });
  expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
  const runs = fs.readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { bytes: number; repositoryBytesRead: number });
  return { root, runs, stdout: r.stdout };
}

function volumeSha(root: string, qube: string, volume: string): string {
  return sha256File(path.join(root, "volumes", qube, `${volume}.img`));
}

/** Stores `file` as the format 1 layout wrote it: one data snapshot, a side record without sections. */
async function ingestOldLayout(engine: Engine, file: string): Promise<string> {
  const data: Buffer[] = [];
  const side = new SideRecordBuilder((b) => data.push(Buffer.from(b)));
  const parser = new BackupStreamParser(side, SHIM_TRAILER);
  const stream = fs.readFileSync(file);
  parser.write(stream);
  parser.end();
  const tag = runTag(newRunId());
  const d = engine.backupStdin({ filename: DATA_FILE, tags: [PROJECT_TAG, tag, DATA_TAG] });
  d.stdin.end(Buffer.concat(data));
  const stored = await d.done;
  const sha = (await import("node:crypto")).createHash("sha256").update(stream).digest("hex");
  const record = side.finish({ format: 1, backupId: parser.header!.backupId, streamSha256: sha, logicalBytes: stream.length, dataBytes: side.dataBytes, dataSnapshotId: stored.snapshotId });
  const s = engine.backupStdin({ filename: SIDE_FILE, tags: [PROJECT_TAG, tag, SIDE_TAG] });
  s.stdin.end(record);
  await s.done;
  return stored.snapshotId;
}

describe.each(["restic", "borg"] as EngineKind[])("%s, per-qube layout", (kind) => {
  it("stores one data snapshot per qube, dumps the whole stream byte for byte, and a qube alone reading only its data", async () => {
    const { engine } = await freshRepo(kind);
    const r = await ingest(fileStream(system.file), engine);
    const all = await engine.snapshots();
    const run = all.find((s) => s.id === r.snapshotId)!.tags.find((t) => t.startsWith("qd-run:"))!;
    const ofRun = all.filter((s) => s.tags.includes(run));
    // fedora-41, work, personal, vault and dom0's home, each its own data snapshot, and the side record
    expect(r.qubes.map((q) => q.name).sort()).toEqual(["dom0", "fedora-41", "personal", "vault", "work"]);
    expect(ofRun.map((s) => s.tags.filter((t) => t.startsWith("qd-") && t !== run)).sort()).toEqual([["qd-data"], ["qd-part:1"], ["qd-part:2"], ["qd-part:3"], ["qd-part:4"], ["qd-side"]]);
    expect((await listDataSnapshots(engine)).map((s) => s.id)).toEqual([r.snapshotId]);
    const whole = new Sink();
    const full = await dump(engine, r.snapshotId, whole, { expectedSha256: r.streamSha256 });
    expect(whole.bytes().equals(fs.readFileSync(system.file))).toBe(true);
    expect(full.streamSha256).toBe(r.streamSha256);
    for (const name of ["work", "dom0"]) {
      const one = await dump(engine, r.snapshotId, new Sink(), { qubes: [name] });
      expect(one.repositoryBytesRead, name).toBeGreaterThan(0);
      expect(one.repositoryBytesRead, name).toBeLessThanOrEqual(1.01 * qubeBytes(r, name));
      expect(one.warnings).toEqual([]);
    }
    await expect(dump(engine, r.snapshotId, new Sink(), { qubes: ["work", "mail"] })).rejects.toThrow(
      new DumpError(`snapshot ${r.snapshotId} holds no qube named "mail" (it holds ${r.qubes.map((q) => q.name).join(", ")}); name qubes from that list.`),
    );
  }, 300_000);

  it("a --qubes dump is a stream the simulated qvm-backup-restore takes: the chosen qubes restored byte for byte, only their data read", async () => {
    const { engine } = await freshRepo(kind);
    const r = await ingest(fileStream(system.file), engine);
    const got = await restore(engine, r.snapshotId, ["work"], ["work"]);
    expect(volumeSha(got.root, "work", "private")).toBe(volumeSha(system.root, "work", "private"));
    expect(fs.readFileSync(path.join(got.root, "firewall/work/firewall.xml"), "utf8")).toBe(fs.readFileSync(path.join(system.root, "firewall/work/firewall.xml"), "utf8"));
    expect(fs.readdirSync(path.join(got.root, "volumes"))).toEqual(["work"]);
    // three retrievals (header files, qubes.xml, data), the first two cut short before any data was read
    expect(got.runs, JSON.stringify(got.runs)).toHaveLength(3);
    const read = got.runs.reduce((a, x) => a + x.repositoryBytesRead, 0);
    expect(read, JSON.stringify(got.runs)).toBeLessThanOrEqual(1.01 * qubeBytes(r, "work"));
    // two qubes, dom0's home among them
    const two = await restore(engine, r.snapshotId, ["personal", "dom0"], ["personal", "dom0"]);
    expect(volumeSha(two.root, "personal", "private")).toBe(volumeSha(system.root, "personal", "private"));
    const [home] = fs.readdirSync(path.join(two.root, "home/user")).filter((n) => n.startsWith("home-restore-"));
    expect(fs.readFileSync(path.join(two.root, "home/user", home!, "dom0-home/user/Documents/wallpaper.bin")).equals(fs.readFileSync(path.join(system.root, "home/user/Documents/wallpaper.bin")))).toBe(true);
    expect(fs.readdirSync(path.join(two.root, "volumes"))).toEqual(["personal"]);
  }, 300_000);

  it("dumps an old-layout (format 1) repository's snapshot byte for byte, and whole when qubes are named", async () => {
    const { engine } = await freshRepo(kind);
    const id = await ingestOldLayout(engine, system.file);
    const whole = new Sink();
    await dump(engine, id, whole);
    expect(whole.bytes().equals(fs.readFileSync(system.file))).toBe(true);
    const named = new Sink();
    const d = await dump(engine, id, named, { qubes: ["work"] });
    expect(named.bytes().equals(fs.readFileSync(system.file))).toBe(true);
    expect(d.warnings).toEqual([`snapshot ${id} was stored before qubes-dedup kept each qube's data apart, so the whole stream is sent and the restore picks its qubes from it.`]);
    const got = await restore(engine, id, ["vault"], ["vault"]);
    expect(volumeSha(got.root, "vault", "private")).toBe(volumeSha(system.root, "vault", "private"));
  }, 300_000);

  it("stores a stream without data (empty volumes) as one snapshot holding the side record, and dumps it byte for byte", async () => {
    const { engine } = await freshRepo(kind);
    const r = await ingest(fileStream(empty), engine);
    expect(r.sideSnapshotId).toBe(r.snapshotId);
    const all = await engine.snapshots();
    expect(all).toHaveLength(1);
    expect(all[0]!.tags).toEqual(expect.arrayContaining(["qd-data", "qd-side"]));
    expect((await listDataSnapshots(engine)).map((s) => s.id)).toEqual([r.snapshotId]);
    expect((await readSnapshotInfo(engine, r.snapshotId)).summary).toMatchObject({ partial: false, backupId: r.backupId });
    for (const hint of [undefined, r.sideSnapshotId]) {
      const out = new Sink();
      await dump(engine, r.snapshotId, out, { sideSnapshotId: hint, expectedSha256: r.streamSha256 });
      expect(out.bytes().equals(fs.readFileSync(empty))).toBe(true);
    }
    const latest = new Sink();
    await dump(engine, "latest", latest, { qubes: ["vault"] });
    expect(latest.bytes().equals(fs.readFileSync(empty))).toBe(true);
  }, 300_000);
});
