// Stopping engines early never leaves a repository lock, a process or a file
// descriptor behind: a dump cancelled while its engines start up, an ingest
// refused in its first bytes, and engines that cannot start at all.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { DumpError, IngestError, dump, ingest, openEngine, type Engine, type EngineKind } from "../src/index.ts";
import { makeStream, smallSystem } from "./helpers/make-stream.ts";
import { resticLocks, tmpDir } from "@qubes-dedup/qubes-sim/testing";
import { Sink, fileStream, freshRepo } from "./helpers/repo.ts";

/**
 * Locks that would stop the next `check`: restic's lock files (restic 0.14
 * refuses to check while any, even a dead process's, is there). borg 1.2
 * removes the locks of dead processes of this host by itself, so for borg
 * only a running check proves there is none in the way.
 */
async function blockingLocks(engine: Engine): Promise<string[]> {
  if (engine.kind === "borg") return engine.check().then(() => [], (e: Error) => [e.message]);
  return resticLocks(engine.repo);
}

const openFds = () => fs.readdirSync("/proc/self/fd").length;

describe.each(["restic", "borg"] as EngineKind[])("%s", (kind) => {
  it("a dump cancelled while its engines start up fails with a sentence and leaves no lock", async () => {
    const { engine } = await freshRepo(kind);
    const s = makeStream(tmpDir("pipeline"), { qubes: smallSystem(`stop-${kind}`, 512 * 1024), chunkSize: 65536 });
    const r = await ingest(fileStream(s), engine);
    // the moments cover restic's start-up: key derivation, then its lock file, recorded for removal ~200 ms later
    const failures: unknown[] = [];
    for (const ms of [50, 300, 450, 600]) {
      const ac = new AbortController();
      setTimeout(() => ac.abort(), ms);
      const err = await dump(engine, r.snapshotId, new Sink(), { sideSnapshotId: r.sideSnapshotId, signal: ac.signal }).catch((e) => e);
      failures.push(err);
      if (err instanceof Error) {
        expect(err).toBeInstanceOf(DumpError);
        expect(err.message).toMatch(/^the dump was cancelled( after \d+ bytes)?; the output is incomplete, dump again to get the whole stream\.$/);
      }
      expect(await blockingLocks(engine), `cancelled after ${ms} ms`).toEqual([]);
    }
    // at 50 ms no engine has written a byte yet: that one was cancelled for sure
    expect(failures[0]).toBeInstanceOf(DumpError);
  }, 120_000);

  it("an ingest refused in its first bytes leaves no snapshot and no lock", async () => {
    const { engine } = await freshRepo(kind);
    const junk = path.join(tmpDir("pipeline"), "junk");
    fs.writeFileSync(junk, Buffer.alloc(10240, 0x41));
    for (let i = 0; i < 3; i++) await expect(ingest(fileStream(junk), engine)).rejects.toThrow(IngestError);
    expect(await engine.snapshots()).toEqual([]);
    expect(await blockingLocks(engine)).toEqual([]);
  }, 120_000);

  it("an engine that cannot start (unreadable password file) leaks no pipe", async () => {
    const { engine, dir } = await freshRepo(kind);
    const broken = openEngine({ ...engine.repo, passwordFile: path.join(dir, "missing") });
    const before = openFds();
    await expect(dump(broken, "0123abcd", new Sink(), { sideSnapshotId: "4567cdef" })).rejects.toThrow(/password file .* cannot be read \(ENOENT\)/);
    await expect(ingest(fs.createReadStream("/dev/null"), broken)).rejects.toThrow(/password file .* cannot be read \(ENOENT\)/);
    expect(openFds()).toBe(before);
  }, 60_000);
});
