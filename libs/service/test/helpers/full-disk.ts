// Runs inside `unshare -Urm` with a small tmpfs mounted at argv[2] (see
// full-disk.test.ts): one scenario, its outcome printed as one JSON line.
// Usage: full-disk <dir> <scenario> <work dir>
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { openDatabase } from "@qubes-dedup/db";
import { engineBinary } from "@qubes-dedup/pipeline";
import { makeBackupStreamFile } from "@qubes-dedup/qubes-sim/testing";
import { addRepository, runBackup } from "../../src/index.ts";

const [small, scenario, work] = process.argv.slice(2) as [string, string, string];
const SHIM_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../shim/dist");
const env = { ...process.env, PATH: `${SHIM_DIR}:${process.env.PATH}` };
const PASS = `qubes-dedup-v1-${"ef".repeat(32)}`;
const MiB = 1024 * 1024;
const used = () => { const st = fs.statfsSync(small); return (st.blocks - st.bfree) * st.bsize; };
const stream = (seed: string, size: number) => makeBackupStreamFile(work, { seed, qubes: [{ name: "fedora-41", klass: "TemplateVM", rootSize: size, privateSize: MiB }], chunkSize: 4 * MiB, passphrase: PASS, env });
const attempt = async (db: Awaited<ReturnType<typeof openDatabase>>, file: string, log: string[] = []) =>
  runBackup(db, { repository: "default", input: fs.createReadStream(file), log: (l) => log.push(l) }).then((r) => ({ ok: true, id: r.ingest.snapshotId, log }), (e: Error) => ({ ok: false, error: e.message, log }));

const out: Record<string, unknown> = {};
fs.writeFileSync(path.join(work, "pw"), "a repository password\n", { mode: 0o600 });
const pw = path.join(work, "pw");
if (scenario === "repo-restic" || scenario === "repo-borg") {
  const kind = scenario === "repo-restic" ? "restic" : "borg";
  const db = await openDatabase(`file:${path.join(work, "index.db")}`);
  await addRepository(db, { name: "default", engine: kind, location: path.join(small, "repo"), passwordFile: pw });
  const big = await stream("big", (kind === "restic" ? 48 : 120) * MiB);
  const smallStream = await stream("small", 2 * MiB);
  out.first = await attempt(db, smallStream.file);
  out.second = await attempt(db, smallStream.file);
  out.full = await attempt(db, big.file);
  out.usedAfterFailure = used();
  out.next = await attempt(db, smallStream.file);
  await db.close();
} else if (scenario === "borg-reserve") {
  // a borg repository made with borg's defaults (500 MiB segments), not by qubes-dedup
  const location = path.join(small, "repo");
  execFileSync(engineBinary("borg"), ["init", "-e", "repokey-blake2", location], { env: { ...process.env, BORG_PASSPHRASE: "a repository password" } });
  const db = await openDatabase(`file:${path.join(work, "index.db")}`);
  await addRepository(db, { name: "default", engine: "borg", location, passwordFile: pw });
  out.attempt = await attempt(db, (await stream("small", 2 * MiB)).file);
  await db.close();
} else if (scenario === "index-db") {
  // the repository on the big disk, the index db on the small one, filled up
  const file = path.join(small, "index.db");
  const db = await openDatabase(`file:${file}`);
  await addRepository(db, { name: "default", engine: "restic", location: path.join(work, "repo"), passwordFile: pw });
  const s = await stream("small", 2 * MiB);
  out.first = await attempt(db, s.file);
  const filler = path.join(small, "filler");
  try {
    fs.writeFileSync(filler, Buffer.alloc(64 * MiB));
  } catch {
    // the disk is full now
  }
  out.full = await attempt(db, s.file);
  await db.close().catch(() => {});
}
process.stdout.write(`${JSON.stringify(out)}\n`);
