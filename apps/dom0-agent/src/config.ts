/**
 * The agent's defaults: `<root>/etc/qubes-dedup/agent.json` (optional), e.g.
 * `{"destVm": "backup", "passphraseFile": "/etc/qubes-dedup/passphrase", "repo": "main", "notifySuccess": false, "deadmanDays": 7, "fullEveryDays": 30}`.
 * Paths in it are system paths, resolved under `--root`.
 */
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";

export const CONFIG_FILE = "/etc/qubes-dedup/agent.json";
export const DEFAULT_PASSPHRASE_FILE = "/etc/qubes-dedup/passphrase";
/** Default limit of the dead-man check, in days. */
export const DEFAULT_DEADMAN_DAYS = 7;
export const POLICY_FILE = "/etc/qubes/policy.d/30-qubes-dedup.policy";

const Schema = z
  .object({
    destVm: z.string().optional(),
    passphraseFile: z.string().startsWith("/").optional(),
    repo: z.string().optional(),
    notifySuccess: z.boolean().optional(),
    deadmanDays: z.number().int().min(1).max(3650).optional(),
    fullEveryDays: z.number().int().positive().optional(),
  })
  .strict();

/** Effective configuration. */
export interface AgentConfig {
  /** The backup qube (`--dest-vm` / `-d`). */
  destVm: string;
  /** System path of the passphrase file (resolve with {@link underRoot}). */
  passphraseFile: string;
  /** Default repository name, if any. */
  repo?: string;
  /** Notify successful runs too (failures are always notified). */
  notifySuccess: boolean;
  /** The dead-man check warns about a qube with no good backup newer than this many days (default 7). */
  deadmanDays: number;
  /** `backup --changed` sends every selected qube when the last full backup is this many days old (default 30). */
  fullEveryDays: number;
}

/** Raised for an unreadable or invalid config file. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** `p` (a system path) inside `root`. */
export function underRoot(root: string, p: string): string {
  return path.join(root, p);
}

/**
 * Reads the config under `root`; defaults when the file does not exist.
 * @throws ConfigError when it is not valid JSON of the documented shape.
 */
export function loadConfig(root: string): AgentConfig {
  const file = underRoot(root, CONFIG_FILE);
  let raw: unknown = {};
  try {
    raw = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") {
      throw new ConfigError(`cannot read the config file ${file} (${(e as Error).message}); fix the JSON or remove the file.`);
    }
  }
  const parsed = Schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`the config file ${file} is invalid at "${issue?.path.join(".") ?? ""}" (${issue?.message ?? "bad value"}); fix it or remove the file.`);
  }
  return {
    destVm: parsed.data.destVm ?? "backup",
    passphraseFile: parsed.data.passphraseFile ?? DEFAULT_PASSPHRASE_FILE,
    repo: parsed.data.repo,
    notifySuccess: parsed.data.notifySuccess ?? false,
    deadmanDays: parsed.data.deadmanDays ?? DEFAULT_DEADMAN_DAYS,
    fullEveryDays: parsed.data.fullEveryDays ?? 30,
  };
}
