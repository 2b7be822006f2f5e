/** Where the built shim is, and which directory goes first on PATH. */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { SHIM_FILE } from "@qubes-dedup/shim";
import { underRoot } from "./config.ts";

/**
 * Absolute path of the built shim: `$QUBES_DEDUP_SHIM`, else `scrypt` next
 * to the agent (a packaged install), else the workspace's
 * libs/shim/dist/scrypt (the agent runs from apps/dom0-agent/dist or /src,
 * both three levels below the workspace root).
 */
export function builtShimPath(): string {
  if (process.env.QUBES_DEDUP_SHIM) return path.resolve(process.env.QUBES_DEDUP_SHIM);
  const here = path.dirname(fileURLToPath(import.meta.url));
  const beside = path.join(here, "scrypt");
  if (fs.existsSync(beside)) return beside;
  return path.resolve(here, "../../../libs/shim/dist/scrypt");
}

/** Raised when no shim can be put on PATH. */
export class NoShimError extends Error {
  override name = "NoShimError";
}

/**
 * The directory to put first on PATH for qvm-backup(-restore): the installed
 * shim's under `root` when present, else the built shim's.
 * @throws NoShimError when neither exists.
 */
export function shimDirForRuns(root: string): string {
  const installed = underRoot(root, SHIM_FILE);
  if (fs.existsSync(installed)) return path.dirname(installed);
  const built = builtShimPath();
  if (fs.existsSync(built)) return path.dirname(built);
  throw new NoShimError(`the scrypt shim is neither installed (${installed}) nor built (${built}); run \`qubes-dedup-agent shim install\`.`);
}
