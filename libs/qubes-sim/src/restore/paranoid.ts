/**
 * `qvm-backup-restore --paranoid-mode` in dom0 (QubesOS/qubes-core-admin-client
 * qubesadmin/backup/dispvm.py): the backup is never parsed in dom0. dom0
 * registers the location with the backup qube (`qubes.RegisterBackupLocation`),
 * starts the disposable `disp-backup-restore` from `management_dispvm`,
 * copies the passphrase file in, and runs the disposable's own
 * qvm-backup-restore with `--location-is-service qubes.RestoreById+<id>`;
 * that run reads the stream from the backup qube, decrypts every file with
 * the disposable's `scrypt` (its own PATH) and creates the qubes in dom0
 * through the Admin API (here: in the simulated root). dom0 then reads the
 * run's log, whose last line is `exit code: N`.
 */
import { spawn } from "node:child_process";
import { SimError } from "../errors.ts";
import { findOnPath } from "../location.ts";
import { registerBackupLocation } from "./backup-locations.ts";
import { startDisposable } from "./disposable.ts";
import type { RestoreOptions } from "./restore.ts";

/** Options of {@link runParanoidRestore}: those of a restore, plus the inner tool. */
export interface ParanoidRestoreOptions extends RestoreOptions {
  /** The disposable's qvm-backup-restore; default: `qvm-backup-restore` on dom0's PATH (the simulator's). */
  innerTool?: string;
}

/** Keeps printable ASCII and newlines, as dom0 does with the disposable's log (dispvm.py sanitize_log). */
export function sanitizeLog(untrusted: string): string {
  return untrusted.replace(/[^\x20-\x7d\n]/g, ".");
}

function innerArgs(o: ParanoidRestoreOptions, passFile: string, id: string): string[] {
  const args = ["--location-is-service", "-d", o.backupVm, "-p", passFile, "--skip-dom0-home"];
  if (o.verifyOnly) args.push("--verify-only");
  if (o.conflict === "rename") args.push("--rename-conflicting");
  if (o.conflict === "skip") args.push("--skip-conflicting");
  for (const x of o.exclude ?? []) args.push("-x", x);
  return [...args, `qubes.RestoreById+${id}`, ...(o.qubes ?? [])];
}

/** Runs `tool args` with `env`, stdout and stderr together as one log; resolves to [log, exit code]. */
function runLogged(tool: string, args: string[], env: NodeJS.ProcessEnv): Promise<[string, number]> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let log = "";
    const add = (d: Buffer) => {
      if (log.length < 1 << 20) log += d.toString("latin1");
    };
    child.stdout.on("data", add);
    child.stderr.on("data", add);
    child.on("error", reject);
    child.on("close", (code, signal) => resolve([log, code ?? 128 + (signal === "SIGKILL" ? 9 : 15)]));
  });
}

/**
 * Restores (or verifies) through a simulated disposable qube; report lines
 * are the disposable's log, sanitized, passed to `o.log`.
 * @throws SimError when the disposable's restore fails (its last log lines
 *   in the message) or no qvm-backup-restore is found for it.
 */
export async function runParanoidRestore(o: ParanoidRestoreOptions): Promise<void> {
  const env = o.env ?? process.env;
  const tool = o.innerTool ?? findOnPath("qvm-backup-restore", env);
  if (!tool) throw new SimError("qvm-backup-restore tool missing in the management disposable's template; install qubes-core-admin-client there.");
  const registration = registerBackupLocation(o.root, o.location, env);
  const disposable = startDisposable(o.root, env);
  try {
    const passFile = disposable.receive("passphrase", `${o.passphrase}\n`);
    const [raw, code] = await runLogged(tool, innerArgs(o, passFile, registration.id), { ...disposable.env, QUBES_SIM_ROOT: o.root });
    const log = sanitizeLog(`${raw}exit code: ${code}\n`);
    for (const line of log.trimEnd().split("\n")) o.log?.(line);
    if (code !== 0) {
      const tail = log.split("\n").filter((l) => l.trim() !== "").slice(-4, -1).join(" ");
      throw new SimError(`qvm-backup-restore failed with ${code} in the disposable qube: ${tail || "no output"}`);
    }
  } finally {
    disposable.remove();
    registration.revoke();
  }
}
