// A killed ingest (SIGKILL: OOM, a hard stop, the process of a power cut)
// never leaves a snapshot behind: the engine guard (engine/guard.ts) stops
// the engine instead of letting it commit what it had read. Without the
// guard (QUBES_DEDUP_UNGUARDED=1) borg 1.2 committed the truncated stream
// every time here, restic 0.14 whenever its next progress line came after
// its commit. Stale locks the kill left are removed, and check passes.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { execa } from "execa";
import { dump, engineBinary, ingest, type Engine, type EngineKind } from "../src/index.ts";
import { makeStream, smallSystem } from "./helpers/make-stream.ts";
import { Sink, fileStream, freshRepo } from "./helpers/repo.ts";
import { exited, startScript, tmpDir, waitGone, waitLocked } from "@qubes-dedup/qubes-sim/testing";

const here = path.dirname(fileURLToPath(import.meta.url));
const INGEST_CLI = path.join(here, "helpers/ingest-cli.ts");

describe.each(["restic", "borg"] as EngineKind[])("%s", (kind) => {
  it("an ingest killed with SIGKILL while its engine waits for more of the stream leaves no snapshot, and no lock after removeStaleLocks", async () => {
    const { engine } = await freshRepo(kind);
    const stream = fs.readFileSync(makeStream(tmpDir("crash"), { qubes: smallSystem(`crash-${kind}`, 2 << 20), chunkSize: 1 << 20 }));
    const child = startScript(INGEST_CLI, [kind, engine.repo.location, engine.repo.passwordFile]);
    const end = exited(child);
    child.stdin!.on("error", () => {});
    // half the stream, then nothing: once the engine has the repository open it reads that and waits
    child.stdin!.write(stream.subarray(0, stream.length >> 1));
    await waitLocked(kind, engine.repo.location);
    await new Promise((r) => setTimeout(r, 1500));
    child.kill("SIGKILL");
    expect((await end).signal).toBe("SIGKILL");
    await waitGone(engine.repo.location);
    expect(await engine.snapshots()).toEqual([]);
    await engine.removeStaleLocks();
    await engine.check();
    // the repository works as before: the next run stores and restores the whole stream
    const file = path.join(tmpDir("crash"), "stream");
    fs.writeFileSync(file, stream);
    const r = await ingest(fileStream(file), engine);
    const sink = new Sink();
    await dump(engine, r.snapshotId, sink, { sideSnapshotId: r.sideSnapshotId });
    expect(sink.bytes().equals(stream)).toBe(true);
  }, 180_000);
});

/** Starts the engine's own backup of stdin (no guard, nothing written to it), holding the repository's lock once it has it. */
async function lockHolder(engine: Engine) {
  const { location, passwordFile } = engine.repo;
  const p = engine.kind === "restic"
    ? execa(engineBinary("restic"), ["-r", location, "--password-file", passwordFile, "--no-cache", "backup", "--stdin"], { reject: false, stdin: "pipe" })
    : execa(engineBinary("borg"), ["create", `${location}::held`, "-"], { reject: false, stdin: "pipe", env: { BORG_PASSPHRASE: fs.readFileSync(passwordFile, "utf8").trim() } });
  await waitLocked(engine.kind, location);
  return { p }; // not the subprocess itself: awaiting a thenable would wait for its exit
}

describe.each(["restic", "borg"] as EngineKind[])("%s locks", (kind) => {
  it("removeStaleLocks removes the lock of a SIGKILLed engine and leaves a live one's", async () => {
    const { engine } = await freshRepo(kind);
    const { p: dead } = await lockHolder(engine);
    dead.kill("SIGKILL");
    await dead;
    expect(await engine.removeStaleLocks()).toBe(1);
    expect(await engine.removeStaleLocks()).toBe(0);
    await engine.check();
    const { p: live } = await lockHolder(engine);
    expect(await engine.removeStaleLocks()).toBe(0);
    expect(kind === "restic" ? fs.readdirSync(path.join(engine.repo.location, "locks")).length : Number(fs.existsSync(path.join(engine.repo.location, "lock.exclusive")))).toBe(1);
    live.kill("SIGKILL");
    await live;
  }, 120_000);
});
