/**
 * What each `qubes-dedup-agent` command does, given its parsed options and
 * operands (program.ts parses them). Resolves to the exit status.
 */
import fs from "node:fs";
import path from "node:path";
import { builtShimPath, shimDirForRuns } from "./shim-path.ts";
import { loadConfig, underRoot } from "./config.ts";
import { backupArgs, checkPassphraseFile, finishedLine, restoreArgs, runWithShim } from "./runs.ts";
import { install, status, uninstall } from "./install.ts";
import { doctor, formatCheck } from "./doctor.ts";
import { writeNewSecret } from "./secret.ts";
import { UsageError } from "./args.ts";
import { ValidationError, qubeName, repoName, snapshotId } from "./validate.ts";

/** Options of backup and restore, as commander names them. */
export interface RunOptions {
  root: string;
  repo?: string;
  destVm?: string;
  exclude: string[];
  passphraseFile?: string;
}

/** Options restore adds. */
export interface RestoreOptions extends RunOptions {
  verifyOnly?: boolean;
  renameConflicting?: boolean;
  skipConflicting?: boolean;
  paranoidMode?: boolean;
}

/** Checks the names given on the command line, so a bad one is a usage error (exit 2). */
function checkCliNames(o: RunOptions, qubes: string[], snapshot?: string): void {
  try {
    if (snapshot !== undefined) snapshotId(snapshot);
    if (o.repo !== undefined) repoName(o.repo);
    if (o.destVm !== undefined) qubeName(o.destVm, "backup qube");
    for (const q of o.exclude) qubeName(q, "excluded qube");
    for (const q of qubes) qubeName(q);
  } catch (e) {
    if (e instanceof ValidationError) throw new UsageError(e.message);
    throw e;
  }
}

/** The passphrase file: the flag as given, else the config's under --root. */
function passphraseOf(o: RunOptions, configured: string): string {
  return o.passphraseFile ?? underRoot(o.root, configured);
}

/** `backup [QUBE...]`: qvm-backup with fixed flags through the shim. */
export async function backup(qubes: string[], o: RunOptions): Promise<number> {
  checkCliNames(o, qubes);
  const cfg = loadConfig(o.root);
  const passphraseFile = passphraseOf(o, cfg.passphraseFile);
  const argv = backupArgs({ destVm: o.destVm ?? cfg.destVm, passphraseFile, repo: o.repo ?? cfg.repo, exclude: o.exclude, qubes });
  checkPassphraseFile(passphraseFile);
  const run = await runWithShim("qvm-backup", argv, shimDirForRuns(o.root));
  // qvm-backup's last progress update ends in "\r", not a newline.
  process.stderr.write(`${run.started ? "\n" : ""}qubes-dedup-agent: ${finishedLine("backup", "qvm-backup", run)}\n`);
  return run.exitCode;
}

/** `restore SNAPSHOT [QUBE...]`: qvm-backup-restore with fixed flags through the shim. */
export async function restore(snapshot: string, qubes: string[], o: RestoreOptions): Promise<number> {
  checkCliNames(o, qubes, snapshot);
  const cfg = loadConfig(o.root);
  const passphraseFile = passphraseOf(o, cfg.passphraseFile);
  const verifyOnly = o.verifyOnly === true;
  const argv = restoreArgs({
    snapshot,
    sourceVm: o.destVm ?? cfg.destVm,
    passphraseFile,
    repo: o.repo ?? cfg.repo,
    verifyOnly,
    paranoid: o.paranoidMode === true,
    conflicts: o.renameConflicting ? "rename" : o.skipConflicting ? "skip" : undefined,
    exclude: o.exclude,
    qubes,
  });
  checkPassphraseFile(passphraseFile);
  const run = await runWithShim("qvm-backup-restore", argv, shimDirForRuns(o.root));
  process.stderr.write(`qubes-dedup-agent: ${finishedLine("restore", "qvm-backup-restore", run, verifyOnly)}\n`);
  return run.exitCode;
}

function print(lines: string[]): void {
  for (const l of lines) process.stdout.write(`${l}\n`);
}

/** `shim path`: where the built shim is; exit 1 when it is not built. */
export function shimPath(): number {
  const p = builtShimPath();
  print([p]);
  if (fs.existsSync(p)) return 0;
  process.stderr.write(`qubes-dedup-agent: the shim is not built at ${p}; run \`npx nx build @qubes-dedup/shim\`.\n`);
  return 1;
}

/** `shim install|uninstall|status`. */
export function shim(sub: "install" | "uninstall" | "status", root: string): number {
  if (sub === "install") return print(install(root)), 0;
  if (sub === "uninstall") return print(uninstall(root)), 0;
  const s = status(root);
  print(s.lines);
  return s.ok ? 0 : 1;
}

/** `secret new --out FILE [--root DIR]`. */
export function secretNew(out: string | undefined, root: string | undefined): number {
  if (!out) throw new UsageError("secret new needs --out FILE and nothing else");
  if (root !== undefined && !path.isAbsolute(out)) throw new UsageError(`with --root, --out must be a system path starting with "/", such as /etc/qubes-dedup/passphrase`);
  // Like every system path, --out lies inside --root; without --root it is taken as given.
  const file = root === undefined ? out : underRoot(root, out);
  const pass = writeNewSecret(file);
  process.stderr.write(`wrote a new passphrase to ${file} (mode 0600); write it down now as your recovery code, it is shown only once:\n`);
  print([pass]);
  return 0;
}

/** `doctor`: one line per check; exit 1 when one fails. */
export async function doctorCmd(root: string): Promise<number> {
  const checks = await doctor(root);
  print(checks.map(formatCheck));
  return checks.some((c) => c.state === "FAIL") ? 1 : 0;
}
