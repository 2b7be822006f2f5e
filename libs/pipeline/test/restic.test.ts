import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { EngineError, IngestError, dump, engineBinary, ingest, openEngine, type Engine } from "../src/index.ts";
import { makeStream, smallSystem, smallSystemRandomBytes } from "./helpers/make-stream.ts";
import { tmpDir } from "@qubes-dedup/qubes-sim/testing";
import { Sink, fileStream, freshRepo } from "./helpers/repo.ts";

const sha = (b: Buffer) => crypto.createHash("sha256").update(b).digest("hex");

describe("restic engine", () => {
  let engine: Engine;
  let stream: string;
  let bytes: Buffer;
  beforeAll(async () => {
    ({ engine } = await freshRepo("restic"));
    stream = makeStream(tmpDir("pipeline"), { qubes: smallSystem(), chunkSize: 8192 });
    bytes = fs.readFileSync(stream);
  }, 60_000);

  it("round-trips a stream byte for byte", async () => {
    const r = await ingest(fileStream(stream, 3000), engine, { hostname: "backupvm" });
    expect(r.logicalBytes).toBe(bytes.length);
    expect(r.streamSha256).toBe(sha(bytes));
    expect(r.qubes.map((q) => [q.name, q.files.map((f) => f.name)])).toEqual([
      ["work", ["private.img"]],
      ["vault", ["private.img", "firewall.xml"]],
    ]);
    expect(r.compressed).toBe(false);
    expect(r.addedBytes).toBeGreaterThan(0);
    const snaps = await engine.snapshots();
    expect(snaps.map((s) => s.id)).toContain(r.snapshotId);
    const out = new Sink();
    const d = await dump(engine, r.snapshotId, out, { expectedSha256: r.streamSha256 });
    expect(d.bytes).toBe(bytes.length);
    expect(out.bytes().equals(bytes)).toBe(true);
    // the volumes' random data is all there, the stream's tar framing is not stored as data
    const stored = await engine.repositoryBytes();
    expect(stored).toBeGreaterThanOrEqual(smallSystemRandomBytes());
    expect(stored).toBeLessThan(r.logicalBytes);
    await engine.check();
  }, 60_000);

  it("stores a re-backup of unchanged qubes almost for free (canonical layout), shim trailers included", async () => {
    const { makeTrailer, macKey } = await import("@qubes-dedup/protocol/formats");
    const trailer = (id: string) => (p: string, c: Buffer) => makeTrailer(macKey(`${id}!${p}!pass`), c);
    const qubes = smallSystem("dedup", 768 * 1024);
    const s1 = makeStream(tmpDir("pipeline"), { qubes, chunkSize: 16384, backupId: "20250101T000000-1", trailer: trailer("20250101T000000-1") });
    const s2 = makeStream(tmpDir("pipeline"), { qubes, chunkSize: 16384, backupId: "20250102T000000-2", trailer: trailer("20250102T000000-2") });
    const { engine: e } = await freshRepo("restic");
    const r1 = await ingest(fileStream(s1), e);
    const r2 = await ingest(fileStream(s2), e);
    expect(r2.streamSha256).not.toBe(r1.streamSha256);
    expect(r2.addedBytes).toBeLessThan(r2.logicalBytes * 0.02);
    for (const [r, f] of [[r1, s1], [r2, s2]] as const) {
      const out = new Sink();
      await dump(e, r.snapshotId, out);
      expect(out.bytes().equals(fs.readFileSync(f))).toBe(true);
    }
  }, 60_000);

  it("refuses truncated streams and leaves no snapshot", async () => {
    const before = (await engine.snapshots()).length;
    const cuts = [1, 511, 512, 10240, 20480, 30000, Math.floor(bytes.length / 2), bytes.length - 10240 - 512, bytes.length - 20480, bytes.length - 1];
    for (const cut of cuts) {
      await expect(ingest(fileStream(stream, 4096, cut), engine), `cut at ${cut}`).rejects.toThrow(IngestError);
    }
    expect((await engine.snapshots()).length).toBe(before);
  }, 120_000);

  it("refuses a trailered stream with a chunk the shim failed on (no trailer), naming it, and leaves no snapshot", async () => {
    const { makeTrailer, macKey } = await import("@qubes-dedup/protocol/formats");
    const trailer = (p: string, c: Buffer) => (p === "vm3/private.img.001" ? Buffer.alloc(0) : makeTrailer(macKey(`20250101T000000-1!${p}!pass`), c));
    const broken = makeStream(tmpDir("pipeline"), { qubes: smallSystem(), chunkSize: 8192, backupId: "20250101T000000-1", trailer });
    const before = (await engine.snapshots()).length;
    const err = await ingest(fileStream(broken, 4096), engine).catch((e) => e);
    expect(err).toBeInstanceOf(IngestError);
    expect(err.message).toBe(
      "the chunk vm3/private.img.001.enc carries no valid qubes-dedup MAC trailer although the stream before it does, so the shim failed on it in dom0; the backup was not stored, run it again.",
    );
    expect((await engine.snapshots()).length).toBe(before);
  }, 60_000);

  it("names where a truncated stream ended", async () => {
    const cut = bytes.length - 10240 * 3 - 100;
    const err = await ingest(fileStream(stream, 4096, cut), engine).catch((e) => e);
    expect(err.message).toMatch(/^the backup stream ended after \d+ bytes in vm5\/private\.img\.\d{3}\.enc: the last tar archive is incomplete; it was not stored, run the backup again\.$/);
  }, 30_000);

  it("refuses input that is not a Qubes backup", async () => {
    const dir = tmpDir("pipeline");
    fs.writeFileSync(path.join(dir, "x"), "hello");
    const plain = path.join(dir, "plain.tar");
    execFileSync("tar", ["-cf", plain, "-C", dir, "x"]);
    await expect(ingest(fileStream(plain), engine)).rejects.toThrow(/not a Qubes backup/);
    fs.writeFileSync(path.join(dir, "text"), "just some text\n".repeat(100));
    await expect(ingest(fileStream(path.join(dir, "text")), engine)).rejects.toThrow(/not a Qubes backup/);
  }, 30_000);

  it("dump treats a closed output as a normal end", async () => {
    const r = await ingest(fileStream(stream), engine);
    let seen = 0;
    const out = new (await import("node:stream")).Writable({
      write(c: Buffer, _e, cb) {
        seen += c.length;
        if (seen > 20000) this.destroy();
        cb();
      },
    });
    const d = await dump(engine, r.snapshotId, out, { expectedSha256: r.streamSha256 });
    expect(d.bytes).toBeLessThan(bytes.length);
    await expect(dump(engine, r.snapshotId, new Sink(), { expectedSha256: "0".repeat(64) })).rejects.toThrow(/records SHA-256 [0-9a-f]{64}, not the expected 0{64}; pick the right snapshot\./);
  }, 30_000);
});

describe("restic failures", () => {
  it("says how to install a missing restic", async () => {
    const { engine } = await freshRepo("restic");
    const e = openEngine(engine.repo, { binary: "restic-missing" });
    await expect(e.snapshots()).rejects.toThrow("restic was not found at restic-missing; install it (apt-get install restic) or point QUBES_DEDUP_RESTIC at a restic executable.");
  }, 30_000);

  it("names a wrong password and an unreadable password file", async () => {
    const { engine, dir } = await freshRepo("restic");
    const wrong = path.join(dir, "wrong");
    fs.writeFileSync(wrong, "nope\n");
    const e = openEngine({ ...engine.repo, passwordFile: wrong });
    await expect(e.snapshots()).rejects.toThrow(/the password in .*wrong is wrong; put the repository's password in that file\./);
    const missing = openEngine({ ...engine.repo, passwordFile: path.join(dir, "absent") });
    await expect(missing.snapshots()).rejects.toThrow(/password file .*absent cannot be read \(ENOENT\)/);
  }, 30_000);

  it("reports a missing repository and isInitialised", async () => {
    const { engine, dir } = await freshRepo("restic");
    const none = openEngine({ ...engine.repo, location: path.join(dir, "none") });
    fs.mkdirSync(path.join(dir, "none"));
    expect(await none.isInitialised()).toBe(false);
    expect(await engine.isInitialised()).toBe(true);
    await expect(none.snapshots()).rejects.toThrow(/^there is no restic repository at /);
  }, 30_000);

  it("reports a locked repository with the unlock hint and stores nothing", async () => {
    const { engine } = await freshRepo("restic");
    const stream = makeStream(tmpDir("pipeline"), { qubes: smallSystem(), chunkSize: 65536 });
    // `restic check` takes an exclusive lock, then blocks reading an index file that is a FIFO
    const { execa } = await import("execa");
    const fifo = path.join(engine.repo.location, "index", "a".repeat(64));
    execFileSync("mkfifo", [fifo]);
    const check = execa(engineBinary("restic"), ["-r", engine.repo.location, "--password-file", engine.repo.passwordFile, "--no-cache", "check"], { reject: false });
    const lockDir = path.join(engine.repo.location, "locks");
    while (fs.readdirSync(lockDir).length === 0) await new Promise((r) => setTimeout(r, 10));
    const err = await ingest(fileStream(stream), engine).catch((e) => e);
    check.kill("SIGKILL");
    await check;
    fs.unlinkSync(fifo);
    await execa(engineBinary("restic"), ["-r", engine.repo.location, "--password-file", engine.repo.passwordFile, "unlock"]);
    expect(err).toBeInstanceOf(EngineError);
    expect(err.message).toMatch(/is locked by another process; run `restic -r .* unlock` if no other backup is running\.$/);
    expect(await engine.snapshots()).toEqual([]);
  }, 60_000);
});

