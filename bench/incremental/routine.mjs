// The routine backup of bench/incremental.mjs (issue 12): a simulated dom0
// of the bench's qubes (libs/qubes-sim), backed up in full with
// `qubes-dedup-agent backup --changed --full`; then two AppVMs are started,
// written to and stopped (the simulator's running qubes write to a separate
// volume, committed on stop), `qubes-dedup-agent backup --changed` runs, and
// then a full backup of that same state, the one it is compared with. All
// backups take the same path: the agent, the simulated qvm-backup, the
// installed scrypt shim, qubes.Backup to the backup qube's `qubes-dedup
// ingest` (the checkout's CLI, a real repository, the SQLite index).
// Not a test, but it throws when the routine snapshot does not hold exactly
// the two changed qubes, or the full backup saw other bytes of them: the
// ratios would then mean nothing.
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import Database from "libsql";

/** The AppVMs started, written to and stopped between the first full backup and the routine one: one on the lvm pool, one on the file pool. */
export const CHANGED = ["app03", "app08"];

/** Built executables the routine backup drives, relative to the workspace root, and how to build them. */
const TOOLS = {
  agent: ["apps/dom0-agent/dist/qubes-dedup-agent.mjs", "@qubes-dedup/dom0-agent"],
  cli: ["apps/cli/dist/qubes-dedup.mjs", "@qubes-dedup/cli"],
  simBin: ["libs/qubes-sim/dist/bin/qvm-backup", "@qubes-dedup/qubes-sim"],
};

/**
 * The executables' paths under workspace `root`, or { error } naming the
 * build command when one is not built.
 */
export function routineTools(root) {
  const missing = Object.values(TOOLS).filter(([f]) => !fs.existsSync(path.join(root, f)));
  if (missing.length) return { error: `bench: ${missing.map(([f]) => f).join(", ")} not built; run \`npx nx run-many -t build -p ${missing.map(([, p]) => p).join(",")}\` (or npm run bench) first.` };
  return {
    agent: path.join(root, TOOLS.agent[0]),
    cli: path.join(root, TOOLS.cli[0]),
    simBin: path.dirname(path.join(root, TOOLS.simBin[0])),
    backupQubeBin: path.join(root, "apps/cli/bin"),
  };
}

/**
 * Runs argv under GNU time; resolves to { seconds (wall), cpuSeconds (user +
 * system of the command and every descendant it waited for: dom0's tools, the
 * shim, the backup qube's ingest and the engine), stderr }.
 * @throws Error with the stderr tail on a non-zero exit.
 */
function timed(argv, env) {
  const timeFile = `${env.QD_BENCH_WORK}/time-${process.hrtime.bigint()}`;
  const t0 = process.hrtime.bigint();
  const child = spawn("/usr/bin/time", ["-f", "%U %S", "-o", timeFile, ...argv], { stdio: ["ignore", "ignore", "pipe"], env });
  let err = "";
  child.stderr.on("data", (d) => (err = (err + d).slice(-65536)));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      let cpuSeconds = NaN;
      try {
        const [user, sys] = fs.readFileSync(timeFile, "utf8").trim().split("\n").pop().split(" ").map(Number);
        cpuSeconds = user + sys;
        fs.rmSync(timeFile);
      } catch {
        // GNU time did not run the command; the exit code below says so
      }
      if (code !== 0) return reject(new Error(`${path.basename(argv[1] ?? argv[0])} ${argv.slice(2, 4).join(" ")} … exited with ${code}: ${err.replace(/\r/g, "\n").trim().split("\n").slice(-3).join(" / ")}`));
      resolve({ seconds, cpuSeconds, stderr: err });
    });
  });
}

/** Runs argv to completion; stdout is ignored. @throws Error on a non-zero exit. */
async function quiet(argv, env) {
  await timed(argv, env);
}

/**
 * What snapshot `engineId` holds, from the backup qube's index: per qube, the
 * bytes of its files' inner streams in the qvm-backup stream
 * (SnapshotVolume.streamBytes: each volume's sparse tar, plus small files
 * such as firewall.xml), and the whole stream's bytes.
 */
function snapshotBytes(dbFile, engineId) {
  const db = new Database(dbFile, { readonly: true });
  try {
    const snap = db.prepare("SELECT id, logicalBytes FROM Snapshot WHERE engineSnapshotId = ?").get(engineId);
    if (!snap) throw new Error(`the index lists no snapshot ${engineId}`);
    const rows = db.prepare("SELECT q.name AS name, COALESCE(SUM(v.streamBytes), 0) AS bytes FROM SnapshotQube q LEFT JOIN SnapshotVolume v ON v.qubeId = q.id WHERE q.snapshotId = ? GROUP BY q.id ORDER BY q.qid").all(snap.id);
    return { streamBytes: Number(snap.logicalBytes), qubes: Object.fromEntries(rows.map((r) => [r.name, Number(r.bytes)])) };
  } finally {
    db.close();
  }
}

/** The newest snapshot's engine id, as the backup qube's CLI lists it. */
async function newestSnapshot(tools, env) {
  const out = await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [tools.cli, "snapshots", "--json"], { env, stdio: ["ignore", "pipe", "inherit"] });
    let s = "";
    child.stdout.on("data", (d) => (s += d));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(s) : reject(new Error(`qubes-dedup snapshots exited with ${code}`))));
  });
  const snaps = JSON.parse(out);
  return { count: snaps.length, id: snaps.at(-1)?.id };
}

/** The qubes the agent says the ledger recorded for the backup just made. */
function recordedQubes(stderr) {
  const m = /recorded backup (\S+) in dom0's ledger \(([^)]*)\)/.exec(stderr);
  if (!m) throw new Error(`the agent recorded no backup in dom0's ledger: ${stderr.trim().split("\n").slice(-3).join(" / ")}`);
  return { backupId: m[1], qubes: m[2].split(", ") };
}

/** The agent's "<qube>: <reason>" lines (why each qube is sent or not). */
const verdicts = (stderr) => stderr.split("\n").filter((l) => /^qubes-dedup-agent: [A-Za-z][\w.-]*: (changed|unchanged|never|cannot|full|gone)/.test(l)).join("\n");

const sum = (o) => Object.values(o).reduce((a, b) => a + b, 0);
const sameSet = (a, b) => a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);

/**
 * The routine backup's snapshot, checked: the one new snapshot in the index,
 * holding exactly {@link CHANGED}, as the ledger recorded. Returns its
 * {@link snapshotBytes}.
 * @throws Error otherwise, with the agent's reasons per qube.
 */
async function checkRoutine(routine, before, tools, env) {
  const rec = recordedQubes(routine.stderr);
  const snap = await newestSnapshot(tools, env);
  if (snap.count !== before.count + 1) throw new Error(`the routine backup left ${snap.count - before.count} new snapshots, not 1`);
  const bytes = snapshotBytes(env.QUBES_DEDUP_DB, snap.id);
  const held = Object.keys(bytes.qubes);
  if (!sameSet(held, CHANGED) || !sameSet(rec.qubes, CHANGED)) {
    throw new Error(`the routine backup's snapshot holds ${held.join(", ")} (the ledger recorded ${rec.qubes.join(", ")}), not exactly the changed qubes ${CHANGED.join(", ")}; the agent said:\n${verdicts(routine.stderr)}`);
  }
  return bytes;
}

/**
 * A fresh simulated machine for engine `kind` in `dir`: dom0 (the agent's
 * --root too: --changed reads its qubes.xml and keeps its record there) with
 * `qubes`, the backup passphrase and the installed shim; the backup qube's
 * index and an empty repository. Resolves to { dom0, env } (env: dom0's and
 * the backup qube's, PATH finding the simulator's tools and `qubes-dedup`).
 */
async function machine({ kind, dir, qubes, tools }) {
  const work = path.join(dir, `routine-${kind}`);
  const dom0 = path.join(work, "dom0");
  const bq = path.join(work, "backup-qube");
  fs.mkdirSync(bq, { recursive: true });
  const env = {
    ...process.env,
    QD_BENCH_WORK: work,
    QUBES_SIM_ROOT: dom0,
    QUBES_DEDUP_DB: path.join(bq, "index.db"),
    QUBES_DEDUP_REAL_SCRYPT: "/usr/bin/scrypt",
    PATH: [tools.simBin, tools.backupQubeBin, process.env.PATH ?? "/usr/bin:/bin"].join(":"),
  };
  delete env.QUBES_DEDUP_SHIM;
  const spec = path.join(work, "spec.json");
  fs.writeFileSync(spec, JSON.stringify({ qubes }));
  await quiet([process.execPath, path.join(tools.simBin, "qubes-sim-create"), "--seed", "incremental-routine", "--spec", spec, dom0], env);
  await quiet([process.execPath, tools.agent, "secret", "new", "--out", path.join(dom0, "etc/qubes-dedup/passphrase")], env);
  await quiet([process.execPath, tools.agent, "shim", "install", "--root", dom0], env);
  const pw = path.join(bq, `${kind}.pass`);
  fs.writeFileSync(pw, "bench-password\n", { mode: 0o600 });
  await quiet([process.execPath, tools.cli, "repo", "add", "default", "--engine", kind, "--location", path.join(bq, "repo"), "--password-file", pw], env);
  return { dom0, env };
}

/**
 * One engine's routine-backup figures on a fresh simulated system of `qubes`
 * in `dir`; `log` takes progress lines; `fraction` is the share of each
 * changed qube's private volume rewritten.
 * @throws Error when a step fails, when the routine backup's snapshot (or
 *   the ledger's record of it) does not hold exactly {@link CHANGED}, or when
 *   the full backup after it saw other bytes of those qubes.
 */
export async function routineBackup({ kind, dir, qubes, tools, log, fraction = 0.1 }) {
  const { dom0, env } = await machine({ kind, dir, qubes, tools });
  const agentBackup = (...args) => timed([process.execPath, tools.agent, "backup", "--changed", ...args, "--root", dom0, "--dest-vm", "backup"], env);
  // The first full backup fills the repository and dom0's change record.
  const first = await agentBackup("--full");
  log(`${kind}: first full backup (backup --changed --full, ${recordedQubes(first.stderr).qubes.length} qubes, into an empty repository): ${first.seconds.toFixed(1)} s wall, ${first.cpuSeconds.toFixed(1)} s CPU`);
  const before = await newestSnapshot(tools, env);

  const sim = (...a) => quiet([process.execPath, path.join(tools.simBin, "qubes-sim"), ...a], env);
  for (const q of CHANGED) {
    await sim("start", q);
    await sim("write", q, "private", "--fraction", String(fraction), "--seed", `routine-${q}`);
    await sim("shutdown", q);
  }
  log(`${kind}: started ${CHANGED.join(" and ")}, rewrote ${fraction * 100}% of each one's private volume, stopped them`);

  const routine = await agentBackup();
  const bytes = await checkRoutine(routine, before, tools, env);
  const held = Object.keys(bytes.qubes);
  log(`${kind}: routine backup (backup --changed; its snapshot holds ${held.join(", ")}): ${routine.seconds.toFixed(1)} s wall, ${routine.cpuSeconds.toFixed(1)} s CPU, ${bytes.streamBytes} stream bytes`);

  // The full backup it is compared with: the same system state (the writes
  // may have filled holes), into a repository that already holds most of
  // the data, as the routine backup's did.
  const full = await agentBackup("--full");
  const fullSnap = await newestSnapshot(tools, env);
  const fullBytes = snapshotBytes(env.QUBES_DEDUP_DB, fullSnap.id);
  log(`${kind}: full backup (backup --changed --full, ${Object.keys(fullBytes.qubes).length} qubes): ${full.seconds.toFixed(1)} s wall, ${full.cpuSeconds.toFixed(1)} s CPU, ${fullBytes.streamBytes} stream bytes`);
  for (const q of CHANGED) {
    if (fullBytes.qubes[q] !== bytes.qubes[q]) throw new Error(`${q} sent ${bytes.qubes[q]} bytes in the routine backup and ${fullBytes.qubes[q]} in the full one right after it; the two backups did not see the same system`);
  }

  const changedBytes = sum(bytes.qubes);
  const allBytes = sum(fullBytes.qubes);
  const incrementalReadRatio = bytes.streamBytes / fullBytes.streamBytes;
  const changedShare = changedBytes / allBytes;
  return {
    incrementalReadRatio,
    changedShare,
    incrementalReadVsChanged: incrementalReadRatio / changedShare,
    incrementalTimeRatio: routine.seconds / full.seconds,
    incrementalCpuRatio: routine.cpuSeconds / full.cpuSeconds,
    routine: {
      changed: CHANGED,
      seconds: { firstFull: first.seconds, routine: routine.seconds, full: full.seconds },
      cpuSeconds: { firstFull: first.cpuSeconds, routine: routine.cpuSeconds, full: full.cpuSeconds },
      bytes: { routineStream: bytes.streamBytes, fullStream: fullBytes.streamBytes, changedQubes: changedBytes, allQubes: allBytes },
    },
  };
}
