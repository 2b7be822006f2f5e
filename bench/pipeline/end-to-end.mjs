// The pipeline bench's endToEnd figures (issue 15): whole backups and a full
// restore through the simulated qvm-backup / qvm-backup-restore, ours
// against the seed's setup on the same simulated system in the same run.
// Ours: the installed-to-PATH shim (authenticated pass-through, MAC
// trailers) → qubes.Backup → `qubes-dedup ingest` (the CLI bundle, a fresh
// index db and repository per repetition); restore `qubes-dedup dump` →
// qvm-backup-restore with the shim's `dec`. The seed's: a scrypt stand-in
// that prompts as scrypt does and then only copies (`cat`, nothing
// authenticated) → `restic backup --stdin` / `borg create … -`; restore
// `restic dump` / `borg extract --stdout` → qvm-backup-restore with the same
// stand-in. Every backup is of the whole system (no qube named); every
// restore is into a new, empty simulated dom0, checked byte for byte once.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { dirBytes, exec, spread } from "./exec.mjs";

/** The seed's scrypt: scrypt's prompts on stderr, the passphrase read from the tty, then a plain copy (`-` is stdin/stdout). */
const CAT_SCRYPT = `#!/bin/sh
mode=$1; shift
[ "$1" = -f ] && shift
printf 'Please enter passphrase: ' >&2; read -r p < /dev/tty
if [ "$mode" = enc ]; then printf 'Please confirm passphrase: ' >&2; read -r p < /dev/tty; fi
out=\${2:--}
if [ "$out" = - ]; then exec cat -- "$1"; else exec cat -- "$1" > "$out"; fi
`;

/** A project passphrase (marker + 64 hex), so that the shim takes the authenticated pass-through. */
const PASSPHRASE = `qubes-dedup-v1-${"4e".repeat(32)}`;
const REPO_PASSWORD = "bench-password";

const sha256 = (file) => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");

/** SHA-256 of every volume image of a simulated dom0, keyed "<qube>/<image>". */
function volumeHashes(root) {
  const base = path.join(root, "volumes");
  const out = {};
  for (const q of fs.readdirSync(base).sort()) for (const v of fs.readdirSync(path.join(base, q)).sort()) out[`${q}/${v}`] = sha256(path.join(base, q, v));
  return out;
}

/** The seed's side for engine `kind`: repository init, the qvm-backup and qvm-backup-restore location lines. */
function seedSide(kind, repo, pwFile) {
  if (kind === "restic") {
    const base = `restic -r ${repo} --password-file ${pwFile} --no-cache`;
    return {
      init: ["restic", "-r", repo, "--password-file", pwFile, "init"],
      backup: () => `${base} backup --stdin --stdin-filename qubes-backup.bin`,
      // the first snapshot: the one the first backup made
      restore: async (env) => {
        const snaps = JSON.parse((await exec(["restic", "-r", repo, "--password-file", pwFile, "--no-cache", "snapshots", "--json"], { env })).stdout);
        return `${base} dump ${snaps[0].short_id} /qubes-backup.bin`;
      },
    };
  }
  let n = 0;
  return {
    init: ["borg", "init", "-e", "repokey-blake2", repo],
    backup: () => `borg create --stdin-name qubes-backup.bin ${repo}::run${++n} -`,
    restore: async () => `borg extract --stdout ${repo}::run1 qubes-backup.bin`,
  };
}

/**
 * endToEnd for engine `kind`, `reps` repetitions, work under `dir`.
 * @param tools { root, simBin, cliBin, cli, shimDir }: the workspace root, built executables' places
 * @param qubes the simulated system's qubes (qubes-sim-create spec)
 * @returns { firstBackupRatio, unchangedBackupRatio, restoreRatio, seconds, repositoryGrowthBytes, volumeBytes }
 * @throws Error when a step fails or a restore is not byte-identical to the source.
 */
export async function endToEnd({ kind, dir, tools, qubes, reps, log }) {
  const work = path.join(dir, `e2e-${kind}`);
  const dom0 = path.join(work, "dom0");
  const catDir = path.join(work, "cat-scrypt");
  fs.mkdirSync(catDir, { recursive: true });
  fs.writeFileSync(path.join(catDir, "scrypt"), CAT_SCRYPT, { mode: 0o755 });
  const pass = path.join(work, "passphrase");
  fs.writeFileSync(pass, `${PASSPHRASE}\n`, { mode: 0o600 });
  const pw = path.join(work, "repo.pass");
  fs.writeFileSync(pw, `${REPO_PASSWORD}\n`, { mode: 0o600 });
  const base = { ...process.env, BORG_PASSPHRASE: REPO_PASSWORD, QUBES_SIM_ROOT: dom0, QUBES_DEDUP_REAL_SCRYPT: "/usr/bin/scrypt" };
  delete base.QUBES_DEDUP_SHIM;
  const envFor = (scryptDir, extra = {}) => ({ ...base, ...extra, PATH: [scryptDir, tools.simBin, tools.cliBin, process.env.PATH ?? "/usr/bin:/bin"].join(":") });
  const spec = path.join(work, "spec.json");
  fs.writeFileSync(spec, JSON.stringify({ qubes }));
  await exec([process.execPath, path.join(tools.simBin, "qubes-sim-create"), "--seed", "end-to-end", "--spec", spec, dom0], { env: base });
  // an empty dom0 to restore into (qubes-sim-create wants at least one qube; the library does not)
  const empty = path.join(work, "empty-dom0");
  const create = `import { createSystem } from "@qubes-dedup/qubes-sim"; createSystem(${JSON.stringify(empty)}, { qubes: [] });`;
  await exec([process.execPath, "--import", "tsx", "--input-type=module", "-e", create], { env: { ...base, NODE_OPTIONS: "" }, cwd: tools.root });
  const source = volumeHashes(dom0);
  const volumeBytes = Object.keys(source).reduce((a, k) => a + fs.statSync(path.join(dom0, "volumes", k)).size, 0);
  const qvmBackup = (env, location) => exec([process.execPath, path.join(tools.simBin, "qvm-backup"), "--yes", "--no-compress", "--passphrase-file", pass, "--dest-vm", "backup", location], { env });
  const restoreInto = async (env, location, target) => {
    fs.cpSync(empty, target, { recursive: true });
    return exec([process.execPath, path.join(tools.simBin, "qvm-backup-restore"), "-d", "backup", "-p", pass, location], { env: { ...env, QUBES_SIM_ROOT: target } });
  };
  const checkRestore = (who, target) => {
    const got = volumeHashes(target);
    const bad = Object.keys(source).filter((k) => got[k] !== source[k]);
    if (bad.length) throw new Error(`${kind}: the ${who} restore differs from the source in ${bad.join(", ")}; its figures would mean nothing`);
  };

  const t = { ours: { first: [], unchanged: [], restore: [] }, seed: { first: [], unchanged: [], restore: [] } };
  const growth = { ours: { first: [], unchanged: [] }, seed: { first: [], unchanged: [] } };
  for (let i = 0; i < reps; i++) {
    const bq = path.join(work, `backup-qube-${i}`);
    fs.mkdirSync(bq, { recursive: true });
    const oursRepo = path.join(bq, "ours");
    const seedRepo = path.join(bq, "seed");
    const oursEnv = envFor(tools.shimDir, { QUBES_DEDUP_DB: path.join(bq, "index.db") });
    const seedEnv = envFor(catDir);
    await exec([process.execPath, tools.cli, "repo", "add", "default", "--engine", kind, "--location", oursRepo, "--password-file", pw], { env: oursEnv });
    const seed = seedSide(kind, seedRepo, pw);
    await exec(seed.init, { env: seedEnv });
    const sides = {
      ours: { env: oursEnv, repo: oursRepo, backup: () => "qubes-dedup ingest", restore: async () => `qubes-dedup dump ${JSON.parse((await exec([process.execPath, tools.cli, "snapshots", "--json"], { env: oursEnv })).stdout)[0].id}` },
      seed: { env: seedEnv, repo: seedRepo, backup: seed.backup, restore: seed.restore },
    };
    // alternate who goes first, so that a drift in the machine's load weighs on both
    const order = i % 2 ? ["seed", "ours"] : ["ours", "seed"];
    for (const step of ["first", "unchanged"]) {
      for (const who of order) {
        const s = sides[who];
        const before = dirBytes(s.repo);
        t[who][step].push((await qvmBackup(s.env, s.backup())).seconds);
        growth[who][step].push(dirBytes(s.repo) - before);
      }
    }
    for (const who of order) {
      const s = sides[who];
      const target = path.join(bq, `restored-${who}`);
      t[who].restore.push((await restoreInto(s.env, await s.restore(s.env), target)).seconds);
      if (i === 0) checkRestore(who, target);
      fs.rmSync(target, { recursive: true, force: true });
    }
    log(`${kind}: endToEnd ${i + 1}/${reps}: first ${t.ours.first[i].toFixed(1)} s / ${t.seed.first[i].toFixed(1)} s, unchanged ${t.ours.unchanged[i].toFixed(1)} s / ${t.seed.unchanged[i].toFixed(1)} s, restore ${t.ours.restore[i].toFixed(1)} s / ${t.seed.restore[i].toFixed(1)} s (ours / seed)`);
    fs.rmSync(bq, { recursive: true, force: true });
  }
  fs.rmSync(work, { recursive: true, force: true });
  const seconds = Object.fromEntries(["first", "unchanged", "restore"].map((k) => [k === "restore" ? k : `${k}Backup`, { ours: spread(t.ours[k]), seed: spread(t.seed[k]) }]));
  const ratio = (k) => Math.round((seconds[k].ours.median / seconds[k].seed.median) * 1000) / 1000;
  // growth does not vary between repetitions (the same system into a fresh repository): the median stands for all
  const bytes = (xs) => spread(xs, 0).median;
  return {
    firstBackupRatio: ratio("firstBackup"),
    unchangedBackupRatio: ratio("unchangedBackup"),
    restoreRatio: ratio("restore"),
    seconds,
    repositoryGrowthBytes: {
      firstBackup: { ours: bytes(growth.ours.first), seed: bytes(growth.seed.first) },
      unchangedBackup: { ours: bytes(growth.ours.unchanged), seed: bytes(growth.seed.unchanged) },
    },
    volumeBytes,
  };
}
