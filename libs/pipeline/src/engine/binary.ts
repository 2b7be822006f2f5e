import { execa } from "execa";
import type { EngineKind } from "./types.ts";

/** The environment variable that names each engine's executable. */
export const ENGINE_BINARY_ENV = { restic: "QUBES_DEDUP_RESTIC", borg: "QUBES_DEDUP_BORG" } as const satisfies Record<EngineKind, string>;

/**
 * The executable that runs `kind`: `$QUBES_DEDUP_RESTIC` / `$QUBES_DEDUP_BORG`
 * when set (a path, or a name looked up on PATH), else `restic` / `borg` on
 * PATH. The product and the tests both go through it, so one variable moves
 * a whole run to another engine version (tools/engines.sh fetches restic
 * 0.18.0 and borg 1.4.0 beside Debian 12's 0.14.0 and 1.2.4).
 */
export function engineBinary(kind: EngineKind, env: NodeJS.ProcessEnv = process.env): string {
  const set = env[ENGINE_BINARY_ENV[kind]];
  return set && set.trim() !== "" ? set : kind;
}

/**
 * What to do when the engine's executable cannot be started.
 * @param bin what was spawned: the bare name (looked up on PATH) or a path
 *   (from `$QUBES_DEDUP_RESTIC` / `$QUBES_DEDUP_BORG`)
 */
export function notInstalledText(kind: EngineKind, bin: string): string {
  const pkg = kind === "borg" ? "borgbackup" : "restic";
  if (bin === kind) return `${kind} is not installed (not found on PATH); install it: apt-get install ${pkg}.`;
  return `${kind} was not found at ${bin}; install it (apt-get install ${pkg}) or point ${ENGINE_BINARY_ENV[kind]} at a ${kind} executable.`;
}

/** An engine executable and the version it reports. */
export interface EngineVersion {
  kind: EngineKind;
  /** what is spawned: a name on PATH or a path (engineBinary) */
  binary: string;
  /** "0.18.0", "1.4.0"; undefined when it could not be run or read */
  version?: string;
  /** one sentence, when `version` is undefined */
  problem?: string;
}

/**
 * The version in an engine's own version line: `restic 0.18.0 compiled with
 * go1.24.4 on linux/amd64` (`restic version`), `borg 1.4.0` (`borg --version`).
 * @returns "0.18.0", or undefined when the text is not such a line
 */
export function parseEngineVersion(kind: EngineKind, text: string): string | undefined {
  const m = new RegExp(`^${kind} (\\d+\\.\\d+\\.\\d+\\S*)`, "m").exec(text.trim());
  return m?.[1];
}

/**
 * Runs the engine's version command (`restic version`, `borg --version`; no
 * repository is opened) and reads its version. Never throws: a missing or
 * broken executable is reported in `problem`.
 */
export async function engineVersion(kind: EngineKind, env: NodeJS.ProcessEnv = process.env): Promise<EngineVersion> {
  const binary = engineBinary(kind, env);
  const r = await execa(binary, [kind === "restic" ? "version" : "--version"], { reject: false, env, timeout: 30_000 });
  const version = r.exitCode === 0 ? parseEngineVersion(kind, String(r.stdout)) : undefined;
  if (version) return { kind, binary, version };
  const enoent = (r as { code?: string }).code === "ENOENT";
  const problem = enoent
    ? notInstalledText(kind, binary)
    : `${binary} did not report a ${kind} version (${String(r.stderr || r.stdout).trim().split("\n").pop() || `exit ${r.exitCode}`}); check that it is ${kind}.`;
  return { kind, binary, problem };
}
