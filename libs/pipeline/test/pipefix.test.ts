// Fixes from a user trial, against real restic and borg: a failing output is
// an error (not a normal end), a dump cut short leaves no lock behind, a
// damaged repository shows the engine's own words, snapshot references,
// clear messages, a REST server that goes away, and the side record's summary.
import fs from "node:fs";
import path from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { DumpError, EngineError, dump, ingest, listDataSnapshots, openEngine, readSnapshotInfo, type Engine, type IngestResult, type EngineKind } from "../src/index.ts";
import { makeStream, smallSystem, tmpDir } from "./helpers/make-stream.ts";
import { Sink, fileStream, freshRepo } from "./helpers/repo.ts";
import { resolveSnapshot } from "../src/snapshots.ts";
import { SideRecordBuilder } from "../src/canonical.ts";
import { freePort, startRest } from "@qubes-dedup/qubes-sim";

const here = path.dirname(fileURLToPath(import.meta.url));
const TSX = path.resolve(here, "../../../node_modules/.bin/tsx");
const DUMP_CLI = path.join(here, "helpers/dump-cli.ts");

/** Runs the dump helper as a real process in a shell pipeline: `<dump> <tail>`. */
function shellDump(engine: Engine, ref: string, tail: string) {
  const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
  const cmd = [TSX, DUMP_CLI, engine.kind, engine.repo.location, engine.repo.passwordFile, ref].map(q).join(" ");
  return execa("sh", ["-c", `${cmd} ${tail}`], { reject: false });
}

const streamFile = makeStream(tmpDir(), { qubes: smallSystem("pipefix", 3 << 20), chunkSize: 1 << 20 });

describe.each(["restic", "borg"] as EngineKind[])("%s", (kind) => {
  let engine: Engine;
  let snapshotId: string;
  let result: IngestResult;
  beforeAll(async () => {
    ({ engine } = await freshRepo(kind));
    result = await ingest(fileStream(streamFile), engine);
    snapshotId = result.snapshotId;
  }, 60_000);

  it("fails a dump whose output fails (ENOSPC), in process and as a command", async () => {
    const err = await dump(engine, snapshotId, fs.createWriteStream("/dev/full")).catch((e) => e);
    expect(err).toBeInstanceOf(DumpError);
    expect(err.message).toBe("writing the stream failed after 0 bytes (ENOSPC): the output is incomplete; free space on it or write elsewhere, then dump again.");
    const r = await shellDump(engine, snapshotId, "> /dev/full");
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain("DumpError: writing the stream failed after 0 bytes (ENOSPC): the output is incomplete;");
  }, 60_000);

  it("leaves no lock after dumps cut short by their reader (| head -c 100)", async () => {
    for (let i = 0; i < 5; i++) {
      const r = await shellDump(engine, snapshotId, "| head -c 100 | wc -c");
      expect(r.stdout.trim()).toBe("100");
      expect(r.stderr).toMatch(/^dumped \d+$/);
    }
    if (kind === "restic") {
      const locks = await execa("restic", ["-r", engine.repo.location, "--password-file", engine.repo.passwordFile, "--no-cache", "list", "locks"]);
      expect(locks.stdout).toBe("");
    } else {
      expect(fs.readdirSync(engine.repo.location).filter((f) => f.startsWith("lock"))).toEqual([]);
    }
    await engine.check();
  }, 90_000);

  it("quotes the engine when a damaged repository breaks a dump", async () => {
    const { engine: e, dir } = await freshRepo(kind);
    const id = (await ingest(fileStream(streamFile), e)).snapshotId;
    const files = fs.readdirSync(path.join(e.repo.location, "data"), { recursive: true, withFileTypes: true }).filter((f) => f.isFile());
    const biggest = files.map((f) => path.join(f.parentPath, f.name)).sort((a, b) => fs.statSync(b).size - fs.statSync(a).size)[0]!;
    fs.chmodSync(biggest, 0o600);
    const fd = fs.openSync(biggest, "r+");
    const bytes = Buffer.alloc(4096);
    fs.readSync(fd, bytes, 0, bytes.length, 8192);
    fs.writeSync(fd, bytes.map((b) => b ^ 0xff), 0, bytes.length, 8192);
    fs.closeSync(fd);
    const err = await dump(e, id, fs.createWriteStream(path.join(dir, "out"))).catch((x) => x);
    expect(err).toBeInstanceOf(DumpError);
    const check = kind === "restic" ? `restic -r ${e.repo.location} check --read-data` : `borg check --verify-data ${e.repo.location}`;
    expect(err.message).toMatch(new RegExp(`^${kind} could not read snapshot ${id} \\((.+)\\): the \\d+ bytes written so far are an incomplete stream; \`${check.replace(/[/.-]/g, "\\$&")}\` shows what is damaged\\.$`));
    if (kind === "restic") expect(err.message).toContain("ciphertext verification failed");
    else expect(err.message).toMatch(/integrity|checksum|mismatch|corrupt/i);
  }, 60_000);

  it("resolves references among backups only: latest, prefixes; a side record's id is unknown", async () => {
    const sink = new Sink();
    await dump(engine, "latest", sink);
    expect(sink.bytes().equals(fs.readFileSync(streamFile))).toBe(true);
    const all = await engine.snapshots();
    const data = await listDataSnapshots(engine);
    expect(data.map((s) => s.id)).toEqual([snapshotId]);
    const side = all.find((s) => s.tags.includes("qd-side"))!;
    let n = 1;
    while (snapshotId.startsWith(side.id.slice(0, n))) n++;
    const ref = side.id.slice(0, n);
    await expect(dump(engine, ref, new Sink())).rejects.toThrow(`there is no backup "${ref}" in ${engine.repo.location}; give the id of one, or a unique start of it, or latest (see qubes-dedup snapshots).`);
    const two = [data[0]!, { ...data[0]!, id: `${snapshotId}x` }];
    expect(() => resolveSnapshot(two, snapshotId.slice(0, 4), "R")).toThrow(`the snapshot reference "${snapshotId.slice(0, 4)}" is ambiguous in R (it starts 2 backups' ids); give more characters of the id (see qubes-dedup snapshots).`);
  }, 60_000);

  it("keeps the ingest summary in the side record; older side records read as partial", async () => {
    const r = result;
    const info = await readSnapshotInfo(engine, r.snapshotId.slice(0, 12));
    expect(info.snapshotId).toBe(r.snapshotId);
    expect(info.time).toBeInstanceOf(Date);
    const { partial, createdAt, durationSeconds, ...rest } = info.summary;
    expect(partial).toBe(false);
    expect(rest).toEqual({ backupId: r.backupId, qubes: r.qubes, compressed: r.compressed, warnings: r.warnings, logicalBytes: r.logicalBytes, streamSha256: r.streamSha256 });
    expect(new Date(createdAt!).toISOString()).toBe(createdAt);
    expect(durationSeconds).toBeGreaterThan(0);
    expect(durationSeconds).toBeLessThanOrEqual(r.durationSeconds);
    // a run stored before summaries were kept: a side record with the old meta
    const old = new SideRecordBuilder(() => {}).finish({ format: 1, backupId: "20240101T000000-1", streamSha256: "a".repeat(64), logicalBytes: 5, dataBytes: 0 });
    for (const [file, tag, bytes] of [["qubes-backup.data", "qd-data", Buffer.from("x")], ["qubes-backup.side", "qd-side", old]] as const) {
      const b = engine.backupStdin({ filename: file, tags: ["qubes-dedup", "qd-run:old", tag] });
      b.stdin.end(bytes);
      await b.done;
    }
    const data = await listDataSnapshots(engine);
    expect(data).toHaveLength(2);
    const oldId = data.find((s) => s.tags.includes("qd-run:old"))!.id;
    expect((await readSnapshotInfo(engine, oldId)).summary).toEqual({ partial: true, backupId: "20240101T000000-1", streamSha256: "a".repeat(64), logicalBytes: 5 });
  }, 60_000);
});

describe("messages", () => {
  it("names the REST server that refuses connections (not 'initialise it first')", async () => {
    const { engine } = await freshRepo("restic");
    const port = await freePort();
    const loc = `rest:http://127.0.0.1:${port}/repo/`;
    const e = openEngine({ ...engine.repo, location: loc });
    await expect(e.snapshots()).rejects.toThrow(`restic cannot reach the server http://127.0.0.1:${port} of the repository ${loc} (connection refused); start the server or fix the location, then try again.`);
    await expect(e.isInitialised()).rejects.toThrow(/cannot reach the server/);
  }, 30_000);

  it.each(["restic", "borg"] as EngineKind[])("%s: a registered repository whose directory was deleted is gone", async (kind) => {
    const { engine } = await freshRepo(kind);
    fs.rmSync(engine.repo.location, { recursive: true, force: true });
    await expect(engine.snapshots()).rejects.toThrow(`the ${kind} repository ${engine.repo.location} is gone (the directory does not exist; deleted or not mounted); mount or restore it, or register a new repository with qubes-dedup repo add.`);
    expect(await engine.isInitialised()).toBe(false);
  }, 30_000);

  it("borg pointed at a restic repository says so", async () => {
    const { engine } = await freshRepo("restic");
    const b = openEngine({ ...engine.repo, engine: "borg" });
    const msg = `${engine.repo.location} is not a borg repository (it is a restic one); point the location at a borg repository, or register this one with --engine restic.`;
    await expect(b.snapshots()).rejects.toThrow(msg);
    await expect(b.isInitialised()).rejects.toThrow(msg);
  }, 30_000);
});

describe("REST server gone mid-backup", () => {
  it("fails within the watchdog's limit naming the server, stores nothing; the next backup succeeds", async () => {
    const dir = tmpDir("qd-rest-");
    let server = await startRest(path.join(dir, "srv"));
    const passwordFile = path.join(dir, "password");
    fs.writeFileSync(passwordFile, "pw\n");
    const location = `rest:${server.url}repo/`;
    const engine = openEngine({ engine: "restic", location, passwordFile });
    await engine.init();
    const bytes = fs.readFileSync(streamFile);
    const input = new PassThrough();
    const run = ingest(input, engine, { backendTimeoutSeconds: 3 }).catch((e) => e);
    input.write(bytes.subarray(0, 1 << 20));
    // both restic processes (data and side record) hold their locks: the server is in use
    const locks = path.join(dir, "srv", "repo", "locks");
    while (!fs.existsSync(locks) || fs.readdirSync(locks).length < 2) await new Promise((r) => setTimeout(r, 20));
    await server.stop();
    input.end(bytes.subarray(1 << 20));
    const err = await run;
    expect(err).toBeInstanceOf(EngineError);
    expect(err.message).toBe(`restic lost the server http://127.0.0.1:${server.port} of the repository ${location}: its uploads kept failing for 3 seconds (connection refused); nothing was stored, bring the server back and run the backup again.`);
    server = await startRest(path.join(dir, "srv"), server.port);
    try {
      expect(await engine.snapshots()).toEqual([]);
      const r = await ingest(fileStream(streamFile), engine, { backendTimeoutSeconds: 3 });
      expect((await listDataSnapshots(engine)).map((s) => s.id)).toEqual([r.snapshotId]);
    } finally {
      await server.stop();
    }
  }, 90_000);
});
