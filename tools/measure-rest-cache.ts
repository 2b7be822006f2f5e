// Measures what restic's cache saves on a remote repository: a second backup
// of an unchanged system and a dump of it, over restic's rest-server (TLS, on
// 127.0.0.1), with the cache (QUBES_DEDUP_CACHE_DIR, the product's default
// for remote repositories) and without it (QUBES_DEDUP_CACHE_DIR=off, every
// run downloads the index and trees again). Prints the median of 3 runs of
// each as one JSON line: seconds, and the bytes and GET requests the server
// sent (from its request log). Loopback has no latency and no bandwidth
// limit: on a real network the time saved follows the bytes and requests saved.
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
const log = path.join(work, "requests.log");
const server = await startRestServer({ dataDir: path.join(work, "data"), configDir: path.join(work, "config"), mode: "plain", users: { m: "measure password" }, bin, log });
/** GET requests and the bytes sent for them, from the request log since byte `from` (combined log format: `"GET /… HTTP/1.1" 200 1234`). */
const served = (from: number) => {
  const lines = fs.readFileSync(log, "utf8").slice(from).split("\n");
  const gets = lines.map((l) => /"GET [^"]*" \d{3} (\d+|-)/.exec(l)).filter((m) => m !== null);
  return { gets: gets.length, bytes: gets.reduce((t, m) => t + (Number(m[1]) || 0), 0) };
};
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
    const at = fs.statSync(log).size;
    const t = performance.now();
    await f();
    return { seconds: (performance.now() - t) / 1000, ...served(at) };
  };
  type Run = Awaited<ReturnType<typeof timed>>;
  const backup = () => runBackup(db, { repository: "m", input: fs.createReadStream(stream.file) });
  const dump = (snapshot: string) => runDump(db, { repository: "m", snapshot, output: new Writable({ write: (_c, _e, cb) => cb() }) });
  process.env.QUBES_DEDUP_CACHE_DIR = "off";
  const first = await backup();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;
  const summary = (rs: Run[]) => ({ seconds: median(rs.map((r) => r.seconds)), bytesServed: median(rs.map((r) => r.bytes)), gets: median(rs.map((r) => r.gets)), secondsEach: rs.map((r) => Number(r.seconds.toFixed(2))) });
  const result: Record<string, { backup: ReturnType<typeof summary>; dump: ReturnType<typeof summary> }> = {};
  for (const mode of ["off", "on"] as const) {
    process.env.QUBES_DEDUP_CACHE_DIR = mode === "off" ? "off" : cacheDir;
    if (mode === "on") await dump(first.ingest.snapshotId); // fills the cache: the runs measured find it warm, as every run after the first does
    const b: Run[] = [];
    const d: Run[] = [];
    for (let i = 0; i < 3; i++) {
      b.push(await timed(backup));
      d.push(await timed(() => dump(first.ingest.snapshotId)));
    }
    result[mode] = { backup: summary(b), dump: summary(d) };
  }
  const cacheFiles = fs.readdirSync(cacheDir, { recursive: true }).length;
  console.log(JSON.stringify({ streamBytes: stream.bytes, cacheFiles, ...result }));
  await db.close();
} finally {
  await server.stop();
  fs.rmSync(work, { recursive: true, force: true });
}
