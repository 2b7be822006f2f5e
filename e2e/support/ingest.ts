import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { importVolume, writeExt4Image } from "@qubes-dedup/qubes-sim";
import { simulatedDom0Env, writeSimulatedPolicy } from "@qubes-dedup/qubes-sim/testing";
import { BINS } from "./paths.ts";

/** The qubes the e2e backs up (present in qubes-sim's default system). */
export const BACKED_UP_QUBES = ["work", "personal", "vault"];

/** Result of {@link realBackup}: what the stream looked like on its way in. */
export interface BackupResult {
  streamBytes: bigint;
  streamSha256: string;
  /** Environment for the dashboard server so its qrexec requests reach the simulated dom0 (see {@link dom0Env}). */
  serverEnv: Record<string, string>;
  /** The simulated dom0 root (system, policy, agent config, pending confirmations). */
  dom0Root: string;
  /** The file put in work's private volume (see {@link ext4Work}). */
  file: { qube: string; dir: string; name: string; sha256: string };
}

function requireBuilt(): void {
  const missing = [BINS.qubesDedup, path.join(BINS.simBin, "qvm-backup"), path.join(BINS.simBin, "qubes-sim-create"), path.join(BINS.simBin, "qrexec-client-vm"), BINS.agent, BINS.shim].filter(
    (p) => !fs.existsSync(p),
  );
  if (missing.length) throw new Error(`missing built executables ${missing.join(", ")}: run "npm run build" at the workspace root first.`);
}

/** Writes an executable shell script. */
function script(file: string, body: string): void {
  fs.writeFileSync(file, `#!/bin/sh\nset -e\n${body}\n`, { mode: 0o755 });
}

/**
 * A real backup end to end, in `tmp`: a simulated dom0 system, a restic
 * repository registered in the index db `dbPath`, and the simulator's
 * `qvm-backup --no-compress` (through the scrypt shim on PATH) whose
 * destination command tees the stream to a file (to measure it
 * independently) and pipes it into `qubes-dedup ingest`.
 * @throws Error when an executable is missing or a step fails (with its stderr).
 */
export function realBackup(tmp: string, dbPath: string): BackupResult {
  requireBuilt();
  const bin = path.join(tmp, "bin");
  fs.mkdirSync(bin, { recursive: true });
  fs.symlinkSync(BINS.shim, path.join(bin, "scrypt"));
  script(path.join(bin, "qubes-dedup"), `exec "${process.execPath}" "${BINS.qubesDedup}" "$@"`);
  const streamFile = path.join(tmp, "stream.bin");
  script(path.join(bin, "e2e-tee-ingest"), `tee "${streamFile}" | qubes-dedup ingest --repo default`);

  const env = {
    ...process.env,
    PATH: `${bin}:${BINS.simBin}:${process.env.PATH ?? "/usr/bin:/bin"}`,
    QUBES_DEDUP_DB: dbPath,
    QUBES_SIM_ROOT: path.join(tmp, "dom0"),
  };
  const run = (cmd: string, args: string[]) => {
    try {
      execFileSync(cmd, args, { env, cwd: tmp, stdio: ["ignore", "pipe", "pipe"] });
    } catch (e) {
      const err = e as { stderr?: Buffer; stdout?: Buffer; status?: number };
      throw new Error(`${cmd} ${args.join(" ")} failed (exit ${err.status}): ${err.stderr?.toString() ?? ""}${err.stdout?.toString() ?? ""}`);
    }
  };

  const pw = path.join(tmp, "restic.pw");
  fs.writeFileSync(pw, `${randomBytes(16).toString("hex")}\n`, { mode: 0o600 });
  run("qubes-dedup", ["repo", "add", "default", "--engine", "restic", "--location", path.join(tmp, "restic"), "--password-file", pw]);

  run("qubes-sim-create", [env.QUBES_SIM_ROOT]);
  const file = ext4Work(tmp, env.QUBES_SIM_ROOT);
  const passphrase = path.join(tmp, "backup.pass");
  fs.writeFileSync(passphrase, `qubes-dedup-v1-${randomBytes(32).toString("hex")}\n`, { mode: 0o600 });
  run("qvm-backup", ["--yes", "--no-compress", "--passphrase-file", passphrase, "--dest-vm", "backup", "e2e-tee-ingest", ...BACKED_UP_QUBES]);

  const data = fs.readFileSync(streamFile);
  dom0Setup(env.QUBES_SIM_ROOT, passphrase);
  const serverEnv = { ...simulatedDom0Env({ simRoot: env.QUBES_SIM_ROOT, agentRoot: env.QUBES_SIM_ROOT, agent: BINS.agent, shim: BINS.shim, binDirs: [bin, BINS.simBin] }), QUBES_SIM_DIALOG_ANSWER: "yes" };
  return { streamBytes: BigInt(data.length), streamSha256: createHash("sha256").update(data).digest("hex"), serverEnv, dom0Root: env.QUBES_SIM_ROOT, file };
}

/**
 * Gives work's private volume a real ext4 filesystem (same size, 8 MiB, so
 * the system's sizes stay as they were) holding Documents/report.bin, for
 * the files browser; committed as a qube's stop would.
 */
function ext4Work(tmp: string, root: string): BackupResult["file"] {
  const tree = path.join(tmp, "work-tree");
  fs.mkdirSync(path.join(tree, "Documents"), { recursive: true });
  const bytes = randomBytes(300 * 1024);
  fs.writeFileSync(path.join(tree, "Documents", "report.bin"), bytes);
  fs.writeFileSync(path.join(tree, "Documents", "notes\n\x1b[31mred.txt"), "x");
  const img = path.join(tmp, "work-private.img");
  writeExt4Image(img, 8 * 1024 * 1024, tree);
  importVolume(root, "work", "private", img);
  fs.rmSync(img);
  return { qube: "work", dir: "Documents", name: "report.bin", sha256: createHash("sha256").update(bytes).digest("hex") };
}

/**
 * The simulated dom0 as the dashboard's requests need it (one directory is
 * both the qubes-sim root and the agent's root): the agent's passphrase file
 * (the one the first backup used, 0600) and the qrexec policy of the project:
 * backups allowed, restores asked.
 */
function dom0Setup(root: string, passphraseFile: string): void {
  fs.mkdirSync(path.join(root, "etc", "qubes-dedup"), { recursive: true });
  fs.copyFileSync(passphraseFile, path.join(root, "etc", "qubes-dedup", "passphrase"));
  fs.chmodSync(path.join(root, "etc", "qubes-dedup", "passphrase"), 0o600);
  writeSimulatedPolicy(root, "allow");
}
