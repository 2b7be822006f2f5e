// Measures what restic's cache saves on a remote repository: a second backup
// of an unchanged system and a dump of it, over restic's rest-server (TLS, on
// 127.0.0.1), with the cache (QUBES_DEDUP_CACHE_DIR, the product's default
// for remote repositories) and without it (QUBES_DEDUP_CACHE_DIR=off, every
// run downloads the index and trees again). Prints the median of 3 runs of
// each, in seconds, as one JSON line. Loopback has no latency: on a real
// network the difference grows with the round trips saved.
// usage: npx tsx tools/measure-rest-cache.ts [stream MiB, default 48]
import fs from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { openDatabase } from "@qubes-dedup/db";
import { makeBackupStreamFile, restServerBinary, startRestServer, tmpDir } from "@qubes-dedup/qubes-sim/testing";
import { addRepositoryFromDashboard, runBackup, runDump } from "@qubes-dedup/service";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const MiB = 1024 * 1024;
const half = (Number(process.argv[2]) || 48) / 2;
const { bin, missing } = restServerBinary();
if (!bin) throw new Error(missing);
const work = tmpDir("rest-cache");
const server = await startRestServer({ dataDir: path.join(work, "data"), configDir: path.join(work, "config"), mode: "plain", users: { m: "measure password" }, bin });
try {
  const db = await openDatabase(`file:${path.join(work, "index.db")}`);
  const stream = await makeBackupStreamFile(work, {
    seed: "rest-cache", chunkSize: 8 * MiB, passphrase: `qubes-dedup-v1-${"12".repeat(32)}`,
    qubes: [{ name: "work", klass: "StandaloneVM", rootSize: half * MiB, privateSize: half * MiB }],
    env: { ...process.env, PATH: `${path.join(ROOT, "libs/shim/dist")}:${process.env.PATH}` },
  });
  await addRepositoryFromDashboard(db, { name: "m", engine: "restic", location: server.location("m", "m"), password: "repository password", caCert: fs.readFileSync(server.caCert, "utf8") }, path.join(work, "secrets"));
  const cacheDir = path.join(work, "cache");
  const timed = async (f: () => Promise<unknown>) => {
    const t = performance.now();
    await f();
    return (performance.now() - t) / 1000;
  };
  const backup = () => runBackup(db, { repository: "m", input: fs.createReadStream(stream.file) });
  const dump = (snapshot: string) => runDump(db, { repository: "m", snapshot, output: new Writable({ write: (_c, _e, cb) => cb() }) });
  process.env.QUBES_DEDUP_CACHE_DIR = "off";
  const first = await backup();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;
  const result: Record<string, { backup: number; dump: number; runs: { backup: number[]; dump: number[] } }> = {};
  for (const mode of ["off", "on"] as const) {
    process.env.QUBES_DEDUP_CACHE_DIR = mode === "off" ? "off" : cacheDir;
    if (mode === "on") await dump(first.ingest.snapshotId); // fills the cache: the runs measured find it warm, as every run after the first does
    const b: number[] = [];
    const d: number[] = [];
    for (let i = 0; i < 3; i++) {
      b.push(await timed(backup));
      d.push(await timed(() => dump(first.ingest.snapshotId)));
    }
    result[mode] = { backup: median(b), dump: median(d), runs: { backup: b, dump: d } };
  }
  const cacheFiles = fs.readdirSync(cacheDir, { recursive: true }).length;
  console.log(JSON.stringify({ streamBytes: stream.bytes, cacheFiles, ...result }));
  await db.close();
} finally {
  await server.stop();
  fs.rmSync(work, { recursive: true, force: true });
}
