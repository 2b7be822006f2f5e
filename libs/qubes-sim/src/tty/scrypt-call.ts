import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Readable, Writable } from "node:stream";

/** Where `with-tty.py` lives: next to this file in the source tree. */
const HELPER = path.join(path.dirname(fileURLToPath(import.meta.url)), "with-tty.py");

/** The outcome of one `scrypt` call made the way qubesd makes it. */
export interface ScryptCallResult {
  /** Exit status of scrypt (or the shim); 128+N when killed by signal N. */
  exitCode: number;
  /** Everything scrypt wrote to stderr after the prompts it was answered on. */
  stderr: string;
}

/** Options of {@link callScrypt}. */
export interface ScryptCallOptions {
  /**
   * Arguments after the program name, e.g. `["enc", "-", "/tmp/x.000.enc"]`
   * or `["dec", "-f", in, out]`.
   */
  args: string[];
  /** The passphrase line written to the pty after each prompt (no newline). */
  passphrase: string;
  /** Program to run; found through `env.PATH` like qubesd does. Default "scrypt". */
  program?: string;
  /** Environment of the call; PATH decides which scrypt runs. */
  env?: NodeJS.ProcessEnv;
  /** Data piped to scrypt's stdin (for input `-`); otherwise stdin is /dev/null. */
  stdin?: Readable;
  /** Where scrypt's stdout goes (for output `-`); otherwise it is discarded. */
  stdout?: Writable;
}

/**
 * Runs `scrypt enc|dec …` exactly as Qubes' backup code does (backup format
 * v4, qubesd's and qvm-backup-restore's scrypt launcher): a new pty becomes
 * the controlling terminal with echo off, stderr is a pipe from which the
 * exact prompts `Please enter passphrase: ` (and for `enc`
 * `Please confirm passphrase: `) are read, and the passphrase plus "\n" is
 * written to the pty after each. An unexpected prompt makes the call fail
 * with exitCode 124. Never rejects for a non-zero exit; rejects only when
 * python3 itself cannot be started.
 */
export function callScrypt(opts: ScryptCallOptions): Promise<ScryptCallResult> {
  const mode = opts.args[0];
  const prompts = mode === "enc" ? "2" : mode === "dec" ? "1" : "0";
  const child = spawn("python3", [HELPER, prompts, "--", opts.program ?? "scrypt", ...opts.args], {
    env: opts.env ?? process.env,
    stdio: [opts.stdin ? "pipe" : "ignore", opts.stdout ? "pipe" : "ignore", "pipe", "pipe"],
  });
  const passFd = child.stdio[3] as Writable;
  passFd.end(`${opts.passphrase}\n`);
  if (opts.stdin && child.stdin) {
    // A command that exits without reading all of stdin must not crash us.
    child.stdin.on("error", () => {});
    opts.stdin.pipe(child.stdin);
  }
  if (opts.stdout && child.stdout) child.stdout.pipe(opts.stdout, { end: false });
  let stderr = "";
  child.stderr!.setEncoding("utf8");
  child.stderr!.on("data", (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      resolve({ exitCode: code ?? 128 + (signal ? 15 : 0), stderr });
    });
  });
}
