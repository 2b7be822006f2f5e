/**
 * bench/files.mjs's work: one snapshot of a system whose "work" qube has a
 * 2 GiB private volume holding an ext4 filesystem with a 10 MiB file, after
 * a "bulk" qube of random data (so the full dump is more than work's data;
 * work comes last in the stream, the worst case for reading out of the full
 * dump). Times (s): full dump to /dev/null; list "/" (rebuild + sandboxed
 * listing); fetch the 10 MiB file (rebuild + sandboxed copy).
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { makeBackupStreamFile, tmpDir } from "@qubes-dedup/qubes-sim/testing";
import { addRepository, downloadToFile, listFiles, openIndex, runBackup, runDump, withVolume } from "@qubes-dedup/service";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const MiB = 1 << 20;
const { values: opts } = parseArgs({ options: { quick: { type: "boolean", default: false }, json: { type: "boolean", default: false } }, strict: true });
const bulkMiB = opts.quick ? 128 : 512;

const dir = tmpDir("bench-files");
try {
  const tree = path.join(dir, "tree");
  fs.mkdirSync(path.join(tree, "home/user/Documents"), { recursive: true });
  const big = randomBytes(10 * MiB);
  fs.writeFileSync(path.join(tree, "home/user/Documents/big.bin"), big);
  for (let i = 0; i < 200; i++) fs.writeFileSync(path.join(tree, "home/user", `f${i}.txt`), randomBytes(4096));
  const db = await openIndex(path.join(dir, "index.db"));
  fs.writeFileSync(path.join(dir, "pass"), "bench\n", { mode: 0o600 });
  await addRepository(db, { name: "default", engine: "restic", location: path.join(dir, "repo"), passwordFile: path.join(dir, "pass") });
  const stream = await makeBackupStreamFile(dir, {
    seed: "bench-files",
    passphrase: `qubes-dedup-v1-${"3c".repeat(32)}`,
    env: { ...process.env, PATH: `${path.join(ROOT, "libs/shim/dist")}:${process.env.PATH}` },
    qubes: [
      { name: "fedora-41", klass: "TemplateVM", rootSize: 16 * MiB, privateSize: MiB },
      { name: "bulk", klass: "AppVM", template: "fedora-41", privateSize: bulkMiB * MiB },
      { name: "work", klass: "AppVM", template: "fedora-41", privateSize: 2048 * MiB, files: { private: tree } },
    ],
  });
  await runBackup(db, { repository: "default", input: fs.createReadStream(stream.file) });
  const time = async (f: () => Promise<unknown>) => {
    const t0 = process.hrtime.bigint();
    await f();
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  const target = { repository: "default", snapshot: "latest", qube: "work", volume: "private" };
  const scratchDir = path.join(dir, "scratch");
  const dumpS = await time(() => runDump(db, { repository: "default", snapshot: "latest", output: fs.createWriteStream("/dev/null") }));
  const listS = await time(() => listFiles(db, target, "/", { scratchDir }));
  const out = path.join(dir, "big.out");
  const fetchS = await time(() => withVolume(db, target, (v) => downloadToFile(v.browser, "/home/user/Documents/big.bin", out), { scratchDir }));
  if (!fs.readFileSync(out).equals(big)) throw new Error("the fetched file differs from the one in the volume");
  await db.close();
  const r = { "files.listRatio": +(listS / dumpS).toFixed(3), "files.fetchRatio": +(fetchS / dumpS).toFixed(3), dumpSeconds: +dumpS.toFixed(2), listSeconds: +listS.toFixed(2), fetchSeconds: +fetchS.toFixed(2), streamBytes: stream.bytes };
  process.stderr.write(`stream ${stream.bytes} bytes; full dump ${dumpS.toFixed(2)} s; list / ${listS.toFixed(2)} s (${r["files.listRatio"]}); fetch 10 MiB ${fetchS.toFixed(2)} s (${r["files.fetchRatio"]})\n`);
  process.stdout.write(`${JSON.stringify(r)}\n`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
