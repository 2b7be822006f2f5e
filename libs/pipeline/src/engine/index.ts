import { engineBinary } from "./binary.ts";
import { openBorg } from "./borg.ts";
import { openRestic } from "./restic.ts";
import type { Engine, RepositoryRef } from "./types.ts";
import { EngineError } from "../errors.ts";

/**
 * Opens a repository with its engine; nothing runs until a method is called.
 * @param opts.binary engine executable (default: `engineBinary(repo.engine)`,
 *   `$QUBES_DEDUP_RESTIC` / `$QUBES_DEDUP_BORG` or `restic` / `borg` on PATH)
 */
export function openEngine(repo: RepositoryRef, opts: { binary?: string } = {}): Engine {
  if (repo.engine === "restic") return openRestic(repo, opts.binary ?? engineBinary("restic"));
  if (repo.engine === "borg") return openBorg(repo, opts.binary ?? engineBinary("borg"));
  throw new EngineError(`the engine ${String(repo.engine)} is not supported; use restic or borg.`);
}
