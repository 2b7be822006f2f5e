// Many machines, one repository: two simulated machines (two dom0 systems,
// two backup qubes with their own index dbs) back up into one local
// repository, each registered with its own --machine name. Each lists,
// reindexes, keeps and cleans up only its own snapshots; the other's are
// never offered, never forgotten.
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execa } from "execa";
import { makeBackupStreamFile, tmpDir } from "@qubes-dedup/qubes-sim/testing";
import { engineBinary, incompleteRunsOf, machineTag, openEngine, shortSnapshotId, type EngineKind } from "@qubes-dedup/pipeline";
import { addRepository, applyRetention, engineFor, getRepository, listSnapshots, reindex, runBackup } from "../src/index.ts";
import { removeTemplate, tempDatabase } from "./seed.ts";

const MiB = 1024 * 1024;
const SHIM_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../shim/dist");
const PASS = `qubes-dedup-v1-${"ab".repeat(32)}`;
const ENV = { ...process.env, PATH: `${SHIM_DIR}:${process.env.PATH}` };

let work: string;
let streams: Record<"laptop" | "office", string>;
beforeAll(async () => {
  work = tmpDir("machines");
  const stream = async (seed: string) =>
    (await makeBackupStreamFile(work, { seed, qubes: [{ name: "debian-12", klass: "TemplateVM", rootSize: MiB, privateSize: 256 * 1024 }], chunkSize: MiB, passphrase: PASS, env: ENV })).file;
  streams = { laptop: await stream("laptop"), office: await stream("office") };
}, 120_000);
afterAll(async () => {
  await removeTemplate();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe("several machines in one repository", () => {
  it("a machine name that cannot be a tag is refused in one sentence, and nothing is registered", async () => {
    const db = await tempDatabase();
    try {
      const pw = path.join(db.dir, "pass");
      fs.writeFileSync(pw, "secret\n", { mode: 0o600 });
      const add = (machine: string) => addRepository(db, { name: "shared", engine: "restic", location: path.join(db.dir, "repo"), passwordFile: pw, machine }).catch((e: Error) => e.message);
      expect(await add("my laptop")).toBe('invalid machine name "my laptop": use 1 to 63 letters, digits, ".", "_" or "-", starting with a letter or digit (e.g. laptop or office-pc).');
      expect(await add("a,b")).toBe('invalid machine name "a,b": use 1 to 63 letters, digits, ".", "_" or "-", starting with a letter or digit (e.g. laptop or office-pc).');
      expect(await db.prisma.repository.count()).toBe(0);
      expect(fs.existsSync(path.join(db.dir, "repo"))).toBe(false);
    } finally {
      await db.close();
      fs.rmSync(db.dir, { recursive: true, force: true });
    }
  });

  it.each<EngineKind>(["restic", "borg"])("%s: each machine lists, reindexes, keeps and cleans up only its own snapshots", { timeout: 300_000 }, async (engine) => {
    const dir = tmpDir(`machines-${engine}`);
    const pw = path.join(dir, "pass");
    fs.writeFileSync(pw, "shared repository secret\n", { mode: 0o600 });
    const location = path.join(dir, "repo");
    const dbs = { laptop: await tempDatabase(), office: await tempDatabase(), fresh: await tempDatabase(), plain: await tempDatabase() };
    try {
      for (const m of ["laptop", "office"] as const) {
        const r = await addRepository(dbs[m], { name: "shared", engine, location, passwordFile: pw, machine: m });
        expect(r.machine).toBe(m);
      }
      const backup = (m: "laptop" | "office") => runBackup(dbs[m], { repository: "shared", input: fs.createReadStream(streams[m]) });
      const laptop1 = await backup("laptop");
      const office1 = await backup("office");
      const laptop2 = await backup("laptop");
      const ids = async (m: keyof typeof dbs) => (await listSnapshots(dbs[m], "shared")).map((s) => s.engineSnapshotId);
      expect(await ids("laptop")).toEqual([laptop1.ingest.snapshotId, laptop2.ingest.snapshotId]);
      expect(await ids("office")).toEqual([office1.ingest.snapshotId]);

      // in the repository: every snapshot carries its machine's tag; restic's host is the machine too
      const everything = openEngine({ engine, location, passwordFile: pw });
      const all = await everything.snapshots();
      const laptopEngine = engineFor(await getRepository(dbs.laptop, "shared"));
      const officeEngine = engineFor(await getRepository(dbs.office, "shared"));
      const laptopSnaps = await laptopEngine.snapshots();
      const officeSnaps = await officeEngine.snapshots();
      expect(laptopSnaps.length + officeSnaps.length).toBe(all.length);
      expect(laptopSnaps.every((s) => s.tags.includes(machineTag("laptop")))).toBe(true);
      expect(officeSnaps.every((s) => s.tags.includes(machineTag("office")))).toBe(true);
      if (engine === "restic") {
        const raw = await execa(engineBinary("restic"), ["-r", location, "--password-file", pw, "--no-cache", "--no-lock", "snapshots", "--json"]);
        const hosts = new Map((JSON.parse(raw.stdout) as { id: string; hostname: string }[]).map((s) => [s.id, s.hostname]));
        expect(new Set(laptopSnaps.map((s) => hosts.get(s.id)))).toEqual(new Set(["laptop"]));
        expect(new Set(officeSnaps.map((s) => hosts.get(s.id)))).toEqual(new Set(["office"]));
      }

      // a fresh backup qube of the laptop rebuilds the laptop's list only, from the repository alone
      await addRepository(dbs.fresh, { name: "shared", engine, location, passwordFile: pw, machine: "laptop" });
      expect(await reindex(dbs.fresh, "shared")).toMatchObject({ added: 2, kept: 0, removed: 0, incomplete: [], failed: [] });
      expect(await ids("fresh")).toEqual([laptop1.ingest.snapshotId, laptop2.ingest.snapshotId]);
      // without a machine name (as before): every backup of the repository is this machine's
      await addRepository(dbs.plain, { name: "shared", engine, location, passwordFile: pw });
      expect(await reindex(dbs.plain, "shared")).toMatchObject({ added: 3, incomplete: [], failed: [] });

      // the office's run in progress (its data snapshot stored, its side record not yet), and
      // the laptop's own run killed the same way; the laptop's next backup cleans up its own only
      const officeRun = await backup("office");
      await officeEngine.forget([officeRun.ingest.sideSnapshotId]);
      await dbs.office.prisma.snapshot.delete({ where: { id: officeRun.snapshotDbId } });
      const laptopKilled = await backup("laptop");
      await laptopEngine.forget([laptopKilled.ingest.sideSnapshotId]);
      await dbs.laptop.prisma.snapshot.delete({ where: { id: laptopKilled.snapshotDbId } });
      await dbs.laptop.prisma.job.update({ where: { id: laptopKilled.jobId }, data: { status: "running", pid: 2 ** 22 + 1 } });
      const laptopHalf = incompleteRunsOf(await laptopEngine.snapshots()).map((s) => s.id);
      const officeHalf = incompleteRunsOf(await officeEngine.snapshots()).map((s) => s.id);
      expect(laptopHalf).toContain(laptopKilled.ingest.snapshotId);
      expect(officeHalf).toContain(officeRun.ingest.snapshotId);
      const lines: string[] = [];
      const laptop3 = await runBackup(dbs.laptop, { repository: "shared", input: fs.createReadStream(streams.laptop), log: (l) => lines.push(l) });
      expect(lines.filter((l) => l.includes("interrupted"))).toEqual([expect.stringMatching(new RegExp(`^removed ${laptopHalf.length} snapshots? of interrupted backup runs from `))]);
      expect(incompleteRunsOf(await laptopEngine.snapshots())).toEqual([]);
      expect(incompleteRunsOf(await officeEngine.snapshots()).map((s) => s.id)).toEqual(officeHalf);

      // retention on the laptop: keep-last 1 forgets the laptop's older backups, the office's all stay
      const officeBefore = (await officeEngine.snapshots()).map((s) => s.id).sort();
      const kept = await applyRetention(dbs.laptop, "shared", { keepLast: 1 });
      expect([...kept.forgotten].sort()).toEqual([laptop1.ingest.snapshotId, laptop2.ingest.snapshotId].sort());
      expect(kept.runs.map((r) => r.dataId)).toEqual([laptop3.ingest.snapshotId, laptop2.ingest.snapshotId, laptop1.ingest.snapshotId]);
      expect(await ids("laptop")).toEqual([laptop3.ingest.snapshotId]);
      expect((await officeEngine.snapshots()).map((s) => s.id).sort()).toEqual(officeBefore);
      expect(await reindex(dbs.office, "shared")).toMatchObject({ added: 0, kept: 1, removed: 0, incomplete: officeHalf.map((id) => shortSnapshotId(engine, id)) });
      expect(await ids("office")).toEqual([office1.ingest.snapshotId]);
    } finally {
      for (const db of Object.values(dbs)) {
        await db.close();
        fs.rmSync(db.dir, { recursive: true, force: true });
      }
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
