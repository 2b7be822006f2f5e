// After a run killed between its two snapshots, and a lock left by a killed
// engine: reindex indexes every complete backup and reports the interrupted
// run (it used to fail the whole repository), and the next backup removes
// the stale lock and the interrupted run's snapshot, saying so in its log.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { execa } from "execa";
import { makeBackupStreamFile, tmpDir, waitLocked } from "@qubes-dedup/qubes-sim/testing";
import { engineBinary, runIdOf, shortSnapshotId } from "@qubes-dedup/pipeline";
import { addRepository, engineFor, getRepository, listSnapshots, reindex, runBackup } from "../src/index.ts";

const shortIdOf = (id: string) => shortSnapshotId("restic", id);
import { removeTemplate, tempDatabase } from "./seed.ts";

afterAll(removeTemplate);
const MiB = 1024 * 1024;
const SHIM_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../shim/dist");
const PASS = `qubes-dedup-v1-${"cd".repeat(32)}`;

describe("restic: an interrupted run and a stale lock", () => {
  it("reindex lists every complete run and reports the interrupted one; the next backup removes it and the stale lock, and logs both", async () => {
    const db = await tempDatabase();
    const dir = tmpDir("care");
    fs.writeFileSync(path.join(dir, "pass"), "secret\n", { mode: 0o600 });
    await addRepository(db, { name: "default", engine: "restic", location: path.join(dir, "repo"), passwordFile: path.join(dir, "pass") });
    const a = await makeBackupStreamFile(dir, { seed: "care", qubes: [{ name: "fedora-41", klass: "TemplateVM", rootSize: MiB, privateSize: MiB }], chunkSize: MiB, passphrase: PASS, env: { ...process.env, PATH: `${SHIM_DIR}:${process.env.PATH}` } });
    const good = [];
    for (let i = 0; i < 2; i++) good.push((await runBackup(db, { repository: "default", input: fs.createReadStream(a.file) })).ingest.snapshotId);
    const third = await runBackup(db, { repository: "default", input: fs.createReadStream(a.file) });
    const engine = engineFor(await getRepository(db, "default"));
    // the run killed between its snapshots: its side record never stored, its job left running by a dead process
    await engine.forget([third.ingest.sideSnapshotId]);
    await db.prisma.snapshot.deleteMany({});
    await db.prisma.job.update({ where: { id: third.jobId }, data: { status: "running", pid: 2 ** 22 + 1 } });

    // what the interrupted run left: its data snapshots, one per qube with data (per-qube layout)
    const all = await engine.snapshots();
    const thirdRun = runIdOf(all.find((s) => s.id === third.ingest.snapshotId)!.tags)!;
    const halves = all.filter((s) => runIdOf(s.tags) === thirdRun).map((s) => shortIdOf(s.id));
    expect(halves.length).toBe(third.ingest.qubes.filter((q) => q.files.length).length);
    const r = await reindex(db, "default");
    expect(r).toMatchObject({ added: 2, kept: 0, removed: 0, incomplete: halves, failed: [] });
    expect((await listSnapshots(db, "default")).map((s) => s.engineSnapshotId)).toEqual(good);

    // a lock left by a restic killed with SIGKILL
    const { location, passwordFile } = engine.repo;
    const killed = execa(engineBinary("restic"), ["-r", location, "--password-file", passwordFile, "--no-cache", "backup", "--stdin"], { reject: false, stdin: "pipe" });
    await waitLocked("restic", location);
    killed.kill("SIGKILL");
    await killed;

    const log: string[] = [];
    const next = await runBackup(db, { repository: "default", input: fs.createReadStream(a.file), log: (l) => log.push(l) });
    expect(log).toEqual([
      `removed 1 stale lock from ${location} (left by a process of this machine that is gone).`,
      `removed ${halves.length} snapshots of interrupted backup runs from ${location} (${halves.join(", ")}): none was a complete backup.`,
    ]);
    const left = (await engine.snapshots()).filter((s) => s.tags.includes("qd-data")).map((s) => s.id);
    expect(left).toEqual([...good, next.ingest.snapshotId]);
    expect(fs.readdirSync(path.join(location, "locks"))).toEqual([]);
    await engine.check();
    await db.close();
  }, 240_000);
});
