import fs from "node:fs";
import { EngineError } from "../errors.ts";
import type { RepositoryRef } from "./types.ts";

/** Environment for engine processes: ours, minus variables that would override the repository or password. */
export function engineEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || /^(RESTIC_|BORG_)(REPOSITORY|REPO|PASSWORD|PASSPHRASE|PASSCOMMAND|PASSWORD_FILE|PASSWORD_COMMAND|KEY_FILE)/.test(k)) continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

/** Throws EngineError unless the password file can be read. */
export function checkPasswordFile(repo: RepositoryRef): void {
  try {
    fs.accessSync(repo.passwordFile, fs.constants.R_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "unreadable";
    throw new EngineError(`the repository password file ${repo.passwordFile} cannot be read (${code}); create it or fix its permissions.`);
  }
}

/** Last meaningful line of an engine's stderr, for messages. */
export function lastLine(stderr: string): string {
  const lines = stderr.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("{"));
  return (lines[lines.length - 1] ?? "no error output").replace(/^Fatal: /, "");
}

export function notInstalled(binary: string, pkg: string): EngineError {
  return new EngineError(`${binary} is not installed (not found on PATH); install it: apt-get install ${pkg}.`);
}

/** True for execa's "binary not found" failure. */
export function isEnoent(e: unknown): boolean {
  const err = e as { code?: string; cause?: { code?: string } };
  return err?.code === "ENOENT" || err?.cause?.code === "ENOENT";
}
