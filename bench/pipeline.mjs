#!/usr/bin/env node
// Benchmark of the dedup-first pipeline (issue 4): a simulated Qubes system
// (random data, holes, repeated blocks) backed up by the simulated qvm-backup
// through the shim, stored three ways in restic and in borg — ours (`ingest`,
// canonical layout), naive (the stream piped into the engine as it is) and
// floor (only the volumes' allocated data, no framing at all) — in
// repositories whose chunkers cut alike (restic: --copy-chunker-params; borg:
// unencrypted repositories, chunker seed 0), so that growth compares fairly.
// Not a test. Goals: ingestRatio <= 1.05, unchanged growth <= 0.1 %, changed
// growth <= 1.1 x floor, peak RSS <= 150 MiB and flat, dumpRatio <= 1.10.
// Issue 15 adds per engine endToEnd (whole backups and a restore through the
// simulated qvm-backup, ours against the seed's cat shim + engine: backups
// <= 1.10 x, restore <= 1.05 x) and cpuPerGiB (our own CPU per GiB against
// the SHA-256 / HMAC floor: ingest and dump <= 1.5 x, shim enc <= 1.3 x),
// each a median of 5 (bench/pipeline/, bench/README.md).
// usage: node bench/pipeline.mjs [--quick] [--json] [--engines restic,borg] [--keep]
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { hashFloor, pipelineCpu, shimCpu } from "./pipeline/cpu.mjs";
import { endToEnd } from "./pipeline/end-to-end.mjs";
import { exec } from "./pipeline/exec.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const CLI = path.join(ROOT, "libs/pipeline/dist/pipeline-cli.mjs");
const SIM = path.join(ROOT, "libs/pipeline/bench/sim-tool.ts");
const SHIM = path.join(ROOT, "libs/shim/dist/scrypt");
const WITH_TTY = path.join(ROOT, "libs/qubes-sim/src/tty/with-tty.py");
/** What endToEnd runs: the simulator's dom0 tools, the backup qube's CLI bundle, the shim's directory. */
const E2E_TOOLS = { root: ROOT, simBin: path.join(ROOT, "libs/qubes-sim/dist/bin"), cliBin: path.join(ROOT, "apps/cli/bin"), cli: path.join(ROOT, "apps/cli/dist/qubes-dedup.mjs"), shimDir: path.dirname(SHIM) };
const USAGE = "usage: node bench/pipeline.mjs [--quick] [--json] [--engines restic,borg] [--keep]\n";
const MiB = 1 << 20;
const GiB = 1 << 30;
const PASSWORD = "bench-password";

let opts;
try {
  opts = parseArgs({ strict: true, options: { quick: { type: "boolean", default: false }, json: { type: "boolean", default: false }, engines: { type: "string", default: "restic,borg" }, keep: { type: "boolean", default: false } } }).values;
} catch (e) {
  process.stderr.write(`${e.message}\n${USAGE}`);
  process.exit(2);
}
const engines = opts.engines.split(",");
if (!engines.every((e) => e === "restic" || e === "borg")) {
  process.stderr.write(`bench: unknown engine in --engines ${opts.engines}; use restic and/or borg.\n${USAGE}`);
  process.exit(2);
}
for (const [f, hint] of [[CLI, "npx nx build @qubes-dedup/pipeline"], [SHIM, "npx nx build @qubes-dedup/shim"], [E2E_TOOLS.cli, "npx nx build @qubes-dedup/cli"], [path.join(E2E_TOOLS.simBin, "qvm-backup"), "npx nx build @qubes-dedup/qubes-sim"]]) {
  if (!fs.existsSync(f)) {
    process.stderr.write(`bench: ${path.relative(ROOT, f)} is not built; run \`${hint}\` (or npm run bench) first.\n`);
    process.exit(1);
  }
}
/** Simulated system sizes (bytes of volumes): the main one, and the two RSS points. */
const MAIN = opts.quick ? 256 * MiB : 2 * GiB;
const RSS_POINTS = opts.quick ? [256 * MiB, 1 * GiB] : [1 * GiB, 4 * GiB];
/** Repetitions of each timed run (the best counts: this machine may be busy with other work). */
const REPS = 3;
/** endToEnd's simulated system (bytes of volumes; small: its repetitions run whole backups and restores) and the repetitions of every figure of issue 15 (the median counts). */
const E2E_SIZE = opts.quick ? 32 * MiB : 256 * MiB;
const MEDIAN_REPS = 5;
const label = (n) => (n >= GiB ? `${n / GiB}GiB` : `${n / MiB}MiB`);
const log = (s) => process.stderr.write(`${s}\n`);

/** Qubes of a system of `total` bytes of volumes (a template, three AppVMs, one with firewall.xml). */
function qubesOf(total) {
  const s = (share) => Math.round((total * share) / 4096) * 4096;
  return [
    { name: "fedora-41", klass: "TemplateVM", label: "black", privateSize: s(1 / 16), rootSize: s(1 / 2), pool: "file" },
    { name: "personal", klass: "AppVM", template: "fedora-41", label: "yellow", privateSize: s(1 / 8), pool: "file" },
    { name: "vault", klass: "AppVM", template: "fedora-41", label: "black", privateSize: s(1 / 16) },
    { name: "work", klass: "AppVM", template: "fedora-41", label: "blue", privateSize: s(1 / 4), firewall: true },
  ];
}

/** VmHWM (MiB) and name of a process, or undefined once it is gone. */
function procPeak(pid) {
  try {
    const st = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const hwm = /VmHWM:\s+(\d+) kB/.exec(st);
    return hwm ? { name: /Name:\s+(\S+)/.exec(st)?.[1] ?? "", mib: Number(hwm[1]) / 1024 } : undefined;
  } catch {
    return undefined;
  }
}

function children(pid) {
  try {
    return fs.readdirSync(`/proc/${pid}/task`).flatMap((t) => fs.readFileSync(`/proc/${pid}/task/${t}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number));
  } catch {
    return [];
  }
}

/**
 * argv behind a pipe, as qrexec connects dom0's qvm-backup to the backup
 * qube: "in" reads its stdin through `cat` (the stream comes from a pipe, not
 * a file), "out" writes its stdout into `cat` (a restore's reader).
 */
function piped(argv, where) {
  return ["bash", "-o", "pipefail", "-c", where === "in" ? 'cat | "$@"' : '"$@" | cat', "bash", ...argv];
}

/**
 * Runs argv (stdin from a file or /dev/null, stdout to a file, /dev/null or
 * captured; through a pipe when `pipe` is "in" or "out"; `env` added to ours),
 * timing it and sampling the peak RSS of it and its descendants every 50 ms.
 * Resolves to { seconds, stdout, stderr, rootMiB, engineMiB }; rejects on a non-zero exit.
 */
async function run(argv, { stdin, stdout = "pipe", env, pipe } = {}) {
  if (pipe) argv = piped(argv, pipe);
  const peaks = new Map();
  let root;
  const watch = (child) => {
    root = child.pid;
    const sample = () => {
      for (let queue = [child.pid]; queue.length; ) {
        const pid = queue.pop();
        const p = procPeak(pid);
        if (p) peaks.set(pid, { name: p.name, mib: Math.max(p.mib, peaks.get(pid)?.mib ?? 0) });
        queue.push(...children(pid));
      }
    };
    const timer = setInterval(sample, 50);
    return () => clearInterval(timer);
  };
  const r = await exec(argv, { stdin, stdout, env: { ...process.env, ...env }, watch });
  const others = [...peaks.entries()].filter(([pid]) => pid !== root).map(([, p]) => p);
  const engineMiB = Math.max(0, ...others.filter((p) => /restic|borg|python/.test(p.name)).map((p) => p.mib));
  return { ...r, rootMiB: peaks.get(root)?.mib ?? NaN, engineMiB };
}

const lastJson = (text) => JSON.parse(text.trim().split("\n").filter((l) => l.startsWith("{")).pop());

async function sim(args) {
  return lastJson((await run(["node", "--import", "tsx", SIM, ...args], { env: { NODE_OPTIONS: "" } })).stdout);
}

/** restic or borg, run directly as the naive user would, and as our ingest does. */
const raw = {
  restic: {
    env: {},
    async init(repo, from) {
      const copy = from ? ["--from-repo", from, "--from-password-file", pwFile, "--copy-chunker-params"] : [];
      await run(["restic", "-r", repo, "--password-file", pwFile, "init", ...copy]);
    },
    async backup(repo, file, tag, pipe) {
      const r = await run(["restic", "-r", repo, "--password-file", pwFile, "--no-cache", "backup", "--stdin", "--stdin-filename", "qubes-backup.bin", "--json", "--tag", tag], { stdin: file, pipe });
      const s = r.stdout.split("\n").filter((l) => l.includes('"summary"')).map((l) => JSON.parse(l)).pop();
      return { seconds: r.seconds, added: s.data_added, id: s.snapshot_id };
    },
    async dump(repo, id, pipe) {
      return (await run(["restic", "-r", repo, "--password-file", pwFile, "--no-cache", "dump", id, "/qubes-backup.bin"], { stdout: "/dev/null", pipe })).seconds;
    },
  },
  borg: {
    env: { BORG_PASSPHRASE: PASSWORD },
    async init(repo) {
      await run(["borg", "init", "-e", "none", repo], { env: this.env });
    },
    async backup(repo, file, tag, pipe) {
      const r = await run(["borg", "create", "--json", "--stdin-name", "qubes-backup.bin", `${repo}::${tag}`, "-"], { stdin: file, env: this.env, pipe });
      return { seconds: r.seconds, added: JSON.parse(r.stdout).archive.stats.deduplicated_size, id: tag };
    },
    async dump(repo, id, pipe) {
      return (await run(["borg", "extract", "--stdout", `${repo}::${id}`, "qubes-backup.bin"], { stdout: "/dev/null", env: this.env, pipe })).seconds;
    },
  },
};

let pwFile;

async function oursIngest(kind, repo, file, pipe) {
  const r = await run(["node", CLI, "ingest", "--engine", kind, "--repo", repo, "--password-file", pwFile], { stdin: file, env: raw[kind].env, pipe });
  return { ...lastJson(r.stdout), seconds: r.seconds, rootMiB: r.rootMiB, engineMiB: r.engineMiB };
}

/** `dump` as a restore runs it: the index db hands over the side record's id with the snapshot's. */
async function oursDump(kind, repo, id, sideId, sha, pipe) {
  const r = await run(["node", CLI, "dump", "--engine", kind, "--repo", repo, "--password-file", pwFile, "--side", sideId, id], { stdout: "/dev/null", env: raw[kind].env, pipe });
  const d = lastJson(r.stderr);
  if (d.streamSha256 !== sha) throw new Error(`dump of ${id} gave SHA-256 ${d.streamSha256}, not the stream's ${sha}`);
  return r.seconds;
}

/** Streams and floors of the main system, shared by both engines. */
async function prepare(dir) {
  log(`generating a ${label(MAIN)} system and three qvm-backup runs (1% of each volume changed before the third)…`);
  const a = await sim(["stream", "--dir", dir, "--seed", "bench", "--qubes", JSON.stringify(qubesOf(MAIN))]);
  const b = await sim(["stream", "--dir", dir, "--seed", "bench", "--root", a.root]);
  const f0 = path.join(dir, "floor0");
  await sim(["floor", "--root", a.root, "--out", f0]);
  const m = await sim(["mutate", "--root", a.root, "--fraction", "0.01", "--extent", String(4 * MiB), "--seed", "bench-change"]);
  const c = await sim(["stream", "--dir", dir, "--seed", "bench", "--root", a.root]);
  const f1 = path.join(dir, "floor1");
  await sim(["floor", "--root", a.root, "--out", f1]);
  fs.rmSync(a.root, { recursive: true, force: true });
  const rss = [];
  for (const size of RSS_POINTS) {
    log(`generating a ${label(size)} system for the memory measurement…`);
    const s = await sim(["stream", "--dir", dir, "--seed", `rss-${size}`, "--qubes", JSON.stringify(qubesOf(size))]);
    fs.rmSync(s.root, { recursive: true, force: true });
    rss.push({ size, ...s });
  }
  log(`CPU floors and the shim's CPU on the first run's stream (median of ${MEDIAN_REPS})…`);
  const floor = await hashFloor({ file: a.file, bytes: a.bytes, reps: MEDIAN_REPS, tmp: dir });
  const shim = await shimCpu({ shim: SHIM, withTty: WITH_TTY, file: a.file, bytes: a.bytes, reps: MEDIAN_REPS, tmp: dir });
  return { a, b, c, f0, f1, changedBytes: m.changedBytes, rss, hashFloor: floor, shimCpu: shim };
}

async function benchEngine(kind, dir, s) {
  const repos = Object.fromEntries(["ours", "naive", "floor"].map((n) => [n, path.join(dir, `${kind}-${n}`)]));
  await raw[kind].init(repos.ours);
  await raw[kind].init(repos.naive, repos.ours);
  await raw[kind].init(repos.floor, repos.ours);
  const R = raw[kind];
  log(`${kind}: first backups (timed: ours vs raw on the same stream, best of ${REPS})…`);
  const naiveA = await R.backup(repos.naive, s.a.file, "naive-a");
  const oursA = await oursIngest(kind, repos.ours, s.a.file);
  const times = { raw: [naiveA.seconds], ours: [oursA.seconds], rawPiped: [], oursPiped: [] };
  for (let i = 0; i < REPS; i++) {
    for (const pipe of i === 0 ? ["in"] : [undefined, "in"]) {
      const [o, n] = [path.join(dir, `${kind}-rep-ours`), path.join(dir, `${kind}-rep-raw`)];
      await R.init(o, kind === "restic" ? repos.ours : undefined);
      await R.init(n, kind === "restic" ? repos.ours : undefined);
      times[pipe ? "rawPiped" : "raw"].push((await R.backup(n, s.a.file, "naive-a", pipe)).seconds);
      times[pipe ? "oursPiped" : "ours"].push((await oursIngest(kind, o, s.a.file, pipe)).seconds);
      for (const r of [o, n]) fs.rmSync(r, { recursive: true, force: true });
    }
  }
  await R.backup(repos.floor, s.f0, "floor-a");
  log(`${kind}: unchanged re-backups…`);
  const naiveB = await R.backup(repos.naive, s.b.file, "naive-b");
  const oursB = await oursIngest(kind, repos.ours, s.b.file);
  const floorB = await R.backup(repos.floor, s.f0, "floor-b");
  log(`${kind}: backups after the change…`);
  const naiveC = await R.backup(repos.naive, s.c.file, "naive-c");
  const oursC = await oursIngest(kind, repos.ours, s.c.file);
  const floorC = await R.backup(repos.floor, s.f1, "floor-c");
  log(`${kind}: dumps (timed: ours vs raw, best of ${REPS})…`);
  const dumps = { raw: [], ours: [], rawPiped: [], oursPiped: [] };
  for (let i = 0; i < REPS; i++) {
    for (const pipe of [undefined, "out"]) {
      dumps[pipe ? "rawPiped" : "raw"].push(await R.dump(repos.naive, naiveA.id, pipe));
      dumps[pipe ? "oursPiped" : "ours"].push(await oursDump(kind, repos.ours, oursA.snapshotId, oursA.sideSnapshotId, s.a.sha256, pipe));
    }
  }
  log(`${kind}: CPU per GiB of ingest and dump (median of ${MEDIAN_REPS})…`);
  const cpu = await pipelineCpu({
    file: s.a.file, bytes: s.a.bytes, reps: MEDIAN_REPS, tmp: dir, env: { ...process.env, ...R.env }, floor: s.hashFloor,
    init: (repo) => R.init(repo, kind === "restic" ? repos.ours : undefined),
    ingestArgv: (repo) => ["node", CLI, "ingest", "--engine", kind, "--repo", repo, "--password-file", pwFile],
    dumpArgv: ["node", CLI, "dump", "--engine", kind, "--repo", repos.ours, "--password-file", pwFile, "--side", oursA.sideSnapshotId, oursA.snapshotId],
  });
  log(`${kind}: endToEnd on a ${label(E2E_SIZE)} system (median of ${MEDIAN_REPS})…`);
  const e2e = await endToEnd({ kind, dir, tools: E2E_TOOLS, qubes: qubesOf(E2E_SIZE), reps: MEDIAN_REPS, log });
  const best = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.min(...v)]));
  const [t, d] = [best(times), best(dumps)];
  const peakRssMiB = {};
  const enginePeakRssMiB = {};
  for (const p of s.rss) {
    log(`${kind}: memory at ${label(p.size)} (stream ${(p.bytes / MiB).toFixed(0)} MiB)…`);
    const repo = path.join(dir, `${kind}-rss-${p.size}`);
    await R.init(repo, kind === "restic" ? repos.ours : undefined);
    const r = await oursIngest(kind, repo, p.file);
    peakRssMiB[label(p.size)] = round(r.rootMiB, 1);
    enginePeakRssMiB[label(p.size)] = round(r.engineMiB, 1);
    fs.rmSync(repo, { recursive: true, force: true });
  }
  for (const r of Object.values(repos)) if (!opts.keep) fs.rmSync(r, { recursive: true, force: true });
  const pct = (added, logical) => round((100 * added) / logical, 4);
  const ratio = (added) => round(added / s.changedBytes, 3);
  return {
    ingestRatio: round(t.ours / t.raw, 3),
    ingestRatioPiped: round(t.oursPiped / t.rawPiped, 3),
    unchangedGrowthPct: { ours: pct(oursB.addedBytes, s.b.bytes), naive: pct(naiveB.added, s.b.bytes), floor: pct(floorB.added, s.b.bytes) },
    changedGrowthRatio: { ours: ratio(oursC.addedBytes), naive: ratio(naiveC.added), floor: ratio(floorC.added) },
    peakRssMiB,
    enginePeakRssMiB,
    dumpRatio: round(d.ours / d.raw, 3),
    dumpRatioPiped: round(d.oursPiped / d.rawPiped, 3),
    endToEnd: e2e,
    cpuPerGiB: { ...cpu, ...s.shimCpu, spread: { ...cpu.spread, ...s.shimCpu.spread } },
    _seconds: { ingest: t, dump: d },
  };
}

const round = (x, d) => Math.round(x * 10 ** d) / 10 ** d;

function table(results, s) {
  const lines = [];
  lines.push(`endToEnd: ${label(E2E_SIZE)} of volumes, time and repository growth ours / seed's; CPU floors (s/GiB): SHA-256 ${s.hashFloor.median}, HMAC-SHA-256 ${s.shimCpu.shimEncFloor}`);
  lines.push(`system ${label(MAIN)} of volumes, stream ${(s.a.bytes / MiB).toFixed(1)} MiB, ${(s.changedBytes / MiB).toFixed(1)} MiB changed (1% of each volume in 4 MiB extents); chunks 100 MiB, shim MAC trailers`);
  const row = (...c) => lines.push(c.map((x, i) => `${String(x).padEnd((i === 0 ? 8 : i === 1 ? 30 : 16) - 1)} `).join("").trimEnd());
  row("engine", "metric", "ours", "naive", "floor", "goal");
  for (const [kind, r] of Object.entries(results)) {
    const { ingest: ti, dump: td } = r._seconds;
    const secs = (a, b) => `${a.toFixed(1)} s / ${b.toFixed(1)} s`;
    row(kind, "ingestRatio (ours ÷ raw)", r.ingestRatio, secs(ti.ours, ti.raw), "", "<= 1.05");
    row(kind, "  same, stream from a pipe", r.ingestRatioPiped, secs(ti.oursPiped, ti.rawPiped), "", "");
    row(kind, "unchanged growth % of stream", r.unchangedGrowthPct.ours, r.unchangedGrowthPct.naive, r.unchangedGrowthPct.floor, "<= 0.1");
    row(kind, "changed growth ÷ changed", r.changedGrowthRatio.ours, r.changedGrowthRatio.naive, r.changedGrowthRatio.floor, "<= 1.1 x floor");
    for (const k of Object.keys(r.peakRssMiB)) row(kind, `peak RSS MiB at ${k} (engine)`, r.peakRssMiB[k], `(${r.enginePeakRssMiB[k]})`, "", "<= 150, flat");
    row(kind, "dumpRatio (ours ÷ raw)", r.dumpRatio, secs(td.ours, td.raw), "", "<= 1.10");
    row(kind, "  same, into a pipe", r.dumpRatioPiped, secs(td.oursPiped, td.rawPiped), "", "");
    const e = r.endToEnd;
    const med = (k) => secs(e.seconds[k].ours.median, e.seconds[k].seed.median);
    const mb = (k) => `${(e.repositoryGrowthBytes[k].ours / 1e6).toFixed(2)} / ${(e.repositoryGrowthBytes[k].seed / 1e6).toFixed(2)} MB`;
    row(kind, "endToEnd first backup ÷ seed", e.firstBackupRatio, med("firstBackup"), mb("firstBackup"), "<= 1.10");
    row(kind, "endToEnd unchanged ÷ seed", e.unchangedBackupRatio, med("unchangedBackup"), mb("unchangedBackup"), "<= 1.10");
    row(kind, "endToEnd restore ÷ seed", e.restoreRatio, med("restore"), "", "<= 1.05");
    const c = r.cpuPerGiB;
    row(kind, "CPU s/GiB ingest (engine)", c.ingest, `(${c.engine.ingest})`, `${c.ingestVsFloor} x floor`, "<= 1.5 x floor");
    row(kind, "CPU s/GiB dump (engine)", c.dump, `(${c.engine.dump})`, `${c.dumpVsFloor} x floor`, "<= 1.5 x floor");
    row(kind, "CPU s/GiB shim enc / dec", c.shimEnc, c.shimDec, `${c.shimEncVsFloor} x floor`, "enc <= 1.3 x floor");
  }
  return lines.join("\n");
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "qdd-bench-pipeline-"));
  pwFile = path.join(dir, "password");
  fs.writeFileSync(pwFile, `${PASSWORD}\n`);
  const t0 = Date.now();
  try {
    const s = await prepare(dir);
    const results = {};
    for (const kind of engines) results[kind] = await benchEngine(kind, dir, s);
    console.log(table(results, s));
    log(`pipeline bench done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    if (opts.json) {
      for (const r of Object.values(results)) delete r._seconds;
      console.log(JSON.stringify(results));
    }
  } finally {
    if (!opts.keep) fs.rmSync(dir, { recursive: true, force: true });
    else log(`kept ${dir}`);
  }
}

main().catch((e) => {
  process.stderr.write(`bench: ${e.message}\n`);
  process.exit(1);
});
