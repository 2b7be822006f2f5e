// The backup qube's copies of side records (src/side-cache.ts): a backup
// keeps one, a dump then reads no side record from the repository, and a
// damaged or missing copy is read again from the repository. Real restic and
// borg repositories; the stream comes back byte for byte each time.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Writable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { makeBackupStreamFile, tmpDir } from "@qubes-dedup/qubes-sim/testing";
import type { EngineKind } from "@qubes-dedup/pipeline";
import { addRepository, runBackup, runDump } from "../src/index.ts";
import { removeTemplate, tempDatabase } from "./seed.ts";

afterAll(removeTemplate);
const MiB = 1024 * 1024;
const SHIM_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../shim/dist");
const PASS = `qubes-dedup-v1-${"5e".repeat(32)}`;

/** A sink hashing what it is given. */
function hashingSink() {
  const hash = crypto.createHash("sha256");
  const sink = new Writable({ write: (c: Buffer, _e, cb) => (hash.update(c), cb()) });
  return { sink, digest: () => hash.digest("hex") };
}

describe.each(["restic", "borg"] as EngineKind[])("%s: side record copies", (kind) => {
  it("a backup keeps a copy of its side record; a dump reads none from the repository, and a damaged copy is read again", async () => {
    const db = await tempDatabase();
    const dir = tmpDir("side-cache");
    fs.writeFileSync(path.join(dir, "pass"), "secret\n", { mode: 0o600 });
    const repo = await addRepository(db, { name: "default", engine: kind, location: path.join(dir, "repo"), passwordFile: path.join(dir, "pass") });
    const s = await makeBackupStreamFile(dir, {
      seed: `side-cache-${kind}`, chunkSize: MiB, passphrase: PASS, env: { ...process.env, PATH: `${SHIM_DIR}:${process.env.PATH}` },
      qubes: [{ name: "fedora-41", klass: "TemplateVM", rootSize: MiB, privateSize: MiB }, { name: "work", klass: "AppVM", template: "fedora-41", privateSize: 2 * MiB }],
    });
    const backup = await runBackup(db, { repository: "default", input: fs.createReadStream(s.file) });
    const copies = path.join(db.dir, "side-records", String(repo.id));
    const kept = fs.readdirSync(copies);
    expect(kept).toHaveLength(1);
    expect(kept[0]).toBe(crypto.createHash("sha256").update(backup.ingest.sideSnapshotId).digest("hex"));

    const dumpOnce = async () => {
      const h = hashingSink();
      const r = await runDump(db, { repository: "default", snapshot: backup.ingest.snapshotId, output: h.sink });
      expect(h.digest()).toBe(s.sha256);
      return r;
    };
    const fromCopy = await dumpOnce();
    const copy = path.join(copies, kept[0]!);
    // damaged: the repository's record is read (its bytes count as read) and kept again
    fs.writeFileSync(copy, "not a side record");
    const damaged = await dumpOnce();
    const sideBytes = damaged.repositoryBytesRead - fromCopy.repositoryBytesRead;
    expect(sideBytes).toBeGreaterThan(0);
    expect(fs.readFileSync(copy).length).toBe(sideBytes);
    // missing: the same
    fs.rmSync(copy);
    expect((await dumpOnce()).repositoryBytesRead).toBe(damaged.repositoryBytesRead);
    expect(fs.existsSync(copy)).toBe(true);
    expect((await dumpOnce()).repositoryBytesRead).toBe(fromCopy.repositoryBytesRead);
    await db.close();
  }, 240_000);
});
