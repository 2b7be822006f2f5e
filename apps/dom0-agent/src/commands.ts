/**
 * What each `qubes-dedup-agent` command does, given its parsed options and
 * operands (program.ts parses them). Resolves to the exit status.
 */
import fs from "node:fs";
import path from "node:path";
import { builtShimPath, shimDirForRuns } from "./shim-path.ts";
import { loadConfig, underRoot } from "./config.ts";
import { backupArgs, checkPassphraseFile, finishedLine, restoreArgs, runWithShim, sendOnly } from "./runs.ts";
import { install, status, uninstall } from "./install.ts";
import { doctor, formatCheck } from "./doctor.ts";
import { writeNewSecret } from "./secret.ts";
import { UsageError } from "./args.ts";
import { ValidationError, qubeName, repoName, snapshotId } from "./validate.ts";
import { readLedger, recordBackup, removeSpoolsSince, stateEnv } from "./ledger/store.ts";
import { backupIdTime } from "./ledger/record.ts";
import { beginRun, judgeRun, paranoidRestore, prepareRestore, removeIncomplete, runListingQubes } from "./ledger/restore.ts";
import { checkBackupId } from "@qubes-dedup/protocol";
import { notifyEnd } from "./notify.ts";
import { pushAfterBackup } from "./ledger/sync.ts";
import { changeClock, changedBackupRun } from "./changes/run.ts";

/** Options of backup and restore, as commander names them. */
export interface RunOptions {
  root: string;
  repo?: string;
  destVm?: string;
  exclude: string[];
  passphraseFile?: string;
}

/** Options backup adds: send only the changed qubes, or force a full backup. */
export interface BackupOptions extends RunOptions {
  changed?: boolean;
  full?: boolean;
}

/** Options restore adds. */
export interface RestoreOptions extends RunOptions {
  verifyOnly?: boolean;
  renameConflicting?: boolean;
  skipConflicting?: boolean;
  paranoidMode?: boolean;
  /** Restore this backup (by backup-id) rather than the newest one in dom0's ledger. */
  backupId?: string;
}

/** Checks the names given on the command line, so a bad one is a usage error (exit 2). */
export function checkCliNames(o: RunOptions & { backupId?: string }, qubes: string[], snapshot?: string): void {
  try {
    if (snapshot !== undefined) snapshotId(snapshot);
    if (o.backupId !== undefined) checkBackupId(o.backupId);
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
export function passphraseOf(o: RunOptions, configured: string): string {
  return o.passphraseFile ?? underRoot(o.root, configured);
}

/**
 * `backup [--changed] [--full] [QUBE...]`: qvm-backup with fixed flags
 * through the shim; with --changed only the qubes that changed since dom0's
 * change record (changes/), each named with its reason on stderr.
 */
export async function backup(qubes: string[], o: BackupOptions): Promise<number> {
  checkCliNames(o, qubes);
  const cfg = loadConfig(o.root);
  const passphraseFile = passphraseOf(o, cfg.passphraseFile);
  backupArgs({ destVm: o.destVm ?? cfg.destVm, passphraseFile, repo: o.repo ?? cfg.repo, exclude: o.exclude, qubes });
  checkPassphraseFile(passphraseFile);
  const say = (l: string) => process.stderr.write(`qubes-dedup-agent: ${l}\n`);
  const changes = await changedBackupRun(o.root, { qubes, exclude: o.exclude, changed: o.changed === true || o.full === true, forceFull: o.full === true, fullEveryDays: cfg.fullEveryDays, now: changeClock(process.env), env: process.env });
  for (const l of changes.plan.lines) say(l);
  if (changes.plan.nothingToDo) {
    say(changes.nothingLine);
    return 0;
  }
  const argv = backupArgs({ destVm: o.destVm ?? cfg.destVm, passphraseFile, repo: o.repo ?? cfg.repo, exclude: changes.plan.exclude, qubes: changes.plan.qubes });
  const since = Date.now();
  const run = await runWithShim("qvm-backup", argv, shimDirForRuns(o.root), stateEnv(o.root));
  // qvm-backup's last progress update ends in "\r", not a newline.
  const line = finishedLine("backup", "qvm-backup", run);
  process.stderr.write(`${run.started ? "\n" : ""}qubes-dedup-agent: ${line}\n`);
  if (run.exitCode !== 0) {
    removeSpoolsSince(o.root, since);
    await notifyEnd({ what: "backup", ok: false, text: line }, cfg.notifySuccess, process.env, o.root);
    return run.exitCode;
  }
  const f = recordBackup(o.root, since, new Date());
  const ledger = "warning" in f ? `warning: ${f.warning}` : `recorded backup ${f.recorded.backupId} in dom0's ledger (${f.recorded.qubes.map((q) => q.name).join(", ")})`;
  process.stderr.write(`qubes-dedup-agent: ${ledger}\n`);
  const recorded = changes.after("warning" in f ? undefined : f.recorded);
  if (recorded) say(recorded);
  if (!("warning" in f)) process.stderr.write(`qubes-dedup-agent: ${await pushAfterBackup(o.root, { destVm: o.destVm ?? cfg.destVm, repo: o.repo ?? cfg.repo, passphraseFile }, process.env)}\n`);
  await notifyEnd({ what: "backup", ok: true, text: `${line}; ${ledger}` }, cfg.notifySuccess, process.env, o.root);
  return 0;
}

/**
 * `restore SNAPSHOT [QUBE...]`: qvm-backup-restore with fixed flags through
 * the shim, checked against dom0's ledger (ledger/restore.ts). The dom0
 * user typed the command, so the ledger's account is printed, not asked.
 */
export async function restore(snapshot: string, qubes: string[], o: RestoreOptions): Promise<number> {
  checkCliNames(o, qubes, snapshot);
  const cfg = loadConfig(o.root);
  const passphraseFile = passphraseOf(o, cfg.passphraseFile);
  const verifyOnly = o.verifyOnly === true;
  const repo = o.repo ?? cfg.repo;
  const conflicts = o.renameConflicting ? "rename" : o.skipConflicting ? "skip" : undefined;
  checkPassphraseFile(passphraseFile);
  const chosen = await prepareRestore(o.root, { backupId: o.backupId, qubes, exclude: o.exclude }, { repo, snapshot, conflicts, env: process.env, mode: "tell" });
  const paranoid = o.paranoidMode === true;
  const prepared = paranoid ? paranoidRestore(chosen) : chosen;
  for (const line of prepared.confirmation.split("\n")) process.stderr.write(`qubes-dedup-agent: ${line}\n`);
  const argv = restoreArgs({ snapshot, sourceVm: o.destVm ?? cfg.destVm, passphraseFile, repo, verifyOnly, paranoid, conflicts, exclude: [...o.exclude, ...prepared.skipped], qubes, dumpQubes: sendOnly(qubes) });
  const { run, env } = beginRun(o.root, prepared);
  try {
    const r = await runListingQubes(prepared, verifyOnly, process.env, () => runWithShim("qvm-backup-restore", argv, shimDirForRuns(o.root), env, true));
    const v = judgeRun(prepared.plan, run, { exitCode: r.exitCode, reason: finishedLine("restore", "qvm-backup-restore", r, verifyOnly).replace(/^restore failed: /, ""), stdoutLines: r.stdoutLines ?? [], ...(r.created ? { created: r.created } : {}) });
    const what = verifyOnly ? "verify" : "restore";
    if (v.ok) {
      const checked = prepared.plan && !prepared.plan.legacy ? `; every chunk of backup ${prepared.plan.backupId} that dom0's ledger lists arrived intact and in order` : paranoid ? `; warning: ${prepared.choice.warning}` : "";
      const text = `${finishedLine("restore", "qvm-backup-restore", r, verifyOnly)}${checked}`;
      process.stderr.write(`qubes-dedup-agent: ${text}\n`);
      await notifyEnd({ what, ok: true, text }, cfg.notifySuccess, process.env, o.root);
      return 0;
    }
    const removed = verifyOnly ? [] : await removeIncomplete(v.incomplete, process.env);
    for (const line of removed) process.stderr.write(`qubes-dedup-agent: ${line}\n`);
    process.stderr.write(`qubes-dedup-agent: ${what} failed: ${v.reason}\n`);
    await notifyEnd({ what, ok: false, text: [v.reason ?? "", ...removed].join(" ") }, cfg.notifySuccess, process.env, o.root);
    return r.exitCode || 1;
  } finally {
    run?.remove();
  }
}

/** `verify [BACKUP-ID]`: qvm-backup-restore --verify-only plus completeness against dom0's ledger. */
export async function verify(backupId: string | undefined, o: RunOptions & { snapshot?: string }): Promise<number> {
  return restore(o.snapshot ?? backupId ?? "latest", [], { ...o, verifyOnly: true, ...(backupId === undefined ? {} : { backupId }) });
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

/** `ledger list`: one line per recorded backup, oldest first. */
export function ledgerList(root: string): number {
  const records = readLedger(root);
  if (records.length === 0) print(["dom0's ledger records no backup yet"]);
  for (const r of records) {
    const chunks = r.qubes.reduce((n, q) => n + q.files.reduce((m, f) => m + f.chunks.length, 0), 0);
    print([`${r.backupId}  ${backupIdTime(r.backupId)}  ${chunks} chunks  ${r.qubes.map((q) => q.name).join(", ")}`]);
  }
  return 0;
}
