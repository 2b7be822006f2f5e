/**
 * `backup` and `restore`: the stock qvm-backup / qvm-backup-restore with the
 * backup stream routed to `qubes-dedup ingest` / from `qubes-dedup dump` in
 * the backup qube (flags as in DESIGN.md), the shim first on PATH, and the
 * location built from fixed words plus validated names only.
 */
import fs from "node:fs";
import { constants } from "node:os";
import { execa } from "execa";
import { PROJECT_PASSPHRASE_RE } from "@qubes-dedup/protocol";
import { ValidationError, qubeName, repoName, snapshotId } from "./validate.ts";

/** Options of a backup run; every name is validated by {@link backupArgs}. */
export interface BackupOptions {
  destVm: string;
  passphraseFile: string;
  repo?: string;
  exclude: string[];
  qubes: string[];
}

/** Options of a restore run; every name is validated by {@link restoreArgs}. */
export interface RestoreOptions {
  snapshot: string;
  sourceVm: string;
  passphraseFile: string;
  repo?: string;
  verifyOnly: boolean;
  conflicts?: "rename" | "skip";
  /** --paranoid-mode: decrypt in a disposable qube (its template needs the backup-qube package). */
  paranoid?: boolean;
  exclude: string[];
  qubes: string[];
  /**
   * qubes the location's `qubes-dedup dump` is to send (`--qubes a,b`): the
   * stream then holds only their data (qubes.Restore gives the location
   * command no file list); absent: the whole stream
   */
  dumpQubes?: string[];
}

/** The argv of qvm-backup (after the program name). Pure. @throws ValidationError */
export function backupArgs(o: BackupOptions): string[] {
  const location = ["qubes-dedup", "ingest", ...(o.repo === undefined ? [] : ["--repo", repoName(o.repo)])].join(" ");
  return [
    "--yes",
    "--no-compress",
    "--passphrase-file",
    o.passphraseFile,
    "--dest-vm",
    qubeName(o.destVm, "backup qube"),
    ...o.exclude.flatMap((q) => ["--exclude", qubeName(q, "excluded qube")]),
    location,
    ...o.qubes.map((q) => qubeName(q)),
  ];
}

/**
 * The restore's location line: `qubes-dedup dump [--repo R] <snapshot>
 * [--qubes a,b]`, from fixed words and validated names only (qubes.Restore
 * splits it into shell words). Pure.
 * @param o.qubes qubes the stream is to hold (none given: all); each a valid qube name, no repeats, at least one
 * @throws ValidationError
 */
export function restoreLocation(o: { repo?: string; snapshot: string; qubes?: string[] }): string {
  const words = ["qubes-dedup", "dump", ...(o.repo === undefined ? [] : ["--repo", repoName(o.repo)]), snapshotId(o.snapshot)];
  if (o.qubes !== undefined) {
    if (o.qubes.length === 0) throw new ValidationError("the restore names no qube to send; name at least one, or leave the list out to send them all.");
    const seen = new Set<string>();
    for (const q of o.qubes) {
      if (seen.has(qubeName(q))) throw new ValidationError(`qube ${JSON.stringify(q)} is named twice in the restore's list; name each qube once.`);
      seen.add(q);
    }
    words.push("--qubes", o.qubes.join(","));
  }
  return words.join(" ");
}

/**
 * What the restore's dump is to send for a restore of `qubes`: those qubes
 * only (so the backup qube reads only their data, per-qube layout), or, for a
 * restore of everything (no qube named), undefined: the whole stream. Pure.
 */
export function sendOnly(qubes: string[]): string[] | undefined {
  return qubes.length ? qubes : undefined;
}

/** The argv of qvm-backup-restore (after the program name). Pure. @throws ValidationError */
export function restoreArgs(o: RestoreOptions): string[] {
  const location = restoreLocation({ repo: o.repo, snapshot: o.snapshot, qubes: o.dumpQubes });
  return [
    "-d",
    qubeName(o.sourceVm, "backup qube"),
    "-p",
    o.passphraseFile,
    ...(o.verifyOnly ? ["--verify-only"] : []),
    ...(o.paranoid ? ["--paranoid-mode"] : []),
    ...(o.conflicts === "rename" ? ["--rename-conflicting"] : o.conflicts === "skip" ? ["--skip-conflicting"] : []),
    ...o.exclude.flatMap((q) => ["-x", qubeName(q, "excluded qube")]),
    location,
    ...o.qubes.map((q) => qubeName(q)),
  ];
}

/** Raised when the passphrase file is missing, open to group/others, or not a project passphrase. */
export class PassphraseFileError extends Error {
  override name = "PassphraseFileError";
}

/**
 * Checks that `file` is readable by its owner only (no group/other bits;
 * the passphrase opens every backup) and holds a project passphrase (first
 * line), so that the shim takes the authenticated pass-through and the
 * stream deduplicates.
 * @throws PassphraseFileError
 */
export function checkPassphraseFile(file: string): void {
  let text: string;
  let mode: number;
  try {
    mode = fs.statSync(file).mode & 0o777;
    text = fs.readFileSync(file, "utf8");
  } catch {
    throw new PassphraseFileError(`the passphrase file ${file} cannot be read; create one with \`qubes-dedup-agent secret new --out ${file}\`.`);
  }
  if ((mode & 0o077) !== 0) {
    throw new PassphraseFileError(`the passphrase file ${file} is readable by group or others (mode ${mode.toString(8).padStart(4, "0")}); make it owner-only with \`chmod 600 ${file}\` and run again.`);
  }
  if (!PROJECT_PASSPHRASE_RE.test(text.split("\n")[0] ?? "")) {
    throw new PassphraseFileError(`the passphrase file ${file} does not hold a qubes-dedup passphrase, so the backup would be scrypt-encrypted and not deduplicated; create one with \`qubes-dedup-agent secret new\`.`);
  }
}

/** How a run of qvm-backup / qvm-backup-restore ended. */
export interface ToolResult {
  /** The exit status to pass on: the tool's, 128+N when killed by signal N, 127 when it could not start. */
  exitCode: number;
  /** False when the tool could not be started at all. */
  started: boolean;
  /** The signal that stopped the tool, if any (e.g. "SIGTERM"). */
  signal?: string;
  /** Why it could not start (only when `started` is false). */
  startError?: string;
  /** The tool's stdout lines, when captured. */
  stdoutLines?: string[];
}

/**
 * Runs `program args` with `shimDir` first on PATH, `extraEnv` added, and
 * all stdio inherited (qvm-backup's `\rMaking a backup... N%` progress on
 * stderr reaches the user unchanged; qvm-backup-restore may ask for
 * confirmation on stdin). With `capture`, stdout is also kept (its lines in
 * `stdoutLines`), for the ledger's judgement of a restore.
 */
export async function runWithShim(program: string, args: string[], shimDir: string, extraEnv: NodeJS.ProcessEnv = {}, capture = false): Promise<ToolResult> {
  const env = { ...process.env, ...extraEnv, PATH: `${shimDir}:${process.env.PATH ?? "/usr/bin:/bin"}` };
  const r = await execa(program, args, { env, stdin: "inherit", stderr: "inherit", stdout: capture ? ["pipe", "inherit"] : "inherit", reject: false });
  if (r.failed && r.exitCode === undefined && r.signal === undefined) {
    return { exitCode: 127, started: false, startError: r.originalMessage ?? r.shortMessage };
  }
  const stdoutLines = capture && typeof r.stdout === "string" ? r.stdout.split("\n").filter(Boolean) : undefined;
  const lines = stdoutLines ? { stdoutLines } : {};
  if (r.signal !== undefined) return { exitCode: 128 + (constants.signals[r.signal] ?? 15), started: true, signal: r.signal, ...lines };
  return { exitCode: r.exitCode ?? 1, started: true, ...lines };
}

/**
 * The one sentence printed after a run (without the `qubes-dedup-agent: `
 * prefix), e.g. "backup finished: qvm-backup exited 0",
 * "restore failed: qvm-backup-restore exited 3; see its messages above.".
 * Pure.
 */
export function finishedLine(command: "backup" | "restore", program: string, run: ToolResult, verifyOnly = false): string {
  if (!run.started) return `${command} failed: cannot run ${program} (${run.startError ?? "not found"}); run this in dom0, where ${program} is installed.`;
  if (run.signal !== undefined) return `${command} failed: ${program} was stopped by ${run.signal}.`;
  if (run.exitCode !== 0) return `${command} failed: ${program} exited ${run.exitCode}; see its messages above.`;
  if (command === "backup") return `backup finished: ${program} exited 0`;
  return verifyOnly ? "verify-only: every file checked, nothing written" : "restore finished";
}
