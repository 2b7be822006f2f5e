/**
 * Finding and running the real scrypt: `$QUBES_DEDUP_REAL_SCRYPT`, else the
 * path written in a `real-scrypt` file next to the shim (put there by
 * `qubes-dedup-agent shim install`), else /usr/bin/scrypt.
 */
import { spawn, type StdioOptions } from "node:child_process";
import fs from "node:fs";
import { constants } from "node:os";
import path from "node:path";

/** Environment variable that carries the passphrase to the real scrypt. */
export const PASS_ENV = "QUBES_DEDUP_SCRYPT_PASSPHRASE";

/** Raised when the real scrypt cannot be found or would be the shim itself. */
export class RealScryptError extends Error {
  override name = "RealScryptError";
}

/**
 * Resolves the real scrypt for the shim running from `shimPath`.
 * @throws RealScryptError when it is missing or resolves to the shim.
 */
export function resolveRealScrypt(shimPath: string, env: NodeJS.ProcessEnv = process.env): string {
  let real = env.QUBES_DEDUP_REAL_SCRYPT;
  if (!real) {
    try {
      real = fs.readFileSync(path.join(path.dirname(shimPath), "real-scrypt"), "utf8").trim();
    } catch {
      real = "/usr/bin/scrypt";
    }
  }
  let resolved: string;
  try {
    resolved = fs.realpathSync(real);
  } catch {
    throw new RealScryptError(`the real scrypt was not found at ${real}; install scrypt or set QUBES_DEDUP_REAL_SCRYPT to its path.`);
  }
  let self = "";
  try {
    self = fs.realpathSync(shimPath);
  } catch {
    // Started under a name we cannot resolve; the comparison below is moot.
  }
  if (resolved === self) {
    throw new RealScryptError(`the real scrypt ${real} is the qubes-dedup shim itself; set QUBES_DEDUP_REAL_SCRYPT to the real binary (e.g. /usr/bin/scrypt).`);
  }
  return real;
}

/**
 * Runs the real scrypt with stdio as given (default: inherited, so its
 * stderr reaches our caller unchanged) and resolves to its exit status
 * (128+N when killed by signal N).
 */
export function runReal(real: string, args: string[], opts: { env?: NodeJS.ProcessEnv; stdio?: StdioOptions } = {}): Promise<number> {
  const child = spawn(real, args, { stdio: opts.stdio ?? "inherit", env: opts.env ?? process.env });
  return new Promise((resolve) => {
    child.on("error", (e) => {
      process.stderr.write(`scrypt (qubes-dedup): cannot run the real scrypt ${real}: ${e.message}; check QUBES_DEDUP_REAL_SCRYPT.\n`);
      resolve(127);
    });
    child.on("close", (code, signal) => {
      resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 15) : 0));
    });
  });
}
