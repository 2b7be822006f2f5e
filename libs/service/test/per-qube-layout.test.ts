// The per-qube layout as the service handles it, through both engines:
// retention forgets a run's data snapshots (one per qube) together with its
// side record, reindex finds every kind of run again, and runDump's --qubes
// names are checked before anything is read.
import fs from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { openDatabase } from "@qubes-dedup/db";
import { incompleteRunsOf } from "@qubes-dedup/pipeline";
import { type QubeSpec } from "@qubes-dedup/qubes-sim";
import { makeBackupStreamFile, tmpDir } from "@qubes-dedup/qubes-sim/testing";
import { addRepository, applyRetention, engineFor, getRepository, listSnapshots, reindex, runBackup, runDump, ServiceError } from "../src/index.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const SHIM_DIR = path.join(ROOT, "libs/shim/dist");
const MiB = 1024 * 1024;
const QUBES: QubeSpec[] = [
  { name: "fedora-41", klass: "TemplateVM", rootSize: 2 * MiB, privateSize: MiB },
  { name: "work", klass: "AppVM", template: "fedora-41", privateSize: 2 * MiB },
  { name: "vault", klass: "AppVM", template: "fedora-41", privateSize: MiB },
];
const PASS = `qubes-dedup-v1-${"cd".repeat(32)}`;
const env = () => ({ ...process.env, PATH: `${SHIM_DIR}:${process.env.PATH}` });

class Count extends Writable {
  bytes = 0;
  override _write(c: Buffer, _e: BufferEncoding, cb: () => void): void {
    this.bytes += c.length;
    cb();
  }
}

describe.each(["restic", "borg"] as const)("%s", (kind) => {
  it("retention forgets each run's data snapshots with its side record, leaving no part behind; reindex finds the runs kept", async () => {
    const dir = tmpDir(`per-qube-${kind}`);
    const db = await openDatabase(`file:${path.join(dir, "index.db")}`);
    try {
      fs.writeFileSync(path.join(dir, "pass"), "secret\n", { mode: 0o600 });
      await addRepository(db, { name: "default", engine: kind, location: path.join(dir, "repo"), passwordFile: path.join(dir, "pass") });
      let root: string | undefined;
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const s = await makeBackupStreamFile(dir, { seed: "ret", qubes: QUBES, chunkSize: MiB, passphrase: PASS, env: env(), ...(root ? { root } : {}) });
        root = s.root;
        ids.push((await runBackup(db, { repository: "default", input: fs.createReadStream(s.file) })).ingest.snapshotId);
      }
      const engine = engineFor(await getRepository(db, "default"));
      // per run: fedora-41, work, vault and dom0's home, each its own data snapshot, and the side record
      expect(await engine.snapshots()).toHaveLength(3 * 5);
      const r = await applyRetention(db, "default", { keepLast: 1 });
      expect(r.forgotten.sort()).toEqual(ids.slice(0, 2).sort());
      const left = await engine.snapshots();
      expect(left).toHaveLength(5);
      const run = left.find((s) => s.id === ids[2])!.tags.find((t) => t.startsWith("qd-run:"))!;
      expect(left.every((s) => s.tags.includes(run))).toBe(true);
      expect(incompleteRunsOf(left)).toEqual([]);
      expect((await listSnapshots(db, "default")).map((s) => s.engineSnapshotId)).toEqual([ids[2]]);
      // the index rebuilt from the repository alone
      await db.prisma.snapshot.deleteMany({});
      expect(await reindex(db, "default")).toMatchObject({ added: 1, incomplete: [], failed: [] });
      const out = new Count();
      const d = await runDump(db, { repository: "default", snapshot: "latest", output: out, qubes: ["work"] });
      expect(d.bytes).toBe(out.bytes);
      expect(d.repositoryBytesRead).toBeLessThan(d.bytes);
      await expect(runDump(db, { repository: "default", snapshot: "latest", output: new Count(), qubes: ["work", "a;b"] })).rejects.toThrow(
        new ServiceError('qube name "a;b" is not a valid qube name; use a letter followed by up to 30 letters, digits, "_", "." or "-" (not ending in "-dm", not "none", "default" or "Domain-0").'),
      );
      await expect(runDump(db, { repository: "default", snapshot: "latest", output: new Count(), qubes: ["work", "work"] })).rejects.toThrow(new ServiceError('qube "work" is named twice in --qubes; name each qube once.'));
    } finally {
      await db.close();
    }
  }, 300_000);
});
