#!/usr/bin/env node
// Benchmark of restores that read only the chosen qubes (issue 12): a
// simulated system of 20 qubes (two templates, eighteen AppVMs; >= 2 GiB of
// volumes, 264 MiB with --small / --quick) backed up by the simulated
// qvm-backup through the shim, ingested by `pipeline-cli ingest` in the
// per-qube layout (side record format 2) and, for comparison, in the format 1
// layout (all data in one snapshot). Then the simulated qvm-backup-restore
// restores everything, and one AppVM alone with `dump --qubes`, each through
// its three retrievals (header files, qubes.xml, data). Not a test: nothing
// fails when a goal is missed.
// Keys: subsetRestoreReadRatio (bytes read from the repository over the three
// retrievals of the 1-qube restore: dump's repositoryBytesRead, the side
// record's stored bytes plus every byte the engines' data dumps produced ÷
// that qube's bytes in the stream; goal <= 1.01), subsetRestoreTimeRatio
// (its wall time ÷ the full restore's; goal <= 0.25), and the layout's cost:
// ingestTimeVsFormat1, fullDumpTimeVsFormat1 (per-qube ÷ format 1, wall
// time, same stream), engineStarts (data snapshots per run).
// The routine backup (bench/incremental/routine.mjs) runs on a simulated dom0
// of the same qubes: a full `qubes-dedup-agent backup --changed --full`, two
// AppVMs started, written to and stopped, then `backup --changed` and another
// full backup of that state, all through the agent, the shim, qubes.Backup
// and `qubes-dedup ingest`. Keys: incrementalReadRatio (the qvm-backup
// stream's bytes, routine ÷ full), changedShare (the changed qubes' bytes in
// the stream ÷ all qubes'), incrementalReadVsChanged (first ÷ second; goal
// <= 1.1), incrementalTimeRatio (wall time, routine ÷ full; goal <= 0.25).
// usage: node bench/incremental.mjs [--small|--quick] [--json] [--engines restic,borg] [--keep]
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { routineBackup, routineTools } from "./incremental/routine.mjs";
import { exec } from "./pipeline/exec.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const CLI = path.join(ROOT, "libs/pipeline/dist/pipeline-cli.mjs");
const SIM = path.join(ROOT, "libs/pipeline/bench/sim-tool.ts");
const SHIM_DIR = path.join(ROOT, "libs/shim/dist");
const RESTORE = path.join(ROOT, "libs/qubes-sim/bin/qvm-backup-restore");
/** sim-tool's project passphrase (the shim passes chunks through with MAC trailers). */
const PASSPHRASE = `qubes-dedup-v1-${"3c".repeat(32)}`;
const PASSWORD = "bench-password";
const USAGE = "usage: node bench/incremental.mjs [--small|--quick] [--json] [--engines restic,borg] [--keep]\n";
const MiB = 1 << 20;

let opts;
try {
  opts = parseArgs({ strict: true, options: { small: { type: "boolean", default: false }, quick: { type: "boolean", default: false }, json: { type: "boolean", default: false }, engines: { type: "string", default: "restic" }, keep: { type: "boolean", default: false } } }).values;
} catch (e) {
  process.stderr.write(`${e.message}\n${USAGE}`);
  process.exit(2);
}
const small = opts.small || opts.quick;
const engines = opts.engines.split(",");
if (!engines.every((e) => e === "restic" || e === "borg")) {
  process.stderr.write(`bench: unknown engine in --engines ${opts.engines}; use restic and/or borg.\n${USAGE}`);
  process.exit(2);
}
for (const [f, hint] of [[CLI, "npx nx build @qubes-dedup/pipeline"], [path.join(SHIM_DIR, "scrypt"), "npx nx build @qubes-dedup/shim"]]) {
  if (!fs.existsSync(f)) {
    process.stderr.write(`bench: ${path.relative(ROOT, f)} is not built; run \`${hint}\` (or npm run bench) first.\n`);
    process.exit(1);
  }
}
const tools = routineTools(ROOT);
if (tools.error) {
  process.stderr.write(`${tools.error}\n`);
  process.exit(1);
}
const log = (s) => process.stderr.write(`${s}\n`);
/** The AppVM restored alone. */
const ONE = "app05";

/** 20 qubes: two templates (root 320 MiB), eighteen AppVMs (80 MiB private); 1/8 of that with --small. */
function qubesOf() {
  const s = (bytes) => Math.round((small ? bytes / 8 : bytes) / 4096) * 4096;
  const tpl = (n) => ({ name: `tpl${n}`, klass: "TemplateVM", label: "black", privateSize: s(16 * MiB), rootSize: s(320 * MiB), pool: n === 1 ? "file" : "lvm" });
  const app = (i) => ({ name: `app${String(i).padStart(2, "0")}`, klass: "AppVM", template: i % 2 ? "tpl1" : "tpl2", label: "blue", privateSize: s(80 * MiB), pool: i % 3 ? "lvm" : "file", ...(i % 4 === 0 ? { firewall: true } : {}) });
  return [tpl(1), tpl(2), ...Array.from({ length: 18 }, (_, i) => app(i + 1))];
}

/** Runs argv (stdout captured, or to a file such as /dev/null), `env` added to ours; see exec. */
const run = (argv, { stdin, stdout = "pipe", env } = {}) => exec(argv, { stdin, stdout, env: { ...process.env, ...env } });

const lastJson = (text) => JSON.parse(text.trim().split("\n").filter((l) => l.startsWith("{")).pop());
const engineEnv = (kind) => (kind === "borg" ? { BORG_PASSPHRASE: PASSWORD } : {});

async function initRepo(kind, repo, pwFile) {
  if (kind === "restic") await run(["restic", "-r", repo, "--password-file", pwFile, "init"]);
  else await run(["borg", "init", "-e", "repokey-blake2", repo], { env: engineEnv(kind) });
}

async function ingestInto(kind, repo, pwFile, stream, format) {
  const r = await run(["node", CLI, "ingest", "--engine", kind, "--repo", repo, "--password-file", pwFile, "--format", String(format)], { stdin: stream, env: engineEnv(kind) });
  return { ...lastJson(r.stdout), seconds: r.seconds };
}

async function dumpToNull(kind, repo, pwFile, ing) {
  const r = await run(["node", CLI, "dump", "--engine", kind, "--repo", repo, "--password-file", pwFile, "--side", ing.sideSnapshotId, ing.snapshotId], { stdout: "/dev/null", env: engineEnv(kind) });
  if (lastJson(r.stderr).streamSha256 !== ing.streamSha256) throw new Error(`dump of ${ing.snapshotId} is not the stream that was stored`);
  return r.seconds;
}

/**
 * The simulated qvm-backup-restore into a fresh root, its location running
 * pipeline-cli dump (with --qubes when `qubes` is given); resolves to its
 * wall time and the dump figures of each of its retrievals.
 */
async function restore(kind, repo, pwFile, ing, qubes, dir) {
  const root = fs.mkdtempSync(path.join(dir, "restored-"));
  const dumpLog = path.join(root, "..", `${path.basename(root)}.log`);
  const pass = path.join(dir, "restore-passphrase");
  fs.writeFileSync(pass, `${PASSPHRASE}\n`, { mode: 0o600 });
  const location = ["node", CLI, "dump", "--engine", kind, "--repo", repo, "--password-file", pwFile, "--side", ing.sideSnapshotId, ...(qubes ? ["--qubes", qubes.join(",")] : []), ing.snapshotId].join(" ");
  const env = { ...engineEnv(kind), PATH: `${SHIM_DIR}:${process.env.PATH}`, QUBES_SIM_ROOT: path.join(root, "dom0"), PIPELINE_CLI_LOG: dumpLog };
  const r = await run([RESTORE, "-d", "backup", "-p", pass, location, ...(qubes ?? [])], { env });
  const runs = fs.readFileSync(dumpLog, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  fs.rmSync(root, { recursive: true, force: true });
  return { seconds: r.seconds, runs };
}

async function benchEngine(kind, dir, stream) {
  const pwFile = path.join(dir, `${kind}-password`);
  fs.writeFileSync(pwFile, `${PASSWORD}\n`);
  const repos = { 2: path.join(dir, `${kind}-per-qube`), 1: path.join(dir, `${kind}-format1`) };
  const ing = {};
  for (const f of [1, 2]) {
    await initRepo(kind, repos[f], pwFile);
    ing[f] = await ingestInto(kind, repos[f], pwFile, stream.file, f);
    log(`${kind}: ingest, format ${f}: ${ing[f].seconds.toFixed(1)} s`);
  }
  const dumpS = {};
  for (const f of [1, 2]) {
    dumpS[f] = await dumpToNull(kind, repos[f], pwFile, ing[f]);
    log(`${kind}: full dump, format ${f}: ${dumpS[f].toFixed(1)} s`);
  }
  const full = await restore(kind, repos[2], pwFile, ing[2], undefined, dir);
  log(`${kind}: full restore (${full.runs.length} retrievals): ${full.seconds.toFixed(1)} s`);
  const one = await restore(kind, repos[2], pwFile, ing[2], [ONE], dir);
  const read = one.runs.reduce((a, x) => a + x.repositoryBytesRead, 0);
  const qubeBytes = ing[2].qubeBytes[ONE];
  log(`${kind}: restore of ${ONE} alone (${one.runs.length} retrievals): ${one.seconds.toFixed(1)} s, ${read} bytes read from the repository for its ${qubeBytes} bytes (per retrieval: ${one.runs.map((x) => x.repositoryBytesRead).join(", ")})`);
  const parts = (await run(kind === "restic" ? ["restic", "-r", repos[2], "--password-file", pwFile, "snapshots", "--json"] : ["borg", "list", "--json", repos[2]], { env: engineEnv(kind) })).stdout;
  const snaps = kind === "restic" ? JSON.parse(parts) : JSON.parse(parts).archives;
  return {
    subsetRestoreReadRatio: read / qubeBytes,
    subsetRestoreTimeRatio: one.seconds / full.seconds,
    ingestTimeVsFormat1: ing[2].seconds / ing[1].seconds,
    fullDumpTimeVsFormat1: dumpS[2] / dumpS[1],
    engineStarts: { ingestDataSnapshots: snaps.length - 1, subsetRetrievals: one.runs.length },
    seconds: { ingestFormat1: ing[1].seconds, ingestPerQube: ing[2].seconds, fullDumpFormat1: dumpS[1], fullDumpPerQube: dumpS[2], fullRestore: full.seconds, subsetRestore: one.seconds },
    bytes: { stream: stream.bytes, qube: qubeBytes, subsetRead: read },
  };
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "qd-bench-incremental-"));
try {
  const qubes = qubesOf();
  const volumeBytes = qubes.reduce((a, q) => a + q.privateSize + (q.rootSize ?? 0), 0);
  log(`generating a system of ${qubes.length} qubes (${(volumeBytes / MiB).toFixed(0)} MiB of volumes) and one qvm-backup run…`);
  const stream = lastJson((await run(["node", "--import", "tsx", SIM, "stream", "--dir", dir, "--seed", "incremental", "--qubes", JSON.stringify(qubes)], { env: { NODE_OPTIONS: "" } })).stdout);
  log(`stream: ${(stream.bytes / MiB).toFixed(0)} MiB`);
  const result = { qubes: qubes.length, volumeBytes, small };
  for (const kind of engines) result[kind] = await benchEngine(kind, dir, stream);
  // disk room for the routine backup's systems
  if (!opts.keep) for (const p of [stream.file, stream.root]) fs.rmSync(p, { recursive: true, force: true });
  for (const kind of engines) Object.assign(result[kind], await routineBackup({ kind, dir, qubes, tools, log }));
  // the first engine's figures are the bench's keys
  const first = result[engines[0]];
  for (const k of ["subsetRestoreReadRatio", "subsetRestoreTimeRatio", "incrementalReadRatio", "changedShare", "incrementalReadVsChanged", "incrementalTimeRatio"]) result[k] = first[k];
  for (const kind of engines) {
    const r = result[kind];
    log(`${kind}: subsetRestoreReadRatio ${r.subsetRestoreReadRatio.toFixed(4)} (goal <= 1.01), subsetRestoreTimeRatio ${r.subsetRestoreTimeRatio.toFixed(3)} (goal <= 0.25), ingest ${r.ingestTimeVsFormat1.toFixed(3)} x and full dump ${r.fullDumpTimeVsFormat1.toFixed(3)} x the format 1 layout's time`);
    log(`${kind}: incrementalReadRatio ${r.incrementalReadRatio.toFixed(4)}, changedShare ${r.changedShare.toFixed(4)}, incrementalReadVsChanged ${r.incrementalReadVsChanged.toFixed(3)} (goal <= 1.1), incrementalTimeRatio ${r.incrementalTimeRatio.toFixed(3)} (goal <= 0.25; wall ${r.routine.seconds.routine.toFixed(1)} s ÷ ${r.routine.seconds.full.toFixed(1)} s, CPU ${r.routine.cpuSeconds.routine.toFixed(1)} s and ${r.routine.cpuSeconds.full.toFixed(1)} s)`);
  }
  if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
} finally {
  if (!opts.keep) fs.rmSync(dir, { recursive: true, force: true });
  else log(`kept ${dir}`);
}
