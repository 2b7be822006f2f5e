/**
 * The receiving end of a backup: `qubes.Backup` in the destination qube
 * (QubesOS/qubes-core-agent-linux qubes-rpc/qubes.Backup) or, for dom0, a
 * local file. A directory gets a new file `qubes-backup-<date>` (dom0:
 * `qubes-<date>`); anything else is shell words whose first word must be a
 * command on PATH, run with the stream on its stdin.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { Writable } from "node:stream";
import { SimError } from "../errors.ts";
import { resolveLocationCommand } from "../location.ts";

/** Qubes keeps at most this much of a failing command's stderr (bytes). */
const MAX_STDERR_BYTES = 1024;

/** An open destination. */
export interface Destination {
  /** What the framing tar writes to: a file descriptor or the command's stdin pipe. */
  out: number | Writable;
  /** Throws the reason when the destination has failed (called after each write). */
  check(): void;
  /** Describes a failed write as a SimError (waits for the command to end). */
  failedWrite(tarCode: number, tarStderr: string): Promise<SimError>;
  /** Ends the stream and waits; throws SimError when the command failed. */
  finish(): Promise<void>;
  /** Stops the command (if any) after an error elsewhere. */
  abort(): Promise<void>;
}

const pad = (n: number) => String(n).padStart(2, "0");
function stamp(d: Date, sep: string): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}${sep}${pad(d.getMinutes())}${pad(d.getSeconds())}`;
}

function fileDestination(file: string): Destination {
  let fd: number;
  try {
    fd = fs.openSync(file, "w");
  } catch (e) {
    throw new SimError(`Cannot create the backup file ${file} (${(e as NodeJS.ErrnoException).code}); check that its directory exists and is writable.`);
  }
  return {
    out: fd,
    check() {},
    async failedWrite(code, err) {
      return new SimError(`Failed to write the backup to ${file} (tar exit ${code}: ${err.trim()}); check the free space.`);
    },
    async finish() {
      fs.fsyncSync(fd);
      fs.closeSync(fd);
    },
    async abort() {
      fs.closeSync(fd);
    },
  };
}

function commandDestination(argv: string[], vm: string, env: NodeJS.ProcessEnv): Destination {
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), { env, stdio: ["pipe", "ignore", "pipe"] });
  let stderr = "";
  let ended = false;
  let exitedEarly = false;
  child.stderr!.on("data", (d: Buffer) => {
    if (stderr.length < MAX_STDERR_BYTES) stderr += d.toString().slice(0, MAX_STDERR_BYTES - stderr.length);
  });
  child.stdin!.on("error", () => {});
  const exit = new Promise<string | number>((resolve) => {
    child.on("error", (e) => resolve(`could not start: ${e.message}`));
    child.on("close", (code, signal) => {
      if (!ended) exitedEarly = true;
      resolve(code ?? `signal ${signal}`);
    });
  });
  const fail = (how: string) =>
    new SimError(`Writing backup to VM ${vm} failed: the location command ${how}${stderr.trim() ? ` (${stderr.trim()})` : ""}; check the command and its destination.`);
  return {
    out: child.stdin!,
    check() {
      if (child.exitCode !== null || child.signalCode !== null) throw fail(`exited (${child.exitCode ?? child.signalCode}) before the end of the stream`);
    },
    async failedWrite() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await exit;
        return fail("closed its input before the end of the stream");
      }
      return fail(`exited (${await exit}) before the end of the stream`);
    },
    async finish() {
      ended = true;
      child.stdin!.end();
      const code = await exit;
      if (exitedEarly) throw fail(`exited (${code}) before the end of the stream`);
      if (code !== 0) throw fail(`exited with code ${code}`);
    },
    async abort() {
      ended = true;
      child.stdin!.destroy();
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exit;
    },
  };
}

/**
 * Opens the destination named by the location line.
 * @param location the line given to qvm-backup.
 * @param destVm the destination qube; "dom0" means a local file or directory.
 * @throws SimError when the location is no directory, file path or command on PATH.
 */
export async function openDestination(location: string, destVm: string, env: NodeJS.ProcessEnv, now = new Date()): Promise<Destination> {
  const isDir = fs.existsSync(location) && fs.statSync(location).isDirectory();
  if (destVm === "dom0") {
    return fileDestination(isDir ? path.join(location, `qubes-${stamp(now, "")}`) : location);
  }
  if (isDir) return fileDestination(path.join(location, `qubes-backup-${stamp(now, "")}`));
  return commandDestination(resolveLocationCommand(location, env), destVm, env);
}
