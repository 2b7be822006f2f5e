// Engine failures a user meets, worded as one sentence naming the cause and
// what to do, against real restic and borg: an unreachable REST server, a
// deleted repository, the wrong engine, a server that goes away mid-backup.
import fs from "node:fs";
import path from "node:path";
import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { EngineError, ingest, listDataSnapshots, openEngine, type EngineKind } from "../src/index.ts";
import { makeStream, smallSystem } from "./helpers/make-stream.ts";
import { tmpDir } from "@qubes-dedup/qubes-sim/testing";
import { fileStream, freshRepo } from "./helpers/repo.ts";
import { freePort, startRest } from "@qubes-dedup/qubes-sim";

const streamFile = makeStream(tmpDir("pipeline"), { qubes: smallSystem("engine-messages", 3 << 20), chunkSize: 1 << 20 });

describe("messages", () => {
  it("names the REST server that refuses connections (not 'initialise it first')", async () => {
    const { engine } = await freshRepo("restic");
    const port = await freePort();
    const loc = `rest:http://127.0.0.1:${port}/repo/`;
    const e = openEngine({ ...engine.repo, location: loc });
    await expect(e.snapshots()).rejects.toThrow(`restic cannot reach the server http://127.0.0.1:${port} of the repository ${loc} (connection refused); start the server or fix the location, then try again.`);
    await expect(e.isInitialised()).rejects.toThrow(/cannot reach the server/);
    // restic >= 0.17 retries: each call gives up after 10 s of refused connections
  }, 60_000);

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
    const dir = tmpDir("rest");
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
