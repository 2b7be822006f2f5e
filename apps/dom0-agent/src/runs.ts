/**
 * `backup` and `restore`: the stock qvm-backup / qvm-backup-restore with the
 * backup stream routed to `qubes-dedup ingest` / from `qubes-dedup dump` in
 * the backup qube (flags as in DESIGN.md), the shim first on PATH, and the
 * location built from fixed words plus validated names only.
 */
import fs from "node:fs";
import { execa } from "execa";
import { PROJECT_PASSPHRASE_RE } from "@qubes-dedup/shim";
import { qubeName, repoName, snapshotId } from "./validate.ts";

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
  exclude: string[];
  qubes: string[];
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

/** The argv of qvm-backup-restore (after the program name). Pure. @throws ValidationError */
export function restoreArgs(o: RestoreOptions): string[] {
  const location = ["qubes-dedup", "dump", ...(o.repo === undefined ? [] : ["--repo", repoName(o.repo)]), snapshotId(o.snapshot)].join(" ");
  return [
    "-d",
    qubeName(o.sourceVm, "backup qube"),
    "-p",
    o.passphraseFile,
    ...(o.verifyOnly ? ["--verify-only"] : []),
    ...(o.conflicts === "rename" ? ["--rename-conflicting"] : o.conflicts === "skip" ? ["--skip-conflicting"] : []),
    ...o.exclude.flatMap((q) => ["-x", qubeName(q, "excluded qube")]),
    location,
    ...o.qubes.map((q) => qubeName(q)),
  ];
}

/** Raised when the passphrase file is missing or not a project passphrase. */
export class PassphraseFileError extends Error {
  override name = "PassphraseFileError";
}

/**
 * Checks that `file` holds a project passphrase (first line), so that the
 * shim takes the authenticated pass-through and the stream deduplicates.
 * @throws PassphraseFileError
 */
export function checkPassphraseFile(file: string): void {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    throw new PassphraseFileError(`the passphrase file ${file} cannot be read; create one with \`qubes-dedup-agent secret new --out ${file}\`.`);
  }
  if (!PROJECT_PASSPHRASE_RE.test(text.split("\n")[0] ?? "")) {
    throw new PassphraseFileError(`the passphrase file ${file} does not hold a qubes-dedup passphrase, so the backup would be scrypt-encrypted and not deduplicated; create one with \`qubes-dedup-agent secret new\`.`);
  }
}

/**
 * Runs `program args` with `shimDir` first on PATH and all stdio inherited
 * (qvm-backup's `\rMaking a backup... N%` progress on stderr reaches the
 * user unchanged; qvm-backup-restore may ask for confirmation on stdin).
 * @returns the program's exit status (127 when it cannot be started).
 */
export async function runWithShim(program: string, args: string[], shimDir: string): Promise<number> {
  const env = { ...process.env, PATH: `${shimDir}:${process.env.PATH ?? "/usr/bin:/bin"}` };
  const r = await execa(program, args, { env, stdio: "inherit", reject: false });
  if (r.failed && r.exitCode === undefined) {
    process.stderr.write(`qubes-dedup: cannot run ${program} (${r.originalMessage ?? r.shortMessage}); run this in dom0, where ${program} is installed.\n`);
    return 127;
  }
  return r.exitCode ?? 1;
}
